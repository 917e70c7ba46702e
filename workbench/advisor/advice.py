"""The index advisor for a whole workload: candidates, measured benefit, a set within a storage budget.

``advise(engine, schema, workload, budget_mb=...)`` returns an :class:`Advice`: the CREATE INDEX
statements (CONCURRENTLY on PostgreSQL), each query's measured time before and after (median of
the seeded parameter draws), the weighted time saved, the storage used, and the existing indexes
the workload does not use or that a longer index makes redundant. ``Advice.sql()`` names the tables as
the model does (the user's own schema, not the sandbox the advice was measured in, which is gone after);
``Advice.sql(engine=e)`` is the dry-run twin of ``Advice.apply(e)``, in that engine's names.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
import sqlglot
from psycopg import sql as pgsql
from sqlglot import exp

from workbench.advisor.candidates import Candidate, candidates, describe
from workbench.advisor.evaluate import Evaluator, IndexSet
from workbench.advisor.schema_rules import covers, index_key, keys, sole_foreign_key_support
from workbench.advisor.select import SCORES, Selection, greedy, improve
from workbench.ddl.export.indexes import index_statement
from workbench.engines import Engine
from workbench.engines.extensions import qualified
from workbench.errors import WorkbenchError
from workbench.safe_display import safe_html
from workbench.schema.model import Index, Schema
from workbench.workload import Query, Workload

MB = 1024 * 1024
CURVE_COLUMNS = ["budget_mb", "storage_mb", "indexes", "workload_ms", "no_index_ms", "pct_of_no_index"]
TRIGRAM = "pg_trgm"


@dataclass(frozen=True)
class Recommendation:
    """An index to create, what it costs and what it saved when it was picked (measured)."""

    table: str
    index: str  # short description, e.g. ``(customer_id, ordered_at DESC)``
    name: str
    statement: str
    bytes: int
    build_s: float
    saved_ms: float  # weighted ms per workload round, measured when picked
    write_ms: float  # weighted ms the index adds to the workload's writes
    queries: tuple[str, ...]


@dataclass(frozen=True)
class Drop:
    """An existing index the workload does not need: ``unused`` by every plan, or ``redundant``."""

    table: str
    name: str
    reason: str
    statement: str
    index: Index | None = field(default=None, repr=False, compare=False)  # the model's index

    def to_dict(self) -> dict:
        return {"table": self.table, "name": self.name, "reason": self.reason, "statement": self.statement}


@dataclass
class Advice:
    """What to create and drop, and the measured effect on the workload (ms are weighted by query weight)."""

    engine: str
    budget_bytes: float
    recommendations: list[Recommendation]
    drops: list[Drop]
    queries: pd.DataFrame  # query, weight, before_ms, after_ms, status_before, status_after, same_answers
    before_ms: float
    after_ms: float
    setup: list[str] = field(default_factory=list)  # e.g. CREATE EXTENSION pg_trgm, to run before the indexes
    notes: list[str] = field(default_factory=list)
    candidates: int = 0
    executions: int = 0
    schema: Schema | None = field(default=None, repr=False)
    chosen: tuple[Candidate, ...] = field(default=(), repr=False)
    by_budget: dict[float, Advice] = field(default_factory=dict, repr=False, compare=False)  # MB -> advice

    def __post_init__(self) -> None:
        self.by_budget = dict(sorted({**self.by_budget, self.budget_bytes / MB: self}.items()))

    @property
    def saved_ms(self) -> float:
        return self.before_ms - self.after_ms

    @property
    def saved_pct(self) -> float:
        return 100 * self.saved_ms / self.before_ms if self.before_ms else 0.0

    @property
    def storage_bytes(self) -> int:
        return sum(r.bytes for r in self.recommendations)

    def sql(self, *, drops: bool = False, engine: Engine | None = None) -> list[str]:
        """The statements to run on the user's database, naming tables as the model does; with ``engine``,
        the statements :meth:`apply` runs there, in its own names (the dry-run twin)."""
        if engine is None:
            creates = [r.statement for r in self.recommendations]
            removals = [d.statement for d in self.drops]
        else:
            schema = self._schema()
            creates = [create_statement(engine, schema, c) for c in self.chosen]
            removals = [drop_statement(engine, schema, d.table, d.index) for d in self.drops if d.index is not None]
        return [*self.setup, *creates, *(removals if drops else [])]

    def apply(self, engine: Engine, *, drops: bool = False) -> list[str]:
        """Create the recommended indexes (and drop the listed ones when ``drops``) on ``engine``, inside
        its sandbox; returns the statements run, exactly :meth:`sql` for that engine."""
        statements = self.sql(drops=drops, engine=engine)
        for statement in statements:
            engine.execute(statement)
        return statements

    def curve(self) -> pd.DataFrame:
        """The advice at every budget measured with it (``advise(..., budgets_mb=[...])``), one row each:
        ``budget_mb, storage_mb, indexes, workload_ms, no_index_ms, pct_of_no_index``."""
        rows = [(budget, a.storage_bytes / MB, len(a.recommendations), a.after_ms, a.before_ms,
                 100 * a.after_ms / a.before_ms if a.before_ms else 100.0) for budget, a in self.by_budget.items()]
        return pd.DataFrame(rows, columns=CURVE_COLUMNS)

    def explore(self) -> Any:
        """A panel: a storage-budget slider over the measured curve; the chosen set, its SQL and the
        per-query savings follow the slider without measuring again (see :mod:`workbench.ui.advice_panel`)."""
        from workbench.ui import explore

        return explore(self)

    def to_dict(self) -> dict:
        return {
            "engine": self.engine, "budget_mb": self.budget_bytes / MB, "storage_mb": self.storage_bytes / MB,
            "before_ms": self.before_ms, "after_ms": self.after_ms, "saved_ms": self.saved_ms,
            "saved_pct": self.saved_pct, "setup": self.setup,
            "recommendations": [asdict(r) for r in self.recommendations],
            "drops": [d.to_dict() for d in self.drops],
            "queries": json.loads(self.queries.to_json(orient="records")),
            "notes": self.notes, "candidates": self.candidates, "executions": self.executions,
        }

    def to_json(self, **options: object) -> str:
        return json.dumps(self.to_dict(), default=str, **options)

    def plot(self, ax=None):
        """Per-query measured time before and after (weighted ms, log scale); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.35 * len(self.queries) + 1.2))
        frame = self.queries.iloc[::-1]
        positions = range(len(frame))
        ax.barh([p + 0.2 for p in positions], frame["before_ms"], height=0.4, label="before", color="#b0b0b0")
        ax.barh([p - 0.2 for p in positions], frame["after_ms"], height=0.4, label="after", color="#3b75af")
        ax.set_yticks(list(positions), frame["query"])
        ax.set_xscale("log")
        ax.set_xlabel("measured ms per execution (median of draws)")
        ax.legend(loc="lower right")
        return ax

    def _schema(self) -> Schema:
        if self.schema is None:
            raise WorkbenchError("this Advice was read back without its schema; apply its sql() statements instead")
        return self.schema

    def _summary(self) -> str:
        return (f"{len(self.recommendations)} indexes ({self.storage_bytes / MB:.1f} of {self.budget_bytes / MB:g} MB)"
                f" save {self.saved_pct:.0f}% of the weighted workload time ({self.before_ms:.1f} -> "
                f"{self.after_ms:.1f} ms); {len(self.drops)} index{'' if len(self.drops) == 1 else 'es'} to drop")

    def __repr__(self) -> str:
        return f"<Advice {self.engine}: {self._summary()}>"

    def _repr_html_(self) -> str:
        return safe_html(Advice._html, self)

    def _html(self) -> str:
        creates = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in self.sql())
        drops = "".join(f"<li><code>{html.escape(d.statement)}</code> ({html.escape(d.reason)})</li>"
                        for d in self.drops)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<p><b>Index advice ({html.escape(self.engine)})</b>: {html.escape(self._summary())}</p>"
                f"<ol>{creates}</ol>" + (f"<p>Drop:</p><ul>{drops}</ul>" if drops else "")
                + self.queries.to_html(index=False, float_format=lambda v: f"{v:,.2f}")
                + (f"<p>Notes:</p><ul>{notes}</ul>" if notes else ""))


