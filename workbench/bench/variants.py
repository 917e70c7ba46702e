"""Study variants: small declarative objects (index sets, partitioning, settings, schema alternatives).

A variant never holds SQL text for its indexes: an :class:`IndexSpec` becomes a model ``Index`` and the
engine renders it through the DDL exporter, so the same variant runs on PostgreSQL and DuckDB (or fails
there with the exporter's reason, which the study records).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.ddl.split import split_statements
from workbench.engines.extensions import EXTENSION_OF_OPCLASS
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.schema.model import Index, IndexElement, Schema
from workbench.textfile import read_text
from workbench.workload import Workload

MAX_NAME = 63  # PostgreSQL's identifier length
METHODS = ("btree", "hash", "gin", "gist", "brin", "spgist", "bloom", "art")
_INDEX_KEYS = frozenset({"table", "columns", "method", "opclass", "include", "where", "unique", "name", "descending"})
_VARIANT_KEYS = frozenset({"name", "indexes", "partition", "settings", "setup", "workload", "extensions"})


@dataclass(frozen=True)
class IndexSpec:
    """One index of a variant: keys in order (a column name or an expression such as ``lower(email)``).

    ``method`` is ``btree`` (default), ``hash``, ``gin``, ``gist``, ``brin``, ``spgist``, ``bloom``, or
    ``art`` (DuckDB's index, the same as its b-tree). ``opclass`` applies to every key (e.g. ``gin_trgm_ops``);
    ``include`` makes a covering index, ``where`` a partial one, ``descending`` names keys sorted DESC.
    """

    table: str
    columns: tuple[str, ...]
    method: str = "btree"
    opclass: str | None = None
    include: tuple[str, ...] = ()
    where: str | None = None
    unique: bool = False
    name: str | None = None
    descending: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for attribute in ("columns", "include", "descending"):
            value = getattr(self, attribute)
            object.__setattr__(self, attribute, (value,) if isinstance(value, str) else tuple(value))
        if not self.columns:
            raise WorkbenchError(f"index on {self.table!r} has no columns; give columns = [\"col\", ...]")
        if self.method.lower() not in METHODS:
            raise UnknownNameError("index method", self.method, METHODS)
        object.__setattr__(self, "method", self.method.lower())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "index") -> IndexSpec:
        unknown = set(data) - _INDEX_KEYS
        if unknown:
            raise UnknownNameError(f"key of {where}", sorted(unknown)[0], _INDEX_KEYS)
        if "table" not in data or "columns" not in data:
            raise WorkbenchError(f"{where}: an index needs table = \"...\" and columns = [...]; got {dict(data)}")
        return cls(**data)

    @property
    def extensions(self) -> tuple[str, ...]:
        """The PostgreSQL extensions this index needs (for its operator class)."""
        return tuple(e for e in [EXTENSION_OF_OPCLASS.get((self.opclass or "").lower())] if e)

    def to_index(self, schema: Schema, dialect: str) -> Index:
        """The model index on ``schema``'s table; raises naming the bad column or method."""
        table = schema.table(self.table)
        method = self.method
        if method == "art":
            if dialect != "duckdb":
                raise WorkbenchError(f"index {self.label}: ART indexes exist only in DuckDB, not in {dialect}; "
                                     f"use method = \"btree\" there")
            method = "btree"
        elements = []
        for key in self.columns:
            expression = _is_expression(key)
            if not expression:
                table.column(key)  # raises with the valid column names
            elements.append(IndexElement(key, is_expression=expression, descending=key in self.descending,
                                         opclass=self.opclass))
        for column in self.include:
            table.column(column)
        return Index(self.name or self._free_name(schema), tuple(elements), unique=self.unique, method=method,
                     include=self.include, where=self.where)

    def _free_name(self, schema: Schema) -> str:
        """``<table>_<keys>[_<method>]_idx``, numbered when the schema already has a relation of that name."""
        parts = [self.table.rpartition(".")[2], *(re.sub(r"\W+", "_", c).strip("_").lower() for c in self.columns)]
        parts += [self.method] if self.method not in ("btree", "art") else []
        stem = "_".join(parts)[:MAX_NAME - 8]
        taken = {t.name for t in schema.tables} | {i.name for t in schema.tables for i in t.indexes if i.name}
        return next(name for n in range(1, 1000) if (name := f"{stem}_idx" if n == 1 else f"{stem}_{n}_idx")
                    not in taken)

    @property
    def label(self) -> str:
        keys = ", ".join(f"{c} DESC" if c in self.descending else c for c in self.columns)
        extra = [f"using {self.method}"] if self.method != "btree" else []
        extra += [self.opclass] if self.opclass else []
        extra += [f"include ({', '.join(self.include)})"] if self.include else []
        extra += [f"where {self.where}"] if self.where else []
        return f"{'unique ' if self.unique else ''}{self.table}({keys}){' ' + ' '.join(extra) if extra else ''}"


class Layout(Protocol):
    """How a variant's database is built when cloning the loaded base will not do (see ``Variant.layout``)."""

    label: str  # what it is, for tables and plots

    def build(self, base: Any, target: str, schema: Schema, data: Mapping[str, Any]) -> tuple[Any, list[str]]:
        """The variant's engine holding ``data`` (``base`` is the study's loaded engine for ``target``), and the
        statements that made it differ from the base."""


@dataclass(frozen=True)
class Variant:
    """One design alternative of a study; an empty variant is the schema as it is (the usual baseline).

    ``partition`` is a :class:`workbench.bench.partitioning.PartitionSpec`; ``setup`` holds SQL statements run
    after the base load (schema alternatives), ``workload`` replaces queries of the study's workload by name.
    ``layout`` builds the variant's whole database its own way (a :class:`Layout`, e.g. a tenancy model of
    :mod:`workbench.security.tenancy`: schemas or databases per tenant, or row-level security with a role).
    """

    name: str
    indexes: tuple[IndexSpec, ...] = ()
    partition: Any = None
    settings: Mapping[str, str] = field(default_factory=dict)
    setup: tuple[str, ...] = ()
    workload: Workload | None = None
    extensions: tuple[str, ...] = ()
    layout: Layout | None = None

    def __post_init__(self) -> None:
        if self.layout is not None and self.partition is not None:
            raise WorkbenchError(f"variant {self.name!r}: a layout builds the whole database; it cannot be "
                                 f"combined with partition (make the partitioning part of the layout)")
        object.__setattr__(self, "indexes", tuple(self.indexes))
        object.__setattr__(self, "setup", tuple(self.setup))
        object.__setattr__(self, "extensions", tuple(self.extensions))
        object.__setattr__(self, "settings", {str(k): str(v) for k, v in dict(self.settings).items()})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: Path, dialect: str = "postgres") -> Variant:
        """A variant from its TOML table; ``setup`` and ``workload`` files are relative to ``base``."""
        where = f"variant {data.get('name', '?')!r}"
        unknown = set(data) - _VARIANT_KEYS
        if unknown:
            raise UnknownNameError(f"key of {where}", sorted(unknown)[0], _VARIANT_KEYS)
        if "name" not in data:
            raise WorkbenchError(f"a [[variants]] entry has no name: {dict(data)}")
        partition = None
        if "partition" in data:
            from workbench.bench.partitioning import PartitionSpec

            partition = PartitionSpec.from_mapping(data["partition"], f"{where} partition")
        setup: tuple[str, ...] = ()
        if "setup" in data:
            setup = read_statements(_text_or_file(data["setup"], base), dialect)
        workload = None
        if "workload" in data:
            workload = Workload.from_file(base / data["workload"], dialect=dialect)
            if workload.problems:
                raise WorkbenchError(f"{where}: workload override: {workload.problems[0]}")
        return cls(
            name=str(data["name"]),
            indexes=tuple(IndexSpec.from_dict(i, f"{where} index {n}") for n, i in enumerate(data.get("indexes", []))),
            partition=partition, settings=data.get("settings", {}), setup=setup, workload=workload,
            extensions=tuple(data.get("extensions", ())),
        )

    @property
    def needed_extensions(self) -> tuple[str, ...]:
        """Extensions to create in the variant's database: declared ones plus those its indexes need."""
        return tuple(dict.fromkeys([*self.extensions, *(e for i in self.indexes for e in i.extensions)]))

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables this variant changes (indexes or partitioning): where its write cost is measured."""
        names = [i.table for i in self.indexes] + ([self.partition.table] if self.partition is not None else [])
        return tuple(dict.fromkeys(names))

    def describe(self) -> str:
        parts = [i.label for i in self.indexes]
        if self.partition is not None:
            parts.append(f"partition {self.partition.table}: {self.partition.label}")
        if self.layout is not None:
            parts.append(self.layout.label)
        parts += [f"{k} = {v}" for k, v in self.settings.items()]
        parts += [f"{len(self.setup)} setup statements"] if self.setup else []
        parts += [f"{len(self.workload)} queries replaced"] if self.workload is not None else []
        return "; ".join(parts) or "the schema as it is"

    def __repr__(self) -> str:
        return f"<Variant {self.name!r}: {self.describe()}>"


def read_statements(text: str, dialect: str) -> tuple[str, ...]:
    """The statements of a SQL script, cut without parsing (comments and blank pieces dropped)."""
    return tuple(s.text.strip() for s in split_statements(text, dialect) if _has_code(s.text))


def transpile(statement: str, source: str, target: str) -> str:
    """One statement translated between dialects (unchanged when they agree)."""
    if source == target:
        return statement
    try:
        return sqlglot.transpile(statement, read=source, write=target)[0]
    except SqlglotError as error:
        raise WorkbenchError(f"cannot translate this statement from {source} to {target}: "
                             f"{str(error).splitlines()[0]}\n    {statement[:300]}") from error


def _text_or_file(value: str | list[str], base: Path) -> str:
    if isinstance(value, list):  # statements, or .sql files, in order
        return ";\n".join(_text_or_file(item, base) for item in value)
    if value.endswith(".sql"):
        return read_text(base / value, what="setup file (a .sql file next to the study, or SQL text)")
    return value


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


def _is_expression(key: str) -> bool:
    """True unless ``key`` is a plain column name."""
    try:
        parsed = sqlglot.parse_one(key, read="postgres")
    except SqlglotError:
        return True
    return not (isinstance(parsed, exp.Column) and not parsed.table)
