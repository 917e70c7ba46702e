"""A design study: one schema and sample data, several variants, a workload, one or more engines.

Declared in Python (``Study(...)`` with :class:`Variant` objects) or in a TOML file next to a domain
(``Study.from_toml``); ``run()`` measures it (see :mod:`workbench.bench.runner`) and ``ddl()`` is the dry-run
twin that shows each variant's SQL without running anything.
"""

from __future__ import annotations

import html
import tomllib
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from workbench.bench.variants import Variant
from workbench.datagen.dataset import Dataset
from workbench.datagen.generate import generate
from workbench.domains import Domain, domain, parse_scale
from workbench.engines import Engine
from workbench.engines.connect import check_target, target_kind
from workbench.engines.conninfo import ConnInfo
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.safe_display import safe_html
from workbench.schema.model import Schema, Table
from workbench.textfile import read_text
from workbench.workload import Problem, Query, Workload

# Each key of a study file, the TOML types it takes and how to say so when it gets another.
_STUDY_KEYS = {
    "name": (str, "a string"), "domain": (str, "a domain name or folder"), "scale": ((str, int, float), "a scale "
    "name or a number"), "rows": (dict, "a table of row counts, e.g. { products = 1000 }"),
    "tables": (list, 'a list of table names, e.g. ["products"]'), "engines": (list, 'a list, e.g. ["duckdb"]'),
    "queries": (list, 'a list of query names, e.g. ["product_search"]'), "repetitions": (int, "a whole number"),
    "warmup": (int, "a whole number"), "timeout_s": ((int, float), "a number of seconds"),
    "seed": (int, "a whole number"), "baseline": (str, "a variant name"),
    "variants": (list, "a list of [[variants]] tables"), "insert_rows": (int, "a whole number"),
    "description": (str, "a string"), "workload": (str, "a .sql file next to the study"),
}


