"""The vocabulary of lint rules: a Rule wraps a small function that yields Flags from a Context.

A rule is a documented generator function turned into a :class:`Rule` by the :func:`rule`
decorator, with an id (``"WB101 missing-primary-key"``), a severity and what it needs
(``"schema"``, ``"data"``: a loaded engine, or ``"workload"``). Users write their own the same way::

    @rule("X001 no-blob-columns", "warning")
    def no_blobs(ctx):
        for table in ctx.schema.tables:
            for column in table.columns:
                if column.type.lower() in ("bytea", "blob"):
                    yield Flag(f"{table.key}.{column.name}", "keep files out of the database", source=table)

    lint(schema, rules=(*RULES, no_blobs))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlglot import exp

from workbench.ddl.export.names import NameMap, ident
from workbench.ddl.export.target import target_for
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.schema.model import Index, Schema, Table
from workbench.workload import Query

if TYPE_CHECKING:
    from workbench.advisor.resolve import Resolved
    from workbench.ddl import ImportReport
    from workbench.engines import Engine
    from workbench.workload import Workload

NEEDS = ("schema", "data", "workload")
_RULE_ID = re.compile(r"^[A-Za-z]+\d+ [a-z0-9-]+$")


class Flag(NamedTuple):
    """What a rule function yields: the object, a message, fix statements, and the model object it is
    about (a Table, Index or workload Query), which locates it in its file."""

    object: str
    message: str
    fix: tuple[exp.Expression, ...] = ()
    source: Any = None


@dataclass(frozen=True)
class Rule:
    id: str  # "WB101 missing-primary-key"
    severity: str
    needs: str
    check: Callable[[Context], Iterator[Flag]] = field(repr=False)

    @property
    def code(self) -> str:
        return self.id.split()[0]

    @property
    def name(self) -> str:
        return self.id.split()[1]

    @property
    def doc(self) -> str:
        return (self.check.__doc__ or "").strip()

    def matches(self, key: str) -> bool:
        """True for this rule's code (``WB101``), name (``missing-primary-key``) or full id."""
        return key in (self.code, self.name, self.id)


def rule(id: str, severity: str = "warning", needs: str = "schema") -> Callable[[Callable], Rule]:
    """Decorator: a generator function ``f(ctx) -> Iterator[Flag]`` becomes a :class:`Rule`."""
    if not _RULE_ID.match(id):
        raise WorkbenchError(f"rule id {id!r} should be a code and a kebab-case name, e.g. 'X001 no-blob-columns'")
    if severity not in ("error", "warning", "info"):
        raise UnknownNameError("severity", severity, ("error", "warning", "info"))
    if needs not in NEEDS:
        raise UnknownNameError("rule need", needs, NEEDS)
    return lambda check: Rule(id, severity, needs, check)


STYLES = {  # naming styles "auto" chooses from, most preferred first
    "snake_case": r"^[a-z][a-z0-9_]*$",
    "PascalCase": r"^[A-Z][a-zA-Z0-9]*$",
    "camelCase": r"^[a-z][a-zA-Z0-9]*$",
    "UPPER_CASE": r"^[A-Z][A-Z0-9_]*$",
}


@dataclass(frozen=True)
class Naming:
    """Naming conventions: a style name (``STYLES``), a regular expression, ``"auto"`` (the style most
    names of the schema already follow, so only the odd ones out are flagged) or ``None`` (no check)."""

    table: str | None = "auto"
    column: str | None = "auto"
    index: str | None = None
    reserved: bool = True  # also flag names that must be quoted (reserved words, folded case)


@dataclass
class Context:
    """What the rules see: the schema and, when given, loaded data (engine), a workload and options."""

    schema: Schema
    engine: Engine | None = None
    workload: Workload | None = None
    tenant_column: str | None = None
    naming: Naming = field(default_factory=Naming)
    report: ImportReport | None = None
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

    @property
    def dialect(self) -> str:
        return self.schema.dialect or "postgres"

    def table_expr(self, table: Table) -> exp.Table:
        """The table as the exporter places it in this dialect, quoted only where needed."""
        return self._names.table(table.key)

    @cached_property
    def _names(self) -> NameMap:
        return NameMap(self.schema, target_for(self.dialect))

    def ident(self, name: str) -> exp.Identifier:
        return ident(name, self.dialect)

    def beside(self, table: Table, name: str) -> exp.Table:
        """``name`` in ``table``'s schema: an index or a new table next to it."""
        return exp.Table(this=self.ident(name), db=self.table_expr(table).args.get("db"))

    def create_index(self, table: Table, name: str, keys: Iterable[str | exp.Expression], *, unique: bool = False,
                     using: str | None = None) -> exp.Create:
        """``CREATE [UNIQUE] INDEX name ON table [USING using] (keys)`` for a fix; a key given as a
        string is a column name."""
        columns = [exp.column(self.ident(k)) if isinstance(k, str) else k for k in keys]
        params = exp.IndexParameters(using=exp.var(using) if using else None, columns=columns)
        return exp.Create(kind="INDEX", unique=unique,
                          this=exp.Index(this=self.ident(name), table=self.table_expr(table), params=params))

    @cached_property
    def queries(self) -> list[Resolved]:
        """The workload's queries, qualified against the schema (failures become notes, once)."""
        from workbench.advisor.resolve import resolve

        resolved = [resolve(q, self.schema) for q in (self.workload or ())]
        self.notes += [f"query {r.query.name!r}: columns not resolved against the schema ({r.error}); "
                       f"rules that need them skipped it" for r in resolved if r.error]
        return resolved

    def locate(self, source: Any) -> tuple[str | None, int | None]:
        """``(file, line)`` of a Table, Index or workload Query, where known."""
        if source is None:
            return None, None
        if isinstance(source, Query):  # a line of the workload file
            file = self.workload.file if self.workload else None
            return (file, source.line) if file else (None, None)
        if self.report is None:
            return None, None
        key = ("index", (source.name or "").lower()) if isinstance(source, Index) else ("table", source.key.lower())
        return self.report.file, self._lines.get(key) or self._lines.get((key[0], key[1].rpartition(".")[2]))

    @cached_property
    def _lines(self) -> dict[tuple[str, str], int]:
        """First line of each CREATE TABLE / CREATE INDEX in the import report, by lower-case name."""
        pattern = re.compile(r"^CREATE\s+(?:\w+\s+)*?(TABLE|INDEX)\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
                             r"(?:ONLY\s+)?([\w.\"`\[\]]+)", re.IGNORECASE)
        lines: dict[tuple[str, str], int] = {}
        for outcome in self.report.outcomes if self.report else ():
            if match := pattern.match(outcome.snippet):
                name = re.sub(r"[\"`\[\]]", "", match.group(2)).lower()
                for key in ((match.group(1).lower(), name), (match.group(1).lower(), name.rpartition(".")[2])):
                    lines.setdefault(key, outcome.line)
        return lines