def advise(engine: Engine, schema: Schema, workload: Workload | Iterable[Query], *, budget_mb: float,
           budgets_mb: Sequence[float] = (), write_weight: float = 1.0, draws: int = 5, seed: int = 0, repeat: int = 1,
           timeout_s: float | None = 30.0, min_gain: float = 0.01, progress: bool = True,
           evaluator: Evaluator | None = None) -> Advice:
    """Measured index advice for the workload on the data loaded in ``engine``, within ``budget_mb``.

    ``write_weight`` scales the measured insert slowdown charged per write of the workload on an
    index's table; ``min_gain``: a pick must save this share of the current weighted workload time.
    ``budgets_mb``: more budgets to advise at with the same measurements (``Advice.by_budget``,
    ``Advice.curve()``, the slider of ``Advice.explore()``). Pass an ``evaluator`` to share
    measurements between calls.
    """
    if evaluator is None:
        with Evaluator(engine, schema, workload, draws=draws, seed=seed, repeat=repeat, timeout_s=timeout_s,
                       progress=progress) as own:
            return advise(engine, schema, workload, budget_mb=budget_mb, budgets_mb=budgets_mb,
                          write_weight=write_weight, min_gain=min_gain, evaluator=own)
    notes: list[str] = []
    setup, methods = _methods(engine, notes)
    found = candidates(schema, evaluator.queries, dialect=engine.dialect, methods=methods,
                       correlations=_correlations(engine, schema))
    advised = {}
    for budget in dict.fromkeys([budget_mb, *budgets_mb]):
        if budget < 0:
            raise WorkbenchError(f"a budget must not be negative, got {budget} MB")
        selection = best_selection(evaluator, found, budget_bytes=budget * MB, write_weight=write_weight,
                                   min_gain=min_gain)
        advised[budget] = _advice(engine, schema, evaluator, selection, budget * MB, setup, list(notes), len(found))
    for advice in advised.values():
        advice.by_budget = dict(sorted(advised.items()))
    return advised[budget_mb]


