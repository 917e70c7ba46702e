"""A mutable builder that importers and the sketch API fill in, then freeze into a Schema.

DDL arrives in pieces (pg_dump adds keys, defaults and partitions with later ALTER statements),
so importers collect into drafts and call :meth:`SchemaBuilder.build` once at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from workbench.errors import UnknownNameError, WorkbenchError
from workbench.schema.model import (
    CheckConstraint,
    Column,
    Domain,
    Enum,
    ForeignKey,
    Index,
    Partitioning,
    PrimaryKey,
    Schema,
    Sequence,
    Table,
    UniqueConstraint,
    View,
    qualified,
)


class DuplicateNameError(WorkbenchError):
    """A table, or a column of one table, declared twice: every engine refuses the second."""


@dataclass
class TableDraft:
    """A table while it is being built; frozen into a :class:`Table` by ``build``."""

    name: str
    schema: str | None = None
    columns: list[Column] = field(default_factory=list)
    primary_key: PrimaryKey | None = None
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    uniques: list[UniqueConstraint] = field(default_factory=list)
    checks: list[CheckConstraint] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    partitioning: Partitioning | None = None
    parent: str | None = None  # key of the partitioned table this one is a partition of
    bound: str | None = None
    comment: str | None = None

    @property
    def key(self) -> str:
        return qualified(self.schema, self.name)

    def has_column(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)

    def require_new_column(self, name: str) -> None:
        """Raise when the table already has a column ``name`` (the engine would refuse the statement)."""
        if self.has_column(name):
            raise DuplicateNameError(f"column {name} is declared twice in table {self.key}, which no engine accepts; "
                                     f"rename or remove one of them")

    def add_column(self, column: Column) -> None:
        self.require_new_column(column.name)
        self.columns.append(column)

    def column_position(self, name: str) -> int:
        for position, column in enumerate(self.columns):
            if column.name == name:
                return position
        raise UnknownNameError(f"column of {self.key}", name, (c.name for c in self.columns))

    def update_column(self, name: str, **changes: object) -> None:
        position = self.column_position(name)
        self.columns[position] = replace(self.columns[position], **changes)


class SchemaBuilder:
    """Collects tables, constraints, indexes and types in any order; ``build`` freezes them."""

    def __init__(self, name: str | None = None, dialect: str | None = None):
        self.name, self.dialect = name, dialect
        self.tables: dict[str, TableDraft] = {}
        self.views: dict[str, View] = {}
        self.enums: dict[str, Enum] = {}
        self.domains: dict[str, Domain] = {}
        self.sequences: dict[str, Sequence] = {}
        self.namespaces: list[str] = []
        self.subject_areas: dict[str, tuple[str, ...]] = {}

    def add_namespace(self, schema: str | None) -> None:
        if schema and schema not in self.namespaces:
            self.namespaces.append(schema)

    def add_table(self, name: str, schema: str | None = None, **fields: object) -> TableDraft:
        """A new, empty table draft; a name already taken raises (the first table is kept)."""
        draft = TableDraft(name=name, schema=schema, **fields)  # type: ignore[arg-type]
        if draft.key in self.tables:
            raise DuplicateNameError(f"table {draft.key} already exists; the first definition is kept: drop it "
                                     f"first, rename this one, or use IF NOT EXISTS")
        self.add_namespace(schema)
        self.tables[draft.key] = draft
        return draft

    def discard_table(self, key: str) -> None:
        """Forget a table whose statement failed half-way, with the sequences its columns own."""
        self.tables.pop(key, None)
        self.sequences = {k: s for k, s in self.sequences.items()
                          if not (s.owned_by or "").startswith(f"{key}.")}

    def find(self, name: str, schema: str | None = None) -> TableDraft | None:
        """The draft for a table, matching a bare name in any schema when it is unambiguous."""
        if (draft := self.tables.get(qualified(schema, name))) is not None:
            return draft
        if schema is None:
            matches = [d for d in self.tables.values() if d.name == name]
            return matches[0] if len(matches) == 1 else None
        return None

    def table(self, name: str, schema: str | None = None) -> TableDraft:
        draft = self.find(name, schema)
        if draft is None:
            raise UnknownNameError("table", qualified(schema, name), self.tables)
        return draft

    def add_view(self, view: View) -> None:
        self.add_namespace(view.schema)
        self.views[view.key] = view

    def add_enum(self, enum: Enum) -> None:
        self.enums[enum.key] = enum

    def add_domain(self, domain: Domain) -> None:
        self.domains[domain.key] = domain

    def add_sequence(self, sequence: Sequence) -> None:
        self.sequences[sequence.key] = sequence

    def build(self) -> Schema:
        frozen = {key: _freeze(draft) for key, draft in self.tables.items()}
        children: dict[str, list[Table]] = {}
        for key, draft in self.tables.items():
            if draft.parent is not None:
                children.setdefault(draft.parent, []).append(frozen[key])

        def with_partitions(table: Table) -> Table:
            nested = tuple(with_partitions(t) for t in children.get(table.key, ()))
            return replace(table, partitions=nested) if nested else table

        tops = tuple(
            with_partitions(frozen[key])
            for key, draft in self.tables.items()
            if draft.parent is None or draft.parent not in self.tables
        )
        return Schema(
            tables=tops,
            views=tuple(self.views.values()),
            enums=tuple(self.enums.values()),
            domains=tuple(self.domains.values()),
            sequences=tuple(self.sequences.values()),
            schemas=tuple(self.namespaces),
            name=self.name,
            dialect=self.dialect,
            subject_areas=dict(self.subject_areas),
        )


def _freeze(draft: TableDraft) -> Table:
    return Table(
        name=draft.name,
        schema=draft.schema,
        columns=tuple(draft.columns),
        primary_key=draft.primary_key,
        foreign_keys=tuple(draft.foreign_keys),
        uniques=tuple(draft.uniques),
        checks=tuple(draft.checks),
        indexes=tuple(draft.indexes),
        partitioning=draft.partitioning,
        bound=draft.bound,
        comment=draft.comment,
    )