@dataclass(frozen=True)
class Study:
    """What to compare and how: the method's knobs default to BENCHMARKING.md's practice."""

    name: str
    domain: Domain
    variants: tuple[Variant, ...]
    engines: tuple[str | ConnInfo, ...] = ("duckdb",)  # a PostgreSQL URL is kept parsed: shown without password
    scale: str | float = "ci"
    rows: dict[str, int] = field(default_factory=dict)  # exact rows for some tables, whatever the scale
    tables: tuple[str, ...] = ()  # load only these tables and their foreign-key parents (default: all)
    queries: tuple[str, ...] = ()  # a subset of the domain's workload (default: every query that fits)
    repetitions: int = 10
    warmup: int = 2
    timeout_s: float = 10.0
    seed: int = 42
    baseline: str | None = None  # default: the first variant
    insert_rows: int = 2000  # rows per table inserted to measure each variant's write cost (0: not measured)
    description: str = ""
    workload_file: Path | None = None  # the study's own queries (default: the domain's workload.sql)

    def __post_init__(self) -> None:
        if not isinstance(self.domain, Domain):
            object.__setattr__(self, "domain", domain(self.domain))
        for name in ("variants", "engines", "tables", "queries"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str | ConnInfo) else tuple(value))
        if not self.variants:
            raise WorkbenchError(f"study {self.name!r} has no variants; add at least one (e.g. Variant('as is'))")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise WorkbenchError(f"study {self.name!r}: variant names must be unique, got {names}")
        if self.baseline is None:
            object.__setattr__(self, "baseline", names[0])
        elif self.baseline not in names:
            raise UnknownNameError("baseline variant", self.baseline, names)
        if self.repetitions < 1 or self.warmup < 0:
            raise WorkbenchError(f"study {self.name!r}: repetitions must be >= 1 and warmup >= 0, got "
                                 f"{self.repetitions} and {self.warmup}")
        if not self.engines:
            raise WorkbenchError(f"study {self.name!r} has no engines; give e.g. engines = [\"duckdb\"]")
        object.__setattr__(self, "engines", tuple(_parsed(e) for e in self.engines))
        for target in self.engines:
            check_target(target)
        if any(str(e).startswith("duckdb:") for e in self.engines):
            raise WorkbenchError(f"study {self.name!r}: each variant gets its own database, so DuckDB runs in "
                                 f"memory; use engine \"duckdb\" instead of a file")

    @classmethod
    def from_toml(cls, path: str | Path, *, scale: str | float | None = None,
                  engines: list[str] | tuple[str, ...] | None = None, **overrides: Any) -> Study:
        """A study from its TOML file (format: ``datasets/ecommerce/study_search.toml``); keywords override it."""
        path = Path(path)
        try:
            data = tomllib.loads(read_text(path, what="study file"))
        except tomllib.TOMLDecodeError as error:
            raise WorkbenchError(f"{path}: not a valid TOML study file: {error}") from None
        unknown = set(data) - set(_STUDY_KEYS)
        if unknown:
            raise UnknownNameError(f"key of study file {path}", sorted(unknown)[0], _STUDY_KEYS)
        for required in ("name", "domain", "variants"):
            if required not in data:
                raise WorkbenchError(f"{path}: a study needs `{required} = ...`")
        for key, value in data.items():
            kinds, meaning = _STUDY_KEYS[key]
            items = value if key == "variants" and isinstance(value, list) else []
            if not isinstance(value, kinds) or isinstance(value, bool) or not all(isinstance(v, dict) for v in items):
                raise WorkbenchError(f"{path}: `{key}` must be {meaning}, not {value!r}")
        try:
            return cls._from_data(path, data, scale, engines, overrides)
        except WorkbenchError as error:  # say which file holds the bad value
            if not str(error).startswith(str(path)):
                error.args = (f"{path}: {error}",)
            raise

    @classmethod
    def _from_data(cls, path: Path, data: dict[str, Any], scale: str | float | None,
                   engines: list[str] | tuple[str, ...] | None, overrides: dict[str, Any]) -> Study:
        where = (path.parent / data["domain"]).resolve()
        chosen = domain(where if where.is_dir() else data["domain"])
        try:
            variants = tuple(Variant.from_dict(v, path.parent) for v in data["variants"])
        except TypeError as error:
            raise WorkbenchError(f"{path}: {error}") from error
        options = {k: v for k, v in data.items() if k not in ("domain", "variants", "workload")}
        if "workload" in data:
            options["workload_file"] = path.parent / data["workload"]
            if not options["workload_file"].is_file():
                raise WorkbenchError(f"{path}: workload file {options['workload_file']} does not exist; give a "
                                     f".sql file next to the study (or leave it out to use the domain's)")
        if "scale" in options:
            options["scale"] = _scale(options["scale"])
        if scale is not None:
            options["scale"] = _scale(scale)
        if engines:
            options["engines"] = tuple(engines)
        study = cls(domain=chosen, variants=variants, **{**options, **overrides})
        _ = study.workload  # the tables and queries it names exist: found now, not after data is generated
        for table in [*study.rows, *(index.table for v in variants for index in v.indexes)]:
            study.schema.table(table)
        return study

    def with_options(self, **changes: Any) -> Study:
        """A copy with some fields changed (e.g. ``scale``, ``engines``, ``repetitions``)."""
        return replace(self, **changes)

    # -- what is loaded and run --------------------------------------------------------------------

    @cached_property
    def schema(self) -> Schema:
        """The domain's schema, narrowed to ``tables`` and their foreign-key parents when given."""
        return subset(self.domain.schema, self.tables) if self.tables else self.domain.schema

    @cached_property
    def workload(self) -> Workload:
        """The study's queries, checked against the loaded tables (the rest are in ``problems``)."""
        workload = Workload.from_file(self.workload_file or self.domain.path / "workload.sql", schema=self.schema)
        if not self.queries:
            return workload
        known = {q.name for q in workload.queries}
        for name in self.queries:
            if name not in known:
                problem = next((p for p in workload.problems if p.query == name), None)
                if problem is not None:
                    raise WorkbenchError(f"study {self.name!r}: query {name!r} cannot run on the loaded tables: "
                                         f"{problem.reason}")
                raise UnknownNameError(f"query of study {self.name!r}", name, known)
        return Workload([workload.query(n) for n in self.queries], [], workload.file)

    @property
    def problems(self) -> list[Problem]:
        """Workload queries left out because they do not fit the loaded tables (never dropped silently)."""
        return [] if self.queries else list(self.workload.problems)

    def query_for(self, variant: Variant, name: str) -> Query:
        """The statement a variant runs for query ``name``: its override, else the study's."""
        if variant.workload is not None:
            for query in variant.workload.queries:
                if query.name == name:
                    return query
        return self.workload.query(name)

    def generate(self, *, progress: bool = True) -> Dataset:
        """The study's data: the same rows for every engine and variant (seeded)."""
        spec = self.domain.spec
        spec = replace(spec, tables={k: v for k, v in spec.tables.items() if self.schema.find_table(k) is not None})
        return generate(self.schema, self.rows or None, scale=self.scale, seed=self.seed, spec=spec,
                        progress=progress)

    # -- dry run -----------------------------------------------------------------------------------

    def variant(self, name: str) -> Variant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise UnknownNameError(f"variant of study {self.name!r}", name, (v.name for v in self.variants))

    def ddl(self, variant: Variant | str, engine: Engine | str = "postgres") -> list[str]:
        """The SQL a variant adds to the loaded schema on ``engine`` (an Engine or a dialect), without running it.

        Partitioning variants show the partitioned tables' DDL; settings show as ``SET`` statements.
        """
        from workbench.bench.prepare import variant_statements

        chosen = self.variant(variant) if isinstance(variant, str) else variant
        return variant_statements(self.schema, chosen, engine)

    # -- measuring ---------------------------------------------------------------------------------

    def run(self, out: str | Path, *, resume: bool = False, progress: bool = True, max_rounds: int | None = None,
            report: bool = True, measure_only: bool = False, overwrite: bool = False) -> Any:
        """Measure every variant on every engine; results are written to ``out`` as they come.

        ``resume=True`` completes an interrupted run in ``out`` without repeating what it holds (with the same
        settings: a run with other ones is refused); a folder holding an earlier run is refused without it,
        unless ``overwrite=True`` discards that run;
        ``max_rounds`` stops after that many measured rounds (a deliberate interruption, for tests);
        ``measure_only`` records the executions only (no plans, server times, write cost or report).
        Returns :class:`workbench.bench.results.Results`.
        """
        from workbench.bench.runner import run_study

        return run_study(self, Path(out), resume=resume, progress=progress, max_rounds=max_rounds, report=report,
                         measure_only=measure_only, overwrite=overwrite)

    def config(self) -> dict[str, Any]:
        """The study's declaration as plain data, stored in ``meta.json`` and checked on resume."""
        return {"name": self.name, "domain": str(self.domain.path), "engines": [str(e) for e in self.engines],
                "scale": str(self.scale), "rows": dict(self.rows), "tables": list(self.tables),
                "queries": [q.name for q in self.workload], "repetitions": self.repetitions, "warmup": self.warmup,
                "timeout_s": self.timeout_s, "seed": self.seed, "baseline": self.baseline,
                "insert_rows": self.insert_rows,
                "workload": str(self.workload_file or self.domain.path / "workload.sql"),
                "variants": {v.name: v.describe() for v in self.variants}}

    def describe(self) -> str:
        """``Study 'name': 4 variants x 1 queries on postgres; ecommerce at scale ci, seed 42``."""
        return (f"Study {self.name!r}: {len(self.variants)} variants x {len(self.workload)} queries on "
                f"{', '.join(map(str, self.engines))}; {self.domain.name} at scale {self.scale}, seed {self.seed}")

    def __repr__(self) -> str:
        return f"<{self.describe()}>"

    def _repr_html_(self) -> str:
        return safe_html(Study._html, self)

    def _html(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(v.name)}{' (baseline)' if v.name == self.baseline else ''}</td>"
                       f"<td>{html.escape(v.describe())}</td></tr>" for v in self.variants)
        queries = ", ".join(html.escape(q.name) for q in self.workload)
        return (f"<p><b>{html.escape(self.describe())}</b></p><p>queries: {queries}</p>"
                f"<table><tr><th>variant</th><th>what it changes</th></tr>{rows}</table>")


def subset(schema: Schema, tables: tuple[str, ...]) -> Schema:
    """``schema`` with only ``tables`` and, transitively, the tables their foreign keys reference."""
    keep: dict[str, Table] = {}
    todo = [schema.table(name) for name in tables]
    while todo:
        table = todo.pop()
        if table.key in keep:
            continue
        keep[table.key] = table
        todo += [parent for fk in table.foreign_keys if (parent := schema.referenced_table(fk)) is not None]
    kept = tuple(t for t in schema.tables if t.key in keep)
    names = {t.key for t in kept} | {t.name for t in kept}
    views = tuple(v for v in schema.views if set(v.depends_on) <= names)
    sequences = tuple(s for s in schema.sequences
                      if s.owned_by is None or s.owned_by.rsplit(".", 1)[0] in names)
    return replace(schema, tables=kept, views=views, sequences=sequences)


def _parsed(engine: str | ConnInfo) -> str | ConnInfo:
    """A PostgreSQL URL or conninfo parsed at once (its password goes nowhere else); other targets as given."""
    if isinstance(engine, str) and target_kind(engine) == "url":
        return ConnInfo.parse(engine)
    return engine


def _scale(value: str | float) -> str | float:
    return parse_scale(value) if isinstance(value, str) else float(value)