def best_selection(evaluator: Evaluator, found: list[Candidate], *, budget_bytes: float, write_weight: float,
                   min_gain: float) -> Selection:
    """Greedy by absolute gain and by gain per byte (measurements are shared); the faster result wins,
    then picks are swapped for better-paying alternatives that fit (:func:`~workbench.advisor.select.improve`)."""
    runs = [greedy(evaluator, found, budget_bytes=budget_bytes, write_weight=write_weight, min_gain=min_gain,
                   score=score) for score in SCORES]
    best = min(runs, key=lambda s: s.total_ms + sum(step.write_ms for step in s.steps))
    return improve(evaluator, best, found, budget_bytes=budget_bytes, write_weight=write_weight, min_gain=min_gain)


def budget_curve(engine: Engine, schema: Schema, workload: Workload | Iterable[Query], budgets_mb: Sequence[float],
                 *, write_weight: float = 1.0, draws: int = 5, seed: int = 0, repeat: int = 1,
                 timeout_s: float | None = 30.0, progress: bool = True) -> pd.DataFrame:
    """Measured weighted workload time of the advised set at each storage budget (one shared cache).

    Columns: ``budget_mb, storage_mb, indexes, workload_ms, no_index_ms, pct_of_no_index``; the
    no-index figure is the workload with the schema's own indexes only.
    """
    if not budgets_mb:
        raise WorkbenchError("budget_curve needs at least one budget, e.g. [0.5, 1, 2, 4] (MB)")
    return advise(engine, schema, workload, budget_mb=budgets_mb[0], budgets_mb=budgets_mb, write_weight=write_weight,
                  draws=draws, seed=seed, repeat=repeat, timeout_s=timeout_s, progress=progress).curve()


def plot_budget_curve(curve: pd.DataFrame, ax=None):
    """Measured weighted workload time against the storage budget; returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(curve["budget_mb"], curve["workload_ms"], marker="o", label="advised indexes")
    if len(curve):
        ax.axhline(curve["no_index_ms"].iloc[0], color="grey", linestyle="--", label="no added index")
    ax.set_xlabel("storage budget (MB)")
    ax.set_ylabel("weighted workload time (ms, measured)")
    ax.set_ylim(bottom=0)
    ax.legend()
    return ax


def create_statement(place: Engine | str, schema: Schema, candidate: Candidate,
                     extensions: Mapping[str, str] | None = None) -> str:
    """CREATE INDEX for a candidate, CONCURRENTLY on PostgreSQL (no write lock): on an engine, in its stored
    names; for a dialect, in the model's names, extension operator classes in ``extensions``' schemas."""
    index = qualified(candidate.index, extensions or {})
    tree = _create(place, schema, candidate.table, index)
    if _dialect(place) == "postgres":
        tree.set("concurrently", True)
    return tree.sql(_dialect(place))


def drop_statement(place: Engine | str, schema: Schema, table: str, index: Index) -> str:
    """DROP INDEX for an index of the model (CONCURRENTLY on PostgreSQL): on an engine, as it names it; for a
    dialect, in the model's names."""
    create = _create(place, schema, table, index)
    target = create.this.args["table"]
    name = exp.table_(create.this.this.copy(), db=target.args.get("db"), catalog=target.args.get("catalog"))
    drop = exp.Drop(tables=[name], kind="INDEX", exists=True, concurrently=_dialect(place) == "postgres")
    return drop.sql(_dialect(place))


def _create(place: Engine | str, schema: Schema, table: str, index: Index) -> exp.Create:
    if not isinstance(place, str):
        return sqlglot.parse_one(place.index_statement(schema, table, index), read=place.dialect)
    statement, notes = index_statement(schema, schema.table(table), index, place)
    if statement is None:
        raise WorkbenchError(f"{place} cannot build index {index.name or ''} on {table}: {notes}")
    return statement


