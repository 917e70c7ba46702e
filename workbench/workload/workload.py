"""Workload files: named, weighted, parameterised queries and writes, checked against the schema.

A workload file is SQL with a header comment before each statement::

    -- name: product_search weight=5
    -- params: term = word(products.name)
    SELECT * FROM products WHERE name ILIKE '%' || :term || '%' ORDER BY created_at DESC LIMIT 20;

Parameters are ``:name`` placeholders; each is drawn by the sampler named in ``-- params:``.
Values are bound into the statement's syntax tree as literals, so every engine sees plain SQL.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError, TokenError
from sqlglot.optimizer.qualify import qualify

from workbench.ddl import normalize_dialect
from workbench.errors import WorkbenchError
from workbench.schema.model import Schema
from workbench.textfile import read_text
from workbench.workload.samplers import Sampler, ValueSource, as_sql_value, parse_sampler

HEADER = re.compile(r"^\s*--\s*(name|params)\s*:\s*(.*)$", re.IGNORECASE)
WRITE_KINDS = (exp.Insert, exp.Update, exp.Delete, exp.Merge)


@dataclass(frozen=True)
class Problem:
    """A workload query that cannot be used as written, and why."""

    query: str
    line: int
    reason: str
    file: str | None = None

    def __str__(self) -> str:
        return f"{self.file or '<workload>'}:{self.line}: query {self.query!r}: {self.reason}"


@dataclass(frozen=True)
class Query:
    """One named statement of a workload, with its weight and parameter samplers."""

    name: str
    sql: str
    weight: float = 1.0
    params: dict[str, Sampler] = field(default_factory=dict, compare=False)
    line: int = 1
    dialect: str = "postgres"

    @property
    def expression(self) -> exp.Expression:
        return sqlglot.parse_one(self.sql, read=self.dialect)

    @property
    def is_write(self) -> bool:
        return isinstance(self.expression, WRITE_KINDS)

    @property
    def placeholders(self) -> set[str]:
        return {p.name for p in self.expression.find_all(exp.Placeholder) if p.name}

    def bind(self, values: dict[str, Any], dialect: str) -> str:
        """The statement with parameter values bound as literals, in the engine's dialect."""
        missing = self.placeholders - set(values)
        if missing:
            raise WorkbenchError(f"query {self.name!r}: no value for {', '.join(sorted(missing))}")

        def substitute(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Placeholder) and node.name in values:
                return as_sql_value(values[node.name])
            return node

        return self.expression.transform(substitute).sql(dialect=dialect)


