"""The immutable schema model every other part of the workbench reads.

Importers build it, exporters and engines consume it, the diagram draws it. SQL fragments
(defaults, checks, index expressions, partition bounds) are kept as text in the source dialect;
types are kept as written in the source (``type``), so nothing is lost in translation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from workbench.errors import UnknownNameError


def qualified(schema: str | None, name: str) -> str:
    """``schema.name`` or ``name``: the key the model uses for tables and views."""
    return f"{schema}.{name}" if schema else name


@dataclass(frozen=True)
class Column:
    """A table column; ``type`` is the type as written in the source dialect."""

    name: str
    type: str
    nullable: bool = True
    default: str | None = None
    identity: str | None = None  # "always" | "by default" | None
    generated: str | None = None  # expression of a generated (computed) column
    autoincrement: bool = False  # serial / AUTO_INCREMENT / AUTOINCREMENT
    comment: str | None = None


@dataclass(frozen=True)
class PrimaryKey:
    columns: tuple[str, ...]
    name: str | None = None


@dataclass(frozen=True)
class UniqueConstraint:
    columns: tuple[str, ...]
    name: str | None = None
    nulls_not_distinct: bool = False


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key; ``ref_schema`` is None when the source names no schema."""

    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    ref_schema: str | None = None
    name: str | None = None
    on_delete: str | None = None  # "CASCADE" | "SET NULL" | "SET DEFAULT" | "RESTRICT" | "NO ACTION"
    on_update: str | None = None
    deferrable: bool = False
    initially_deferred: bool = False

    @property
    def ref_key(self) -> str:
        return qualified(self.ref_schema, self.ref_table)


@dataclass(frozen=True)
class CheckConstraint:
    expression: str
    name: str | None = None


@dataclass(frozen=True)
class IndexElement:
    """One key of an index: a column name, or an expression (``is_expression``)."""

    expression: str
    is_expression: bool = False
    descending: bool = False
    nulls_first: bool | None = None
    opclass: str | None = None
    collation: str | None = None


@dataclass(frozen=True)
class Index:
    name: str | None
    elements: tuple[IndexElement, ...]
    unique: bool = False
    method: str = "btree"
    include: tuple[str, ...] = ()
    where: str | None = None
    nulls_not_distinct: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """Key columns by name; expressions are written ``<expr>``."""
        return tuple("<expr>" if e.is_expression else e.expression for e in self.elements)


@dataclass(frozen=True)
class Partitioning:
    """How a table is partitioned: strategy ``range`` | ``list`` | ``hash`` over ``key``."""

    strategy: str
    key: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table; a partition is a Table held in its parent's ``partitions`` with a ``bound``."""

    name: str
    schema: str | None = None
    columns: tuple[Column, ...] = ()
    primary_key: PrimaryKey | None = None
    foreign_keys: tuple[ForeignKey, ...] = ()
    uniques: tuple[UniqueConstraint, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    partitioning: Partitioning | None = None
    partitions: tuple[Table, ...] = ()
    bound: str | None = None  # "FOR VALUES FROM (...) TO (...)", "DEFAULT": set on partitions
    comment: str | None = None

    @property
    def key(self) -> str:
        return qualified(self.schema, self.name)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise UnknownNameError(f"column of {self.key}", name, (c.name for c in self.columns))

    def has_column(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)

    def __repr__(self) -> str:
        pk = f"PK ({', '.join(self.primary_key.columns)})" if self.primary_key else "no PK"
        parts = [f"{len(self.columns)} columns", pk, f"{len(self.foreign_keys)} FKs", f"{len(self.indexes)} indexes"]
        if self.partitioning:
            parts.append(f"partitioned by {self.partitioning.strategy} ({len(self.partitions)} partitions)")
        return f"<Table {self.key}: {', '.join(parts)}>"

    def is_unique_on(self, columns: tuple[str, ...]) -> bool:
        """True when the given columns are covered by the PK, a unique constraint or unique index."""
        keys = [self.primary_key.columns] if self.primary_key else []
        keys += [u.columns for u in self.uniques]
        keys += [i.columns for i in self.indexes if i.unique and i.where is None]
        return any(set(k) <= set(columns) for k in keys if k)


@dataclass(frozen=True)
class View:
    name: str
    schema: str | None = None
    sql: str = ""
    depends_on: tuple[str, ...] = ()  # qualified names of the tables and views it reads
    materialized: bool = False
    columns: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return qualified(self.schema, self.name)


@dataclass(frozen=True)
class Enum:
    name: str
    values: tuple[str, ...]
    schema: str | None = None

    @property
    def key(self) -> str:
        return qualified(self.schema, self.name)


@dataclass(frozen=True)
class Domain:
    name: str
    type: str
    schema: str | None = None
    nullable: bool = True
    default: str | None = None
    checks: tuple[CheckConstraint, ...] = ()

    @property
    def key(self) -> str:
        return qualified(self.schema, self.name)


@dataclass(frozen=True)
class Sequence:
    name: str
    schema: str | None = None
    owned_by: str | None = None  # "schema.table.column"
    start: int | None = None
    increment: int | None = None

    @property
    def key(self) -> str:
        return qualified(self.schema, self.name)


@dataclass(frozen=True)
class Schema:
    """A whole database design: tables (partitions nested in their parent), views, types."""

    tables: tuple[Table, ...] = ()
    views: tuple[View, ...] = ()
    enums: tuple[Enum, ...] = ()
    domains: tuple[Domain, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    schemas: tuple[str, ...] = ()  # namespaces declared or used, in order of appearance
    name: str | None = None
    dialect: str | None = None  # the sqlglot dialect of the text kept in the model (types, defaults...)
    subject_areas: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)

    def __iter__(self) -> Iterator[Table]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def table(self, name: str) -> Table:
        """A table by ``schema.name`` or by bare name when that is unambiguous."""
        found = self.find_table(name)
        if found is None:
            raise UnknownNameError("table", name, [t.key for t in self.tables])
        return found

    def find_table(self, name: str, schema: str | None = None) -> Table | None:
        """The table named ``name`` (optionally qualified), or None; bare names match any schema."""
        if schema is None and "." in name and not any(t.name == name for t in self.tables):
            schema, name = name.split(".", 1)
        matches = [t for t in self.tables if t.name == name and (schema is None or t.schema == schema)]
        if not matches:
            folded = [t for t in self.tables if t.name.lower() == name.lower()
                      and (schema is None or (t.schema or "").lower() == schema.lower())]
            matches = folded
        if len(matches) > 1 and schema is None:
            public = [t for t in matches if t.schema in (None, "public", "main", "dbo")]
            matches = public or matches
        return matches[0] if len(matches) == 1 else None

    def referenced_table(self, fk: ForeignKey) -> Table | None:
        """The table a foreign key points at, or None when it is not in this schema."""
        return self.find_table(fk.ref_table, fk.ref_schema)

    def with_tables(self, tables: tuple[Table, ...]) -> Schema:
        return replace(self, tables=tables)

    def __repr__(self) -> str:
        parts = [f"{len(self.tables)} tables"]
        for label, items in (("views", self.views), ("enums", self.enums), ("domains", self.domains)):
            if items:
                parts.append(f"{len(items)} {label}")
        fks = sum(len(t.foreign_keys) for t in self.tables)
        parts.append(f"{fks} foreign keys")
        title = f" {self.name!r}" if self.name else ""
        return f"<Schema{title}: {', '.join(parts)}>"
