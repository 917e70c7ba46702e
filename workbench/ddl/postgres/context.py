"""The state of one PostgreSQL import: builder, report, search_path and the names already taken."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field

from pglast import ast

from workbench.ddl.report import ImportReport
from workbench.errors import UnknownNameError
from workbench.schema.builder import SchemaBuilder, TableDraft
from workbench.schema.model import qualified

DEFAULT_SCHEMA = "public"


@dataclass
class Where:
    """The statement being imported: its line, column and text, for the outcomes it produces."""

    line: int
    column: int
    snippet: str


@dataclass
class Context:
    """Everything the statement handlers share while importing one file."""

    builder: SchemaBuilder
    report: ImportReport
    text: str
    search_path: list[str] = field(default_factory=lambda: [DEFAULT_SCHEMA])
    relation_names: dict[str, set[str]] = field(default_factory=dict)  # schema -> tables, indexes, sequences
    constraint_names: dict[str, set[str]] = field(default_factory=dict)  # schema -> constraint names
    index_tables: dict[str, str] = field(default_factory=dict)  # qualified index name -> table key
    where: Where = field(default_factory=lambda: Where(1, 1, ""))
    _line_starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset in the file."""
        line = bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def outcome(self, kind: str, status: str, reason: str = "") -> None:
        self.report.add(self.where.line, kind, status, reason, self.where.snippet, self.where.column)

    # -- names ------------------------------------------------------------------------------------

    @property
    def creation_schema(self) -> str:
        """Where an unqualified CREATE puts its object: the first real schema of search_path."""
        real = [s for s in self.search_path if s not in ("$user", "pg_catalog", "pg_temp")]
        return real[0] if real else DEFAULT_SCHEMA

    def lookup_path(self) -> Iterator[str]:
        yield from (s for s in self.search_path if s != "$user")
        yield DEFAULT_SCHEMA

    def qualify(self, schema: str | None, name: str) -> tuple[str, str]:
        """(schema, name) for a new object named in the source."""
        return (schema or self.creation_schema), name

    def relation_key(self, schema: str | None, name: str) -> str:
        """Key of the existing table or view ``name`` resolves to, or where it would be created."""
        if schema:
            return qualified(schema, name)
        for candidate in self.lookup_path():
            key = qualified(candidate, name)
            if key in self.builder.tables or key in self.builder.views:
                return key
        return qualified(self.creation_schema, name)

    def find_table(self, relation: ast.RangeVar) -> TableDraft | None:
        key = self.relation_key(relation.schemaname, relation.relname)
        return self.builder.tables.get(key)

    def table(self, relation: ast.RangeVar) -> TableDraft:
        """The draft of an existing table, or UnknownNameError with close matches."""
        draft = self.find_table(relation)
        if draft is None:
            name = qualified(relation.schemaname, relation.relname)
            raise UnknownNameError("table", name, self.builder.tables)
        return draft

    def index_key(self, schema: str | None, name: str) -> str | None:
        """Qualified name of an existing index, searching search_path when unqualified."""
        schemas = [schema] if schema else list(self.lookup_path())
        return next((k for s in schemas if (k := qualified(s, name)) in self.index_tables), None)

    def relations(self, schema: str) -> set[str]:
        return self.relation_names.setdefault(schema, set())

    def constraints(self, schema: str) -> set[str]:
        return self.constraint_names.setdefault(schema, set())