def _dialect(place: Engine | str) -> str:
    return place if isinstance(place, str) else place.dialect


def _advice(engine: Engine, schema: Schema, evaluator: Evaluator, selection: Selection, budget_bytes: float,
            setup: list[str], notes: list[str], count: int) -> Advice:
    chosen = selection.picked
    before, after = evaluator.times(frozenset()), evaluator.times(chosen)
    frame = pd.DataFrame([{
        "query": q.name, "weight": q.weight, "before_ms": before[q.name].ms, "after_ms": after[q.name].ms,
        "status_before": before[q.name].status, "status_after": after[q.name].status,
        "same_answers": before[q.name].checksums == after[q.name].checksums,
    } for q in evaluator.queries])
    for row in frame.itertuples():
        if not row.same_answers:
            notes.append(f"{row.query}: the answers differ with the indexes for some draws (ties under ORDER BY "
                         f"... LIMIT return other rows; anything else would be a bug)")
    if evaluator.estimated & {c.key for c in chosen}:
        notes.append(f"{engine.name} reports no index sizes: the sizes here are estimates (rows x key width)")
    for key, why in evaluator.unmeasured.items():
        notes.append(f"write cost of {key} not measured: {why}")
    uses_trigram = any(e.opclass == "gin_trgm_ops" for c in chosen for e in c.index.elements)
    found = {TRIGRAM: engine.extension_schema(TRIGRAM)} if uses_trigram and engine.sandbox else {}
    recommendations = [Recommendation(
        step.candidate.table, describe(step.candidate.index), step.candidate.name,
        create_statement(engine.dialect, schema, step.candidate, found), step.bytes,
        evaluator.build_seconds.get(step.candidate.key, float("nan")), step.saved_ms, step.write_ms,
        tuple(sorted(step.candidate.queries))) for step in selection.steps]
    setup = setup if uses_trigram and not found else []  # found on the user's database: nothing to create
    return Advice(engine.name, budget_bytes, recommendations, _drops(engine, schema, evaluator, chosen), frame,
                  evaluator.weighted(before), evaluator.weighted(after), setup, notes, count, evaluator.executions,
                  schema, tuple(s.candidate for s in selection.steps))


def _drops(engine: Engine, schema: Schema, evaluator: Evaluator, chosen: IndexSet) -> list[Drop]:
    """The schema's own non-unique indexes that no plan uses (PostgreSQL), or that a b-tree with the
    same leading keys and more keys (or more INCLUDE columns) makes redundant."""
    used = evaluator.plans_use(chosen) if engine.dialect == "postgres" else None
    drops = []
    for table in schema.tables:
        paths = keys(table)
        longer = [*paths, *(index_key(c.index) for c in chosen if c.table == table.key)]
        for key in paths:
            index = key.index
            if index is None or index.unique:
                continue
            name = engine.index_name(schema, table.key, index)
            reason = None
            cover = next((long for long in longer if long is not key and covers(key, long)), None)
            if cover is not None:
                reason = f"redundant: {cover.label} ({', '.join(cover.columns)}) starts with the same keys"
            elif used is not None and name.lower() not in {u.lower() for u in used} and \
                    not sole_foreign_key_support(key, paths, table):
                reason = "unused: no plan of the workload uses it (it may still serve other queries or FK checks)"
            if reason:
                drops.append(Drop(table.key, name, reason, drop_statement(engine.dialect, schema, table.key, index),
                                  index))
    return drops


def _methods(engine: Engine, notes: list[str]) -> tuple[list[str], list[str]]:
    """(setup statements, index methods to propose): trigram GIN needs the pg_trgm extension, created in a
    database of the workbench's own, only used where a user's database has it."""
    methods = [m for m in ("btree", "gin", "brin") if m in engine.supports_index_methods]
    if "gin" not in methods:
        return [], methods
    try:
        engine.extension_schema(TRIGRAM)
    except WorkbenchError as error:
        notes.append(f"no trigram candidates: {error}")
        return [], [m for m in methods if m != "gin"]
    return [pgsql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(pgsql.Identifier(TRIGRAM)).as_string(None)], methods


def _correlations(engine: Engine, schema: Schema) -> dict[tuple[str, str], float]:
    """``(table key, column) -> pg_stats.correlation`` for the schema's tables (PostgreSQL only)."""
    if engine.dialect != "postgres":
        return {}
    frame = engine.query("SELECT tablename, attname, correlation FROM pg_stats "
                         "WHERE schemaname = ANY(current_schemas(false)) AND correlation IS NOT NULL")
    found = {}
    for table, column, correlation in frame.itertuples(index=False):
        model = schema.find_table(table)
        if model is not None:
            found[(model.key, column)] = float(correlation)
    return found
