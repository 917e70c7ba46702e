"""What each target dialect can express, as flags the exporter reads instead of branching on names.

sqlglot renders whatever tree it is given, even constructs the target rejects (a ``gin`` index or an
``INET`` column for DuckDB, ``TEXT[]`` for MySQL), so the exporter asks these flags first and turns
every gap into a note. Dialects without a profile of their own get the conservative ``_STANDARD``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, Dialects

from workbench.errors import UnknownNameError

DType = exp.DataType.Type

DEFAULT_SCHEMAS = frozenset({"public", "main", "dbo"})
ALL_FK_ACTIONS = frozenset({"CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION"})

_PORTABLE_TYPES = frozenset(
    exp.DataType.INTEGER_TYPES
    | exp.DataType.FLOAT_TYPES
    | {DType.DECIMAL, DType.CHAR, DType.VARCHAR, DType.NCHAR, DType.NVARCHAR, DType.TEXT,
       DType.DATE, DType.TIME, DType.TIMESTAMP, DType.TIMESTAMPTZ, DType.DATETIME, DType.BOOLEAN,
       DType.BINARY, DType.VARBINARY, DType.BLOB}
)


@dataclass(frozen=True)
class Target:
    """Capabilities of one target dialect; ``None`` for a type set means "trust sqlglot"."""

    dialect: str
    label: str
    schemas: bool = True
    default_schema: str | None = None
    enums: str = "check"  # "type" (CREATE TYPE AS ENUM) | "inline" (MySQL ENUM(...)) | "check"
    inline_enum: bool = False  # an anonymous ENUM('a', 'b') column type is valid
    domains: bool = False
    sequences: bool = False
    autoincrement: str = "identity"  # "identity" | "sequence" | "auto_increment" | "rowid"
    fk_inline: bool = False  # foreign keys inside CREATE TABLE (no ALTER TABLE ADD CONSTRAINT)
    fk_needs_declared_key: bool = False  # referenced columns must be a PK/UNIQUE constraint
    fk_same_schema: bool = False  # no foreign keys across schemas
    fk_actions: frozenset[str] = ALL_FK_ACTIONS
    deferrable: bool = False
    partitioning: bool = False
    index_methods: frozenset[str] | None = frozenset({"btree"})  # None: any method
    index_using: bool = False  # render ``USING method``
    index_include: bool = False
    index_where: bool = False
    index_expressions: bool = True
    index_opclass: bool = False
    nulls_not_distinct: bool = False
    comments: str | None = "comment_on"  # "comment_on" | "inline" | None
    stored_generated: bool = True  # False: only virtual generated columns
    materialized_views: bool = False
    types: frozenset[DType] | None = None  # types the target has; others fall back to TEXT
    decimal_digits: int | None = None  # most digits a DECIMAL holds (None: trust sqlglot)
    decimal_scale: int | None = None  # most digits after the point
    arrays: bool = False
    default_parens: bool = False  # expression defaults must be parenthesized (SQLite, MySQL)


_STANDARD = Target(dialect="", label="")

_PROFILES = {
    "postgres": Target(
        "postgres", "PostgreSQL", default_schema="public", enums="type", domains=True, sequences=True,
        deferrable=True, partitioning=True,
        index_methods=None, index_using=True, index_include=True, index_where=True, index_opclass=True,
        nulls_not_distinct=True, materialized_views=True, arrays=True,
    ),
    "duckdb": Target(
        "duckdb", "DuckDB", default_schema="main", enums="type", inline_enum=True, sequences=True,
        autoincrement="sequence", fk_inline=True, fk_needs_declared_key=True, fk_same_schema=True,
        fk_actions=frozenset({"RESTRICT", "NO ACTION"}),
        stored_generated=False, arrays=True, decimal_digits=38, decimal_scale=38,
        types=_PORTABLE_TYPES | {DType.UUID, DType.JSON, DType.INTERVAL, DType.ENUM,
                                 DType.TIMETZ, DType.ARRAY, DType.LIST, DType.STRUCT, DType.MAP},
    ),
    "mysql": Target(
        "mysql", "MySQL", schemas=False, enums="inline", inline_enum=True, autoincrement="auto_increment",
        fk_actions=ALL_FK_ACTIONS - {"SET DEFAULT"},
        index_expressions=False, comments="inline", default_parens=True, decimal_digits=65, decimal_scale=30,
        types=_PORTABLE_TYPES | {DType.JSON, DType.MEDIUMTEXT, DType.LONGTEXT, DType.TINYTEXT,
                                 DType.MEDIUMBLOB, DType.LONGBLOB, DType.TINYBLOB, DType.YEAR, DType.ENUM,
                                 DType.SET},
    ),
    "sqlite": Target(
        "sqlite", "SQLite", schemas=False, autoincrement="rowid", fk_inline=True, deferrable=True,
        index_where=True, comments=None, default_parens=True,
    ),
}


def target_for(dialect: str) -> Target:
    """The capability profile of a sqlglot dialect name; unknown names raise with the valid choices."""
    name = dialect.lower()
    choices = [d.value for d in Dialects if d.value]
    if name not in choices:
        raise UnknownNameError("sqlglot dialect", dialect, choices)
    if name in _PROFILES:
        return _PROFILES[name]
    Dialect.get_or_raise(name)
    return replace(_STANDARD, dialect=name, label=name)