@dataclass
class Workload:
    """The queries of a workload file, plus the problems found reading it (never dropped silently)."""

    queries: list[Query]
    problems: list[Problem] = field(default_factory=list)
    file: str | None = None

    def __iter__(self) -> Iterator[Query]:
        return iter(self.queries)

    def __len__(self) -> int:
        return len(self.queries)

    def query(self, name: str) -> Query:
        for query in self.queries:
            if query.name == name:
                return query
        from workbench.errors import UnknownNameError

        raise UnknownNameError("query", name, (q.name for q in self.queries))

    @classmethod
    def from_file(cls, path: str | Path, *, dialect: str = "postgres", schema: Schema | None = None,
                  encoding: str | None = None) -> Workload:
        path = Path(path)
        text = read_text(path, what="workload file", encoding=encoding)
        return cls.from_text(text, dialect=dialect, schema=schema, file=str(path))

    @classmethod
    def from_folder(cls, path: str | Path, *, dialect: str = "postgres", schema: Schema | None = None,
                    encoding: str | None = None) -> Workload:
        """A folder of one-query ``.sql`` files (TPC-H's ``q01.sql`` ...), each query named by its file
        name; queries have no file line, so problems and findings name the query."""
        path = Path(path)
        files = sorted(path.glob("*.sql"))
        if not files:
            raise WorkbenchError(f"{path}: no .sql files; give a workload file or a folder of one-query .sql files")
        bodies = {f.stem: read_text(f, what="query file", encoding=encoding).strip().rstrip(";") for f in files}
        text = "\n".join(f"-- name: {name}\n{body};\n" for name, body in bodies.items())
        return cls.from_text(text, dialect=dialect, schema=schema)

    @classmethod
    def from_text(cls, text: str, *, dialect: str = "postgres", schema: Schema | None = None,
                  file: str | None = None) -> Workload:
        """The workload in ``text``; a query that cannot be read is a :class:`Problem`, never dropped."""
        dialect = normalize_dialect(dialect)
        workload = cls(queries=[], file=file)
        for block in _blocks(text):
            workload._add(block, dialect, file)
        if schema is not None:
            workload.problems += workload.check(schema)
            bad = {p.query for p in workload.problems}
            workload.queries = [q for q in workload.queries if q.name not in bad]
        return workload

    def _add(self, block: _Block, dialect: str, file: str | None) -> None:
        name = block.name or f"query_{block.line}"
        try:
            statements = [s for s in sqlglot.parse(block.sql, read=dialect) if s is not None]
            if len(statements) != 1:
                raise WorkbenchError(f"expected one statement, found {len(statements)}")
            params = {k: parse_sampler(v) for k, v in block.params.items()}
            query = Query(name, block.sql, block.weight, params, block.line, dialect)
            unbound = query.placeholders - set(params)
            if unbound:
                raise WorkbenchError(f"parameter(s) {', '.join(sorted(unbound))} have no sampler in -- params:")
        except (SqlglotError, WorkbenchError) as error:
            cause = f" ({error.__cause__})" if isinstance(error, TokenError) and error.__cause__ else ""
            self.problems.append(Problem(name, block.line, f"{str(error).splitlines()[0]}{cause}", file))
            return
        except RecursionError:
            self.problems.append(Problem(name, block.line, "nested too deeply to parse; simplify its deepest "
                                                           "expression", file))
            return
        self.queries.append(query)

    def check(self, schema: Schema) -> list[Problem]:
        """Problems of queries that name tables or columns the schema does not have."""
        mapping = schema_mapping(schema)
        problems = []
        for query in self.queries:
            unknown = _unknown_tables(query.expression, schema)
            if unknown:
                problems.append(Problem(query.name, query.line, f"unknown table(s) {', '.join(unknown)}; the "
                                        f"schema has {', '.join(t.name for t in schema.tables)}", self.file))
                continue
            try:
                qualify(query.expression, schema=mapping, dialect=query.dialect,
                        validate_qualify_columns=True, identify=False)
            except Exception as error:  # sqlglot raises several types for unknown names
                problems.append(Problem(query.name, query.line, f"does not match the schema: {error}",
                                        self.file))
        return problems

    def draws(self, source: ValueSource, repetitions: int, *, seed: int = 0) -> dict[str, list[dict[str, Any]]]:
        """``repetitions`` parameter sets per query, the same for every engine given the same data."""
        for query in self.queries:
            for sampler in query.params.values():
                sampler.prepare(source)
        draws = {}
        for query in self.queries:
            rng = np.random.default_rng([seed, *query.name.encode()])
            draws[query.name] = [{k: s.draw(rng) for k, s in query.params.items()} for _ in range(repetitions)]
        return draws

    def __repr__(self) -> str:
        problems = f", {len(self.problems)} problems" if self.problems else ""
        source = Path(self.file).name if self.file else "<text>"
        return f"<Workload {source}: {len(self.queries)} queries{problems}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(q.name)}</td><td>{q.weight:g}</td><td>{'write' if q.is_write else 'read'}</td>"
            f"<td>{html.escape(', '.join(q.params))}</td>"
            f"<td><code>{html.escape(' '.join(q.sql.split()))}</code></td></tr>"
            for q in self.queries
        )
        problems = "".join(f"<li>{html.escape(str(p))}</li>" for p in self.problems)
        return (f"<table><tr><th>query</th><th>weight</th><th>kind</th><th>params</th><th>sql</th></tr>{rows}"
                f"</table>" + (f"<p>Problems:</p><ul>{problems}</ul>" if problems else ""))


@dataclass
class _Block:
    line: int
    name: str | None = None
    weight: float = 1.0
    params: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    @property
    def sql(self) -> str:
        return "\n".join(self.lines).strip().rstrip(";").strip()


def _blocks(text: str) -> Iterator[_Block]:
    """Split a workload file at ``-- name:`` headers (or blank-line separated statements)."""
    block: _Block | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = HEADER.match(line)
        if header and header.group(1).lower() == "name":
            if block is not None and block.sql:
                yield block
            block = _Block(line=number)
            name, *options = header.group(2).split()
            block.name = name
            for option in options:
                key, _, value = option.partition("=")
                if key == "weight":
                    block.weight = float(value)
        elif header:
            block = block or _Block(line=number)
            for assignment in _split_params(header.group(2)):
                key, _, value = assignment.partition("=")
                block.params[key.strip()] = value.strip()
        elif line.strip().startswith("--") or (block is None and not line.strip()):
            continue
        else:
            block = block or _Block(line=number)
            block.lines.append(line)
            if line.rstrip().endswith(";"):
                yield block
                block = None
    if block is not None and block.sql:
        yield block


def _split_params(text: str) -> list[str]:
    """Split ``a = f(x, y=1); b = g(z)`` at top-level semicolons."""
    return [part for part in (p.strip() for p in text.split(";")) if part]


def _unknown_tables(expression: exp.Expression, schema: Schema) -> list[str]:
    """Tables the statement reads or writes that are neither in the schema nor its own CTEs."""
    ctes = {cte.alias_or_name for cte in expression.find_all(exp.CTE)}
    views = {v.name for v in schema.views}
    return sorted({
        table.name for table in expression.find_all(exp.Table)
        if table.name and table.name not in ctes and table.name not in views
        and schema.find_table(table.name, table.db or None) is None
    })


def schema_mapping(schema: Schema) -> dict[str, dict[str, dict[str, str]]]:
    """``{schema: {table: {column: type}}}`` of the model's tables and views, the ``schema=`` sqlglot's
    ``qualify`` takes to resolve a query's columns (types are all "text": only the names matter there)."""
    mapping: dict[str, dict[str, dict[str, str]]] = {}
    for table in schema.tables:
        mapping.setdefault(table.schema or "public", {})[table.name] = {c.name: "text" for c in table.columns}
    for view in schema.views:
        mapping.setdefault(view.schema or "public", {})[view.name] = {c: "text" for c in view.columns}
    return mapping
