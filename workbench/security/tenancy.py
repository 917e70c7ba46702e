"""Tenancy models as study variants: shared tables, row-level security, a schema or a database per tenant.

One model with a tenant column, four physical designs, measured by the study runner like any variant
(``Variant(name, layout=TenancyModel(...))``, see :func:`tenancy_study`):

- ``shared``: one set of tables; the application filters every query by tenant (``WHERE tenant_id = 42``).
- ``rls``: the same tables under row-level security; queries run without their tenant filter, as a login
  role whose tenant is set per session (``SET app.tenant_id``); the policy does the filtering.
- ``schemas``: the tenant tables once per tenant (``tenant_42.orders``), shared tables (the catalog) once.
- ``databases``: one database per tenant (embedded server), each with its own copy of the shared tables.

The application's side of each design runs off the clock in a router engine: it reads the tenant from the
query's ``tenant_id = <value>`` condition, removes that condition where the design makes it redundant, and
sets the session's tenant, qualifies the tenant tables or picks the tenant's database. ``leading=False``
builds the same design with the tenant column moved out of the lead of every key and index.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from psycopg.conninfo import make_conninfo
from sqlglot import exp

from workbench.engines.execution import Execution
from workbench.engines.pgserver import Server
from workbench.engines.postgres import PostgresEngine
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.schema.model import PrimaryKey, Schema, Table
from workbench.security.logins import create_logins
from workbench.security.spec import PREDICATES, Grant, Policy, Role

MODELS = ("shared", "rls", "schemas", "databases")
TENANT_SCHEMA = "tenant_"
DROPS_AT_ONCE = 32  # each DROP DATABASE waits for a checkpoint; concurrent drops share one (a connection each)
_LABELS = {"shared": "shared tables, tenant filter in every query", "rls": "shared tables, row-level security",
           "schemas": "a schema per tenant", "databases": "a database per tenant"}


@dataclass(frozen=True)
class TenancyModel:
    """One tenancy design (a study :class:`~workbench.bench.variants.Layout`).

    ``leading`` keeps the tenant column first in every key and index (False moves it last in keys and out of
    the other indexes); ``predicate`` is the RLS policy's form (``initplan``: the setting read once per query,
    ``per_row``: current_setting() called for each row a filter sees); ``pool`` caps the connections the
    database-per-tenant router keeps open (beyond it, a tenant's first query goes to a new backend).
    """

    model: str
    tenant_column: str = "tenant_id"
    leading: bool = True
    predicate: str = "initplan"
    pool: int = 20

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise UnknownNameError("tenancy model", self.model, MODELS)
        if self.predicate not in PREDICATES:
            raise UnknownNameError("tenant predicate", self.predicate, PREDICATES)

    @property
    def label(self) -> str:
        parts = [_LABELS[self.model]]
        if self.model == "rls":
            parts.append("setting read once per query" if self.predicate == "initplan" else
                         "current_setting() per row")
        parts.append("tenant column leads the indexes" if self.leading else "tenant column not leading")
        return "; ".join(parts)

    def tenant_tables(self, schema: Schema) -> list[str]:
        """Tables holding rows per tenant: those with the tenant column, but not the table of tenants itself."""
        found = [t.name for t in schema.tables if t.has_column(self.tenant_column)
                 and not (t.primary_key and t.primary_key.columns == (self.tenant_column,))]
        if not found:
            raise WorkbenchError(f"no table has the tenant column {self.tenant_column!r}; tenancy models need one "
                                 f"(tables: {', '.join(t.name for t in schema.tables)})")
        return found

    def build(self, base: Any, target: str, schema: Schema, data: Mapping[str, pa.Table]) -> tuple[Any, list[str]]:
        """The variant's engine (a router) holding ``data`` in this design, and its own statements."""
        server = getattr(base, "server", None)
        if getattr(base, "database", None) is None or server is None:
            raise WorkbenchError(f"tenancy model {self.model!r} needs the embedded PostgreSQL server (databases and "
                                 f"login roles of its own); run the study with engines = [\"postgres\"]")
        model = schema if self.leading else trailing(schema, self.tenant_column)
        tables = self.tenant_tables(schema)
        if self.model == "databases":
            return build_databases(self, server, model, data, tables)
        owner = PostgresEngine.embedded(server)
        try:
            base_ddl = set(owner.ddl(schema)[0])
            own = [s for s in owner.ddl(model)[0] if s not in base_ddl]  # the indexes of a non-leading design
            if self.model == "schemas":
                tenants = _tenants(data, schema, self.tenant_column, tables)
                one = per_tenant_schemas(model, tables, tenants[:1])
                own = [f"-- {len(tenants)} schemas {TENANT_SCHEMA}<id> like this first one:",
                       *(s for s in owner.ddl(one)[0] if s not in base_ddl)]
                model = per_tenant_schemas(model, tables, tenants)
                data = split_by_tenant(data, schema, self.tenant_column, tables)
            owner.load(model, data, progress=False)
            owner.execute("VACUUM ANALYZE")
            if self.model == "shared":
                return owner, own
            if self.model == "schemas":
                return SchemaRouter(owner, self, frozenset(tables)), own
            policy = app_policy(model, self.tenant_column, tables, self.predicate)
            applied = policy.apply(owner)
            return RoleRouter(owner, self, frozenset(tables), applied.role("app"), policy.tenant_setting), \
                own + applied.statements
        except BaseException:
            owner.close()
            raise


def tenancy_variants(tenant_column: str = "tenant_id") -> list[Any]:
    """The variants :func:`tenancy_study` compares: each model, and the RLS designs the overhead depends on."""
    from workbench.bench import Variant

    models = {
        "shared": TenancyModel("shared", tenant_column),
        "shared, tenant not leading": TenancyModel("shared", tenant_column, leading=False),
        "rls": TenancyModel("rls", tenant_column),
        "rls, tenant not leading": TenancyModel("rls", tenant_column, leading=False),
        "rls naive (per-row setting, not leading)": TenancyModel("rls", tenant_column, leading=False,
                                                                 predicate="per_row"),
        "schema per tenant": TenancyModel("schemas", tenant_column),
        "database per tenant": TenancyModel("databases", tenant_column),
    }
    return [Variant(name, layout=model) for name, model in models.items()]


def app_policy(schema: Schema, tenant_column: str, tenant_tables: list[str], predicate: str = "initplan") -> Policy:
    """The policy of the RLS model: one application role, all of the tenant tables, read-only shared tables."""
    grants = {t.name: tuple(Grant(p) for p in (("select", "insert", "update", "delete") if t.name in tenant_tables
                                                 else ("select",))) for t in schema.tables}
    return Policy(tenant_column, tuple(tenant_tables), (Role("app", grants),), predicate=predicate).bind(schema)


# -- designs ----------------------------------------------------------------------------------------

def trailing(schema: Schema, column: str) -> Schema:
    """The schema with ``column`` moved last in every primary key and unique constraint, and out of the other
    indexes (where it leaves some other column): the design whose indexes do not start with the tenant."""
    def last(columns: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(c for c in columns if c != column) + ((column,) if column in columns else ())

    def table(t: Table) -> Table:
        indexes = []
        for index in t.indexes:  # an index that loses the column gets the name the exporter gives it
            kept = tuple(e for e in index.elements if e.expression != column or e.is_expression)
            changed = kept and not index.unique and kept != index.elements
            indexes.append(replace(index, elements=kept, name=None) if changed else index)
        return replace(t, primary_key=t.primary_key and PrimaryKey(last(t.primary_key.columns), t.primary_key.name),
                       uniques=tuple(replace(u, columns=last(u.columns)) for u in t.uniques),
                       indexes=tuple(indexes))

    return schema.with_tables(tuple(table(t) for t in schema.tables))


def per_tenant_schemas(schema: Schema, tenant_tables: list[str], tenants: list[int]) -> Schema:
    """The tenant tables once per tenant in schema ``tenant_<id>``, their keys pointing within it."""
    shared = [t for t in schema.tables if t.name not in tenant_tables]
    copies = []
    for tenant in tenants:
        namespace = f"{TENANT_SCHEMA}{tenant}"
        for table in schema.tables:
            if table.name not in tenant_tables:
                continue
            keys = tuple(replace(fk, ref_schema=namespace if fk.ref_table in tenant_tables else fk.ref_schema)
                         for fk in table.foreign_keys)
            copies.append(replace(table, schema=namespace, foreign_keys=keys))
    namespaces = tuple(dict.fromkeys([*schema.schemas, *(f"{TENANT_SCHEMA}{t}" for t in tenants)]))
    return replace(schema, tables=(*shared, *copies), schemas=namespaces)


def split_by_tenant(data: Mapping[str, pa.Table], schema: Schema, column: str,
                    tenant_tables: list[str]) -> dict[str, pa.Table]:
    """The data keyed as :func:`per_tenant_schemas` lays it out: ``tenant_<id>.<table>`` per tenant."""
    split: dict[str, pa.Table] = {}
    tenants = _tenants(data, schema, column, tenant_tables)
    for key, rows in data.items():
        name = schema.table(key).name
        if name not in tenant_tables:
            split[key] = rows
            continue
        for tenant in tenants:
            split[f"{TENANT_SCHEMA}{tenant}.{name}"] = rows.filter(pc.equal(rows[column], tenant))
    return split


def build_databases(model: TenancyModel, server: Server, schema: Schema, data: Mapping[str, pa.Table],
                    tenant_tables: list[str]) -> tuple[Any, list[str]]:
    """A template database with the schema and the shared rows, one copy of it per tenant, each tenant's rows
    copied into its own."""
    home = PostgresEngine.embedded(server)
    try:
        tenant_keys = [k for k in data if schema.table(k).name in tenant_tables]
        shared = {k: v for k, v in data.items() if k not in tenant_keys}
        home.load(schema, {**shared, **{k: data[k].slice(0, 0) for k in tenant_keys}}, progress=False)
        home.execute("VACUUM ANALYZE")
        databases = {}
        try:
            for tenant in _tenants(data, schema, model.tenant_column, tenant_tables):
                databases[tenant] = home.copy_database()
        except BaseException:
            for name in databases.values():
                server.drop_database(name)
            raise
        router = DatabaseRouter(home, model, frozenset(tenant_tables), databases)
        for tenant in databases:
            router.fill(tenant, schema, {k: data[k].filter(pc.equal(data[k][model.tenant_column], tenant))
                                         for k in tenant_keys})
        return router, [f"-- {len(databases)} databases, copies of {home.database} with one tenant's rows each"]
    except BaseException:
        home.close()
        raise


def _tenants(data: Mapping[str, pa.Table], schema: Schema, column: str, tenant_tables: list[str]) -> list[int]:
    """Every tenant id found in the tenant tables (and the table of tenants, when there is one), sorted."""
    found: set[int] = set()
    for key, rows in data.items():
        table = schema.table(key)
        if table.name in tenant_tables or (table.primary_key and table.primary_key.columns == (column,)):
            found |= set(pc.unique(rows[column]).to_pylist())
    if any(not isinstance(t, int) for t in found):
        raise WorkbenchError(f"schemas and databases per tenant are named after integer tenant ids; "
                             f"{column!r} holds other values")
    return sorted(found)


# -- routers: the application's side of each design, off the clock ----------------------------------

@lru_cache(maxsize=8192)
def route(sql_text: str, column: str, tenant_tables: frozenset[str], namespace: str | None = None) -> tuple[Any, str]:
    """``(tenant, statement)``: the tenant of ``column = <literal>`` conditions, the statement without them;
    ``namespace`` (``tenant_``) also qualifies the tenant tables with the tenant's schema."""
    tree = sqlglot.parse_one(sql_text, read="postgres")
    tenants = []

    def strip(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.EQ):
            for side, other in ((node.this, node.expression), (node.expression, node.this)):
                if isinstance(side, exp.Column) and side.name == column and isinstance(other, exp.Literal):
                    tenants.append(other.to_py())
                    return exp.true()
        return node

    tree = _without_true(tree.transform(strip))
    if len(set(tenants)) > 1:
        raise WorkbenchError(f"the query names tenants {sorted(set(tenants))}: a design per tenant serves one "
                             f"tenant per query")
    tenant = tenants[0] if tenants else None
    if namespace is not None and tenant is not None:
        schema = exp.to_identifier(f"{namespace}{tenant}")
        for table in tree.find_all(exp.Table):
            if table.name in tenant_tables and not table.db:
                table.set("db", schema.copy())
    return tenant, tree.sql("postgres")


def _without_true(tree: exp.Expression) -> exp.Expression:
    """``TRUE AND x`` -> ``x``; a WHERE (or join condition) left as TRUE is dropped."""
    def simplify(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.And):
            if node.this == exp.true():
                return node.expression
            if node.expression == exp.true():
                return node.this
        if isinstance(node, exp.Where) and node.this == exp.true():
            return None
        return node

    return tree.transform(simplify)


class _Router(PostgresEngine):
    """An engine whose timed() and explain() first do the application's part of a tenancy design."""

    def __init__(self, owner: PostgresEngine, server: Server, model: TenancyModel, tenant_tables: frozenset[str],
                 database: str | None = None):
        super().__init__(server, server.connect(database or owner.database), database=None)
        self.owner, self.model, self.tenant_tables = owner, model, tenant_tables
        self._created, self._keys = set(owner._created), dict(owner._keys)

    def _prepare(self, sql_text: str) -> tuple[PostgresEngine, str]:
        """The engine that runs the statement for its tenant, and the statement as the design writes it."""
        raise NotImplementedError

    def timed(self, sql_text: str, **options: Any) -> Execution:
        try:
            engine, statement = self._prepare(sql_text)
        except (WorkbenchError, sqlglot.errors.SqlglotError) as error:
            return Execution("error", 0.0, error=str(error))
        return PostgresEngine.timed(engine, statement, **options)

    def explain(self, sql_text: str, analyze: bool = False) -> dict | list:
        engine, statement = self._prepare(sql_text)
        return PostgresEngine.explain(engine, statement, analyze)

    def table_sizes(self) -> pd.DataFrame:
        return self.owner.table_sizes()

    def index_sizes(self) -> pd.DataFrame:
        return self.owner.index_sizes()

    def server_times(self) -> pd.DataFrame:
        return self.owner.server_times()

    def reset_server_times(self) -> None:
        self.owner.reset_server_times()

    def _analyze(self) -> None:
        self.owner.finish()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self.owner.close()


class RoleRouter(_Router):
    """Row-level security: a login of the policy's application role; each query's tenant set for the session
    (``set_config``) before the clock when it changes, its tenant condition left to the policy."""

    def __init__(self, owner: PostgresEngine, model: TenancyModel, tenant_tables: frozenset[str], role: str,
                 setting: str):
        login = create_logins(owner, {"app": role})["app"]
        server = Server(make_conninfo(owner.server.url(owner.database), user=login.user, password=login.password))
        super().__init__(owner, server, model, tenant_tables)
        self.setting, self._tenant = setting, None

    def _prepare(self, sql_text: str) -> tuple[PostgresEngine, str]:
        tenant, statement = route(sql_text, self.model.tenant_column, self.tenant_tables)
        if tenant is not None and tenant != self._tenant:
            self._connection.execute("SELECT set_config(%s, %s, false)", [self.setting, str(tenant)])
            self._tenant = tenant
        return self, statement

    def reconnect(self) -> None:
        super().reconnect()
        self._tenant = None


class SchemaRouter(_Router):
    """A schema per tenant: each query's tenant tables qualified with ``tenant_<id>``, its condition dropped."""

    def __init__(self, owner: PostgresEngine, model: TenancyModel, tenant_tables: frozenset[str]):
        super().__init__(owner, owner.server, model, tenant_tables)

    def _prepare(self, sql_text: str) -> tuple[PostgresEngine, str]:
        return self, route(sql_text, self.model.tenant_column, self.tenant_tables, TENANT_SCHEMA)[1]


class DatabaseRouter(_Router):
    """A database per tenant: each query sent to its tenant's database, its condition dropped; at most
    ``pool`` connections stay open (least recently used closed first), as a bounded pool would. The router
    drops the tenant databases when it closes."""

    def __init__(self, home: PostgresEngine, model: TenancyModel, tenant_tables: frozenset[str],
                 databases: dict[Any, str]):
        super().__init__(home, home.server, model, tenant_tables, database="postgres")  # home stays a template
        self.databases = dict(databases)
        self.onboarded: list[str] = []  # databases of tenants added by onboard(), dropped with the others
        self._open: OrderedDict[Any, PostgresEngine] = OrderedDict()

    def onboard(self) -> float:
        """Seconds to add an empty tenant: a copy of the template database (kept until the router closes)."""
        started = time.perf_counter()
        self.onboarded.append(self.owner.copy_database())
        return time.perf_counter() - started

    def fill(self, tenant: Any, schema: Schema, rows: Mapping[str, pa.Table]) -> None:
        """Copy a tenant's rows into its database (its tables exist: the template had them)."""
        engine = self._engine(tenant)
        engine.load(schema.with_tables(tuple(t for t in schema.tables if t.key in rows)), rows, progress=False)

    def _engine(self, tenant: Any) -> PostgresEngine:
        if tenant not in self.databases:
            raise WorkbenchError(f"tenant {tenant!r} has no database here ({len(self.databases)} tenants)")
        if tenant in self._open:
            self._open.move_to_end(tenant)
            return self._open[tenant]
        while len(self._open) >= self.model.pool:
            self._open.popitem(last=False)[1].close()
        engine = PostgresEngine(self.server, self.server.connect(self.databases[tenant]))
        engine._created, engine._keys = set(self.owner._created), dict(self.owner._keys)
        self._open[tenant] = engine
        return engine

    def _prepare(self, sql_text: str) -> tuple[PostgresEngine, str]:
        tenant, statement = route(sql_text, self.model.tenant_column, self.tenant_tables)
        return self._engine(tenant if tenant is not None else next(iter(self.databases))), statement

    def table_sizes(self) -> pd.DataFrame:
        """Every tenant database's tables, summed per table (the shared tables once per database)."""
        frames = [self.owner.table_sizes(), *(self._engine(tenant).table_sizes() for tenant in list(self.databases))]
        return pd.concat(frames).groupby("table", as_index=False).sum()

    def reconnect(self) -> None:
        super().reconnect()
        self._release()

    def _release(self) -> None:
        while self._open:
            self._open.popitem()[1].close()

    def _close(self) -> None:
        """Drop the tenant databases together: PostgreSQL waits for a checkpoint on each DROP DATABASE, and
        concurrent drops share one."""
        try:
            self._release()
            names = [*self.databases.values(), *self.onboarded]
            with ThreadPoolExecutor(max_workers=max(1, min(DROPS_AT_ONCE, len(names)))) as pool:
                for done in [pool.submit(self.server.drop_database, name) for name in names]:
                    done.result()
        finally:
            super()._close()
