"""``Migration.verify(engine)``: up, then down, on databases (or sandbox schemas) the workbench creates.

Database A is built from the old model (and filled with generated rows when ``scale`` is given), the up
script runs statement by statement, and A's catalog must equal that of database B, built from the new
model, exactly (column order aside: ADD COLUMN appends). Then the down script runs and A's catalog must
equal its own catalog from before. Row counts and checksums of the columns no change touches must survive
both directions. Every difference is listed; nothing is summarized away. The user's own database is never
touched: on a server given by URL the work happens in fresh sandbox schemas, dropped afterwards.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from psycopg import sql

from workbench.datagen import generate
from workbench.engines.base import BOOKKEEPING, Engine
from workbench.engines.introspect import schema_from_catalog
from workbench.errors import WorkbenchError
from workbench.migrate.catalog import differences, namespace_mapper, shape
from workbench.migrate.changes import Kind
from workbench.migrate.renames import table_match_key
from workbench.progress import tqdm
from workbench.safe_display import safe_html
from workbench.schema.model import Schema

if TYPE_CHECKING:
    from workbench.engines.postgres import PostgresEngine
    from workbench.migrate.plan import Migration
    from workbench.migrate.steps import Step

_TOUCHING = (Kind.ALTER_TYPE, Kind.CHANGE_GENERATED, Kind.DROP_COLUMN, Kind.ADD_COLUMN)


@dataclass
class Verification:
    """What up and down did to the catalog and the rows; ``ok`` only when every list is empty."""

    up_differences: list[str] = field(default_factory=list)
    down_differences: list[str] = field(default_factory=list)
    data_differences: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    statements: tuple[int, int] = (0, 0)  # up, down statements run
    tables_checked: int = 0
    rows_checked: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.up_differences or self.down_differences or self.data_differences or self.failures)

    @property
    def all_differences(self) -> list[str]:
        return [*self.failures, *(f"after up: {d}" for d in self.up_differences),
                *(f"after down: {d}" for d in self.down_differences), *self.data_differences]

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "failures": self.failures, "up_differences": self.up_differences,
                "down_differences": self.down_differences, "data_differences": self.data_differences,
                "statements": {"up": self.statements[0], "down": self.statements[1]},
                "tables_checked": self.tables_checked, "rows_checked": self.rows_checked}

    def __repr__(self) -> str:
        verdict = "round trip verified" if self.ok else f"{len(self.all_differences)} differences"
        return (f"<Verification: {verdict}; {self.statements[0]} up + {self.statements[1]} down statements, "
                f"{self.tables_checked} tables / {self.rows_checked:,} rows checked>")

    def _repr_html_(self) -> str:
        return safe_html(lambda v: f"<p>{html.escape(repr(v))}</p>" + (
            "<ul>" + "".join(f"<li><code>{html.escape(d)}</code></li>" for d in v.all_differences) + "</ul>"
            if v.all_differences else ""), self)


def rows_for(migration: Migration, source: Any, scale: str | float | None, seed: int,
             progress: bool) -> tuple[Mapping[str, Any] | None, Any]:
    """The rows to load into the old schema and the workload to run: from a sample domain (its data spec and
    workload), a mapping of Arrow tables, or generated from the old schema at ``scale`` (None: no rows)."""
    from workbench.domains import Domain

    if isinstance(source, Domain):
        return source.generate(scale if scale is not None else "ci", seed=seed, progress=progress), source.workload
    if isinstance(source, Mapping):
        return source, None
    if source is None:
        data = generate(migration.diff.old, scale=scale, seed=seed, progress=progress) if scale is not None else None
        return data, None
    raise WorkbenchError(f"give a sample domain, a mapping of Arrow tables or None as the source of rows, not "
                         f"{type(source).__name__}")


def verify(migration: Migration, engine: Engine | str, source: Any = None, *, scale: str | float | None = None,
           seed: int = 0, progress: bool = True) -> Verification:
    """Prove the round trip on PostgreSQL; rows from ``source`` (a domain, Arrow tables) or generated at
    ``scale`` are loaded into the old schema first (neither: the catalogs alone are compared)."""
    if migration.dialect != "postgres":
        raise WorkbenchError(f"verify runs the scripts on PostgreSQL; this migration is planned for "
                             f"{migration.dialect}: plan it with dialect='postgres'")
    migration.up_sql()
    migration.down_sql()  # both raise IncompleteMigration rather than verify a partial plan
    started = time.perf_counter()
    result = Verification()
    with fresh_places(engine, 2) as (a, b):
        plan = physical_plan(migration, a)
        data, _ = rows_for(migration, source, scale, seed, progress)
        if data is not None:  # the engines place the logical model in their sandbox themselves
            a.load(migration.diff.old, data, progress=progress)
        else:
            a.create_schema(migration.diff.old)
        b.create_schema(migration.diff.new)
        before = catalog(a)
        sums = checksums(a, plan, before_renames=True)
        kept = checksums(a, plan, before_renames=True, moved_too=True)  # what down must give back
        result.statements = (run_steps(a, plan.up, "up", result.failures, progress),
                             result.statements[1])
        if not result.failures:
            result.up_differences = differences(shape(catalog(b), mapper(b)), shape(catalog(a), mapper(a)),
                                                "new schema", "old schema after up")
            _compare_rows(sums, checksums(a, plan, before_renames=False), "up", result)
            down = run_steps(a, plan.down, "down", result.failures, progress)
            result.statements = (result.statements[0], down)
            if not result.failures:
                result.down_differences = differences(shape(before, mapper(a)), shape(catalog(a), mapper(a)),
                                                      "old schema", "after up and down")
                _compare_rows(kept, checksums(a, plan, before_renames=True, moved_too=True), "down", result)
        result.tables_checked = len(sums)
        result.rows_checked = sum(count for count, _ in sums.values())
    result.seconds = time.perf_counter() - started
    return result


def run_steps(engine: Engine, steps: tuple[Step, ...], direction: str, failures: list[str],
              progress: bool = False) -> int:
    """Run steps one by one (each commits); stop at the first failure and name it. Returns how many ran."""
    for number, step in enumerate(tqdm(steps, desc=direction, disable=not progress, leave=False), 1):
        try:
            engine.execute(step.sql)
        except WorkbenchError as error:
            failures.append(f"{direction} statement {number} of {len(steps)} failed: {str(error).splitlines()[0]}"
                            f"\n    {step.sql[:300]}")
            return number - 1
    return len(steps)


def _compare_rows(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]], direction: str,
                  result: Verification) -> None:
    for table, (count, digest) in before.items():
        got = after.get(table)
        if got is None:
            result.data_differences.append(f"after {direction}: {table} cannot be read")
        elif got[0] != count:
            result.data_differences.append(f"after {direction}: {table} has {got[0]:,} rows, had {count:,}")
        elif got[1] != digest:
            result.data_differences.append(f"after {direction}: {table}: the values of its untouched columns "
                                           f"changed (checksum {got[1][:8]} != {digest[:8]})")


def checksums(engine: Engine, plan: Migration, *, before_renames: bool,
              moved_too: bool = False) -> dict[str, tuple[int, str]]:
    """Per surviving table: row count and an order-independent checksum of its untouched columns, read
    under the old names (``before_renames``) or the new ones; ``moved_too`` adds the columns a split
    moves away (the down script must bring their values back)."""
    diff = plan.diff
    touched = {(c.table, c.name) for c in diff.changes if c.kind in _TOUCHING}
    moved = {(c.old[0].key, n) for c in diff.of_kind(Kind.MOVE_COLUMNS) for n in c.new[1]}
    renamed_tables = {table_match_key(t): t for t in diff.old.tables}
    new_tables = {table_match_key(t): t for t in diff.new.tables}
    out: dict[str, tuple[int, str]] = {}
    for renamed in diff.renamed_old.tables:
        key = table_match_key(renamed)
        if key not in new_tables:
            continue
        original = next(t for k, t in renamed_tables.items() if _same_table(t, renamed, diff, k))
        def kept(name: str, table: str = renamed.key, key: str = key) -> bool:
            if (table, name) in moved:
                return moved_too
            return (table, name) not in touched and new_tables[key].has_column(name)

        pairs = [(o.name, r.name) for o, r in zip(original.columns, renamed.columns, strict=True) if kept(r.name)]
        if not pairs:
            continue
        table, columns = (original, [o for o, _ in pairs]) if before_renames else (renamed, [r for _, r in pairs])
        out[renamed.key] = _checksum(engine, table.schema, table.name, columns)
    return out


def _same_table(original, renamed, diff, key) -> bool:
    target = diff.rename_map.tables.get(key)
    return (target.key if target is not None else original.key) == renamed.key


def _checksum(engine: Engine, schema: str | None, name: str, columns: list[str]) -> tuple[int, str]:
    table = sql.Identifier(schema, name) if schema else sql.Identifier(name)
    row = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    query = sql.SQL("SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '') FROM "
                    "(SELECT md5(ROW({})::text) AS h FROM {}) AS hashed").format(row, table)
    frame = engine.query(query.as_string(None))
    return int(frame.iloc[0, 0]), str(frame.iloc[0, 1])


# -- the places the workbench creates ------------------------------------------------------------------

@contextmanager
def fresh_places(engine: Engine | str, count: int) -> Iterator[list[PostgresEngine]]:
    """``count`` new PostgreSQL places beside ``engine``: fresh databases on the embedded server, or fresh
    sandbox schemas on a server given by URL; all dropped on exit."""
    from workbench.engines import connect
    from workbench.engines.postgres import PostgresEngine

    make: Callable[[], Any]
    if isinstance(engine, str):
        def make() -> Any:
            return connect(engine)
    elif isinstance(engine, PostgresEngine) and engine.database:
        def make() -> Any:
            return PostgresEngine.embedded(engine.server)
    elif isinstance(engine, PostgresEngine) and engine.sandbox:
        url = engine.server.url(str(engine.query("SELECT current_database()").iloc[0, 0]))

        def make() -> Any:
            return PostgresEngine.sandbox_on(url)
    else:
        raise WorkbenchError(f"verify and measure need PostgreSQL, not {engine!r}; fix: connect('postgres') or a "
                             f"postgresql:// URL")
    made: list[Any] = []
    try:
        for _ in range(count):
            place = make()
            made.append(place)
            if place.name != "postgres":
                raise WorkbenchError(f"verify and measure need PostgreSQL, not {place.name}")
        yield made
    finally:
        for place in made:
            place.close()


def physical_plan(migration: Migration, place: PostgresEngine) -> Migration:
    """The migration as it runs in ``place``: the same plan, or re-planned inside a sandbox's namespaces."""
    if not place.sandbox:
        return migration
    from workbench.engines.sandbox import into_sandbox
    from workbench.migrate.plan import plan_migration

    hints = {r.old.rpartition(".")[2] if r.kind == "table" else ".".join(r.old.split(".")[-2:]):
             r.new.rpartition(".")[2] if r.kind == "table" else ".".join(r.new.split(".")[-2:])
             for r in migration.diff.renames if r.applied}
    old, new = into_sandbox(migration.diff.old, place.sandbox), into_sandbox(migration.diff.new, place.sandbox)
    return plan_migration(old, new, migration.dialect, safe=migration.safe, renames=hints)


def catalog(place: PostgresEngine) -> Schema:
    """The catalog of a place (its sandbox schemas only), without the workbench's bookkeeping table."""
    database = str(place.query("SELECT current_database()").iloc[0, 0])
    schemas = None
    if place.sandbox:
        frame = place.query("SELECT nspname FROM pg_namespace ORDER BY 1")
        schemas = [n for n in frame.iloc[:, 0] if n == place.sandbox or n.startswith(place.sandbox + "_")]
    found = schema_from_catalog(place.server.url(database), schemas)
    return found.with_tables(tuple(t for t in found.tables if t.name != BOOKKEEPING))


def mapper(place: PostgresEngine) -> Callable[[str], str]:
    """Sandbox namespace names back to logical ones (``workbench_ab_x`` -> ``x``, ``workbench_ab`` -> public)."""
    if not place.sandbox:
        return lambda text: text
    return namespace_mapper({f"{place.sandbox}_": "", place.sandbox: "public"})
