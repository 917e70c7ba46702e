"""Design lint rules over a schema model (and its data when loaded): one small function per rule.

Each rule's docstring ends with a runnable example (``python -m doctest`` style); ``lint`` runs
them in the order of ``SCHEMA_RULES``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import NamedTuple

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy

from workbench.advisor.rules import STYLES, Context, Flag, rule
from workbench.ddl.export.names import is_reserved
from workbench.schema.model import Column, Index, IndexElement, Table

MONEY_WORDS = frozenset({"price", "cost", "amount", "amt", "total", "subtotal", "balance", "fee", "fees", "salary",
                         "wage", "wages", "payment", "revenue", "tax", "charge", "freight", "budget", "income",
                         "profit", "acctbal", "money", "paid"})
TZ_DIALECTS = frozenset({"postgres", "duckdb"})  # dialects with a time-zone aware timestamp type
# dialects whose ALTER COLUMN ... TYPE keeps the column's other attributes (MySQL's MODIFY drops them,
# SQLite has none): only there a type change gets a fix
ALTER_TYPE_DIALECTS = frozenset({"postgres", "duckdb"})
TEXT_TYPES = frozenset({exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR,
                        exp.DataType.Type.NVARCHAR, exp.DataType.Type.NCHAR})
LOW_CARDINALITY = {"min_rows": 100, "max_distinct": 20, "min_repeats": 10}


class Key(NamedTuple):
    """An access path of a table: an index, or the index behind a primary key or unique constraint."""

    name: str | None
    elements: tuple[IndexElement, ...]
    unique: bool
    constraint: bool  # a PRIMARY KEY or UNIQUE constraint (dropped with ALTER TABLE, not DROP INDEX)
    method: str = "btree"
    where: str | None = None
    include: tuple[str, ...] = ()
    index: Index | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple("<expr>" if e.is_expression else e.expression for e in self.elements)

    @property
    def label(self) -> str:
        """``primary key``, ``unique constraint NAME`` or ``index NAME`` (its columns when unnamed)."""
        if self.name == "PRIMARY KEY":
            return "primary key"
        kind = "unique constraint" if self.constraint else "index"
        return f"{kind} {self.name}" if self.name else f"{kind} ({', '.join(self.columns)})"


def keys(table: Table) -> list[Key]:
    """The table's primary key, unique constraints and indexes as access paths, in that order."""
    found = []
    if table.primary_key:
        found.append(Key("PRIMARY KEY", _plain(table.primary_key.columns), True, True))
    for unique in table.uniques:
        found.append(Key(unique.name, _plain(unique.columns), True, True))
    found += [index_key(index) for index in table.indexes]
    return found


def index_key(index: Index) -> Key:
    """An index as an access path."""
    return Key(index.name, index.elements, index.unique, False, index.method, index.where, index.include, index)


def _plain(columns: tuple[str, ...]) -> tuple[IndexElement, ...]:
    return tuple(IndexElement(c) for c in columns)


def supports(key: Key, columns: tuple[str, ...]) -> bool:
    """True when ``key`` serves lookups on all of ``columns`` (its leading columns, in any order)."""
    if key.where is not None or key.method not in ("btree", "hash"):
        return False
    if key.method == "hash" and len(key.columns) != 1:
        return False
    return set(key.columns[:len(columns)]) == set(columns)


def sole_foreign_key_support(key: Key, paths: list[Key], table: Table) -> bool:
    """True when ``key`` is the only one of ``paths`` (the table's access paths) serving one of its
    foreign keys: deletes and key updates on the parent look the children up through it."""
    return any(supports(key, fk.columns) and not any(supports(k, fk.columns) for k in paths if k is not key)
               for fk in table.foreign_keys)


def covers(short: Key, long: Key) -> bool:
    """True when b-tree ``long`` serves every lookup and sort b-tree ``short`` serves, on the same rows:
    its keys start with ``short``'s and go further, or are the same with more INCLUDE columns."""
    size = len(short.elements)
    if short.method != "btree" or long.method != "btree" or long.where != short.where or len(long.elements) < size:
        return False
    prefix = long._replace(elements=long.elements[:size])
    if _shape(prefix, size > 1) != _shape(short, size > 1):
        return False
    if len(long.elements) == size:
        return set(short.include) < set(long.include)
    return set(short.include) <= set(long.columns) | set(long.include)


def sql_type(column: Column, dialect: str) -> exp.DataType | None:
    """The column's type parsed by sqlglot, or None for types it does not know (enums, domains)."""
    try:
        return exp.DataType.build(column.type, dialect=dialect)
    except Exception:  # sqlglot raises several types for user-defined or unusual types
        return None


def element_tree(element: IndexElement, dialect: str) -> exp.Expression | None:
    """An index key as a tree: its column, or its expression parsed (None when sqlglot cannot read it)."""
    if not element.is_expression:
        return exp.column(element.expression)
    try:
        return sqlglot.parse_one(element.expression, read=dialect)
    except Exception:  # sqlglot raises several types for expressions it cannot read
        return None


def words(name: str) -> list[str]:
    """``unitPrice`` / ``unit_price`` -> ``["unit", "price"]``."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


@rule("WB101 missing-primary-key", "error")
def missing_primary_key(ctx: Context) -> Iterator[Flag]:
    """A table without a primary key: rows cannot be addressed, replicated or deduplicated reliably.

    >>> from workbench.ddl import import_ddl
    >>> ctx = Context(import_ddl("CREATE TABLE t (id int NOT NULL UNIQUE, v text);").schema)
    >>> [f.fix[0].sql("postgres") for f in missing_primary_key.check(ctx)]
    ['ALTER TABLE public.t ADD PRIMARY KEY (id)']
    """
    for table in ctx.schema.tables:
        if table.primary_key:
            continue
        unique = [k.columns for k in keys(table) if k.unique and k.where is None and "<expr>" not in k.columns]
        candidates = [u for u in unique if all(table.has_column(c) and not table.column(c).nullable for c in u)]
        candidates += [(c.name,) for c in table.columns if c.name.lower() in ("id", f"{table.name.lower()}_id")]
        if not candidates:
            yield Flag(table.key, "has no primary key", (), table)
            continue
        columns = candidates[0]
        if ctx.tenant_column and table.has_column(ctx.tenant_column) and ctx.tenant_column not in columns:
            columns = (ctx.tenant_column, *columns)  # multi-tenant mode: keys lead with the tenant
        add = exp.AddConstraint(expressions=[exp.PrimaryKey(expressions=[ctx.ident(c) for c in columns])])
        yield Flag(table.key, f"has no primary key; ({', '.join(columns)}) looks like one",
                   (exp.Alter(this=ctx.table_expr(table), kind="TABLE", actions=[add]),), table)


@rule("WB102 foreign-key-without-index", "warning")
def foreign_key_without_index(ctx: Context) -> Iterator[Flag]:
    """A foreign key whose columns lead no index: deleting or updating a parent row scans this table,
    and joins from the parent cannot use an index. (Not checked for MySQL: InnoDB creates the index.)

    >>> from workbench.ddl import import_ddl
    >>> ctx = Context(import_ddl("CREATE TABLE p (id int PRIMARY KEY); "
    ...                          "CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p (id));").schema)
    >>> [f.fix[0].sql("postgres") for f in foreign_key_without_index.check(ctx)]
    ['CREATE INDEX c_p_id_idx ON public.c(p_id)']
    """
    if ctx.dialect == "mysql":
        return
    for table in ctx.schema.tables:
        paths = keys(table)
        for fk in table.foreign_keys:
            if any(supports(key, fk.columns) for key in paths):
                continue
            create = ctx.create_index(table, "_".join((table.name, *fk.columns, "idx")), fk.columns)
            yield Flag(f"{table.key} ({', '.join(fk.columns)})",
                       f"foreign key to {fk.ref_key} has no index leading with its columns", (create,), table)


def drop_fix(ctx: Context, table: Table, key: Key) -> tuple[exp.Expression, ...]:
    """``DROP INDEX`` for an index (in its table's schema), or ``ALTER TABLE DROP CONSTRAINT``."""
    if key.name is None or key.name == "PRIMARY KEY":
        return ()
    if key.constraint:
        drop = exp.Drop(kind="CONSTRAINT", tables=[exp.Table(this=ctx.ident(key.name))])
        return (exp.Alter(this=ctx.table_expr(table), kind="TABLE", actions=[drop]),)
    return (exp.Drop(kind="INDEX", tables=[ctx.beside(table, key.name)]),)


def _shape(key: Key, directions: bool = True) -> tuple:
    return tuple((e.expression, e.is_expression, e.opclass, e.collation) + ((e.descending,) if directions else ())
                 for e in key.elements)


@rule("WB103 duplicate-index", "warning")
def duplicate_index(ctx: Context) -> Iterator[Flag]:
    """Two indexes (or an index and a key constraint) on the same keys: every write maintains both
    for nothing. The fix drops the one that enforces nothing (or the later one).

    >>> from workbench.ddl import import_ddl
    >>> ctx = Context(import_ddl("CREATE TABLE t (id int PRIMARY KEY, a int); "
    ...                          "CREATE INDEX t_a ON t (a); CREATE INDEX t_a2 ON t (a);").schema)
    >>> [f.fix[0].sql("postgres") for f in duplicate_index.check(ctx)]
    ['DROP INDEX public.t_a2']
    """
    for table in ctx.schema.tables:
        seen: dict[tuple, Key] = {}
        for key in keys(table):
            signature = (key.method, _shape(key), key.where, tuple(sorted(key.include)))
            first = seen.setdefault(signature, key)
            if first is key:
                continue
            # keys() lists constraints first: a later one is the redundant one, and so is a plain index beside
            # a unique one
            first_goes = not key.constraint and key.unique and not first.unique
            redundant, kept = (first, key) if first_goes else (key, first)
            yield Flag(f"{table.key} {redundant.label}",
                       f"duplicates {kept.label} on ({', '.join(key.columns)})", drop_fix(ctx, table, redundant), table)


@rule("WB104 redundant-prefix-index", "warning")
def redundant_prefix_index(ctx: Context) -> Iterator[Flag]:
    """A non-unique btree index whose keys are a leading prefix of another btree index (or key) on the
    same rows, or the same keys with more INCLUDE columns: the longer one serves the same lookups and sorts.

    >>> from workbench.ddl import import_ddl
    >>> ctx = Context(import_ddl("CREATE TABLE t (a int, b int, PRIMARY KEY (a, b)); "
    ...                          "CREATE INDEX t_a ON t (a);").schema)
    >>> [f.message for f in redundant_prefix_index.check(ctx)]
    ['(a) is a prefix of primary key (a, b)']
    """
    for table in ctx.schema.tables:
        paths = [k for k in keys(table) if k.method == "btree"]
        for short in paths:
            if short.unique or short.constraint:
                continue
            for long in paths:
                if long is not short and covers(short, long):
                    yield Flag(f"{table.key} {short.label}", f"({', '.join(short.columns)}) is a prefix of "
                               f"{long.label} ({', '.join(long.columns)}){_included(long)}",
                               drop_fix(ctx, table, short), table)
                    break


def _included(key: Key) -> str:
    return f" INCLUDE ({', '.join(key.include)})" if key.include else ""


def _alter_type(ctx: Context, table: Table, column: Column, type_: str) -> tuple[exp.Expression, ...]:
    if ctx.dialect not in ALTER_TYPE_DIALECTS:
        return ()
    change = exp.AlterColumn(this=ctx.ident(column.name), dtype=exp.DataType.build(type_, dialect="postgres"))
    return (exp.Alter(this=ctx.table_expr(table), kind="TABLE", actions=[change]),)


@rule("WB105 float-for-money", "warning")
def float_for_money(ctx: Context) -> Iterator[Flag]:
    """A money-like column (price, total, amount, fee...) of a binary floating point type: 0.1 + 0.2
    is not 0.3 there, and sums drift. Exact decimals fix it.

    >>> from workbench.ddl import import_ddl
    >>> ctx = Context(import_ddl("CREATE TABLE t (id int PRIMARY KEY, unit_price real);").schema)
    >>> [f.fix[0].sql("postgres") for f in float_for_money.check(ctx)]
    ['ALTER TABLE public.t ALTER COLUMN unit_price SET DATA TYPE DECIMAL(12, 2)']
    """
    floats = {exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE}
    for table in ctx.schema.tables:
        for column in table.columns:
            kind = sql_type(column, ctx.dialect)
            if kind is not None and kind.this in floats and MONEY_WORDS & set(words(column.name)):
                yield Flag(f"{table.key}.{column.name}", f"holds money in {column.type}, a binary floating point "
                           "type; use an exact numeric", _alter_type(ctx, table, column, "numeric(12,2)"), table)


@rule("WB106 timestamp-without-time-zone", "warning")
def timestamp_without_time_zone(ctx: Context) -> Iterator[Flag]:
    """A ``timestamp`` without time zone: the same moment reads differently per client, and daylight
    saving makes an hour ambiguous. ``timestamptz`` stores the instant (PostgreSQL, DuckDB).

    >>> from workbench.ddl import import_ddl
    >>> ctx = Context(import_ddl("CREATE TABLE t (id int PRIMARY KEY, at timestamp);").schema)
    >>> [f.fix[0].sql("postgres") for f in timestamp_without_time_zone.check(ctx)]
    ['ALTER TABLE public.t ALTER COLUMN "at" SET DATA TYPE TIMESTAMPTZ']
    """
    if ctx.dialect not in TZ_DIALECTS:
        return
    for table in ctx.schema.tables:
        for column in table.columns:
            kind = sql_type(column, ctx.dialect)
            if kind is not None and kind.this in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME):
                yield Flag(f"{table.key}.{column.name}", f"is {column.type}; timestamptz stores the instant "
                           "(existing values are read in the session time zone when converted)",
                           _alter_type(ctx, table, column, "timestamptz"), table)


@rule("WB107 repeating-column-group", "info")
def repeating_column_group(ctx: Context) -> Iterator[Flag]:
    """Numbered columns of one attribute (phone1, phone2, phone3): a repeating group. A child table
    holds any number of them and can be indexed and constrained once (first normal form).

    >>> from workbench.ddl import import_ddl
    >>> ctx = Context(import_ddl("CREATE TABLE c (id int PRIMARY KEY, phone1 text, phone2 text);").schema)
    >>> [f.object for f in repeating_column_group.check(ctx)]
    ['public.c (phone1, phone2)']
    """
    for table in ctx.schema.tables:
        groups: dict[str, list[tuple[int, Column]]] = defaultdict(list)
        for column in table.columns:
            if match := re.match(r"^(.*?[A-Za-z])_?(\d+)$", column.name):
                groups[match.group(1).lower()].append((int(match.group(2)), column))
        for stem, members in groups.items():
            numbers = sorted(n for n, _ in members)
            consecutive = numbers == list(range(numbers[0], numbers[0] + len(numbers)))
            same_type = len({c.type.lower() for _, c in members}) == 1
            if len(members) >= 2 and numbers[0] in (0, 1) and consecutive and same_type:
                names = ", ".join(c.name for _, c in sorted(members, key=lambda m: m[0]))
                yield Flag(f"{table.key} ({names})", f"repeat one attribute ({stem}); a child table "
                           f"{table.name}_{stem}s ({table.name} key, {stem}) holds any number of them", (), table)


@rule("WB108 polymorphic-association", "warning")
def polymorphic_association(ctx: Context) -> Iterator[Flag]:
    """A ``<x>_type`` + ``<x>_id`` pair with no foreign key: the id points into a table named by data,
    so the database cannot enforce it, and every join needs a CASE. Use one nullable foreign key per
    target table (with a CHECK that exactly one is set), or a supertype table. Not flagged when
    ``<x>_id`` is the row's own key or there is a table ``<x>`` (then ``<x>_type`` is x's kind).

    >>> from workbench.ddl import import_ddl
    >>> ctx = Context(import_ddl("CREATE TABLE comments (id int PRIMARY KEY, commentable_type text, "
    ...                          "commentable_id int);").schema)
    >>> [f.object for f in polymorphic_association.check(ctx)]
    ['public.comments (commentable_type, commentable_id)']
    """
    tables = {t.name.lower() for t in ctx.schema.tables}
    for table in ctx.schema.tables:
        in_fk = {c.lower() for fk in table.foreign_keys for c in fk.columns}
        in_key = {c.lower() for k in keys(table) if k.unique for c in k.columns}  # the row's own identifiers
        names = {c.name.lower(): c for c in table.columns}
        for name, column in names.items():
            stem = name.removesuffix("_type")
            partner = names.get(stem + "_id")
            if stem == name or partner is None or name in in_fk or stem + "_id" in in_fk | in_key \
                    or {stem, stem + "s", stem + "es"} & tables:  # x_id points into table x: x_type is its kind
                continue
            kind = sql_type(column, ctx.dialect)
            if kind is None or kind.this in TEXT_TYPES or kind.this == exp.DataType.Type.USERDEFINED:
                yield Flag(f"{table.key} ({column.name}, {partner.name})",
                           f"{partner.name} points into the table named by {column.name}: no foreign key can "
                           "hold it", (), table)


@rule("WB109 tenant-key-missing", "warning")
def tenant_key_missing(ctx: Context) -> Iterator[Flag]:
    """Multi-tenant mode (``tenant_column=``): in a table with the tenant column, the primary key,
    unique constraints, indexes and foreign keys to other tenant tables should include it (leading,
    for indexes), or one tenant's rows mix with every other's; a table without the column that
    references a tenant table probably lacks it.

    >>> from workbench.ddl import import_ddl
    >>> ctx = Context(import_ddl("CREATE TABLE orders (tenant_id int, id int PRIMARY KEY, placed date); "
    ...                          "CREATE INDEX o_placed ON orders (placed);").schema, tenant_column="tenant_id")
    >>> [f.object for f in tenant_key_missing.check(ctx)]
    ['public.orders primary key', 'public.orders index o_placed']
    """
    tenant = ctx.tenant_column
    if tenant is None:
        return
    scoped = {t.key for t in ctx.schema.tables if t.has_column(tenant)
              and not (t.primary_key and t.primary_key.columns == (tenant,))}
    for table in ctx.schema.tables:
        if table.key not in scoped:
            parents = [fk.ref_key for fk in table.foreign_keys
                       if (ref := ctx.schema.referenced_table(fk)) is not None and ref.key in scoped]
            if parents:
                yield Flag(table.key, f"has no {tenant} but references tenant table(s) {', '.join(parents)}", (),
                           table)
            continue
        for key in keys(table):
            leading = key.columns[:1] == (tenant,)
            if (key.constraint and tenant not in key.columns) or (not key.constraint and not leading):
                where = "lead" if not key.constraint else "include"
                yield Flag(f"{table.key} {key.label}", f"({', '.join(key.columns)}) does not {where} {tenant}",
                           _tenant_index(ctx, table, key) if not key.constraint else (), table)
        for fk in table.foreign_keys:
            ref = ctx.schema.referenced_table(fk)
            if ref is not None and ref.key in scoped and tenant not in fk.columns:
                yield Flag(f"{table.key} ({', '.join(fk.columns)})", f"foreign key to tenant table {ref.key} "
                           f"lacks {tenant}: a row can point at another tenant's row", (), table)


def _tenant_index(ctx: Context, table: Table, key: Key) -> tuple[exp.Expression, ...]:
    """The index rebuilt with the tenant column first: drop, then create (same name)."""
    if key.index is None or key.name is None or any(e.is_expression for e in key.elements):
        return ()
    columns = [ctx.tenant_column, *(c for c in key.columns if c != ctx.tenant_column)]
    return (*drop_fix(ctx, table, key), ctx.create_index(table, key.name, columns, unique=key.unique))


@rule("WB110 low-cardinality-text", "info", needs="data")
def low_cardinality_text(ctx: Context) -> Iterator[Flag]:
    """A text column (not a key, no CHECK list) whose loaded data holds a handful of distinct values
    repeated many times: an enum type or a lookup table documents and enforces them (and is smaller).
    Needs a loaded engine (``lint(schema, engine=...)``).

    >>> import pyarrow as pa
    >>> from workbench.ddl import import_ddl
    >>> from workbench.engines import connect
    >>> schema = import_ddl("CREATE TABLE t (id int PRIMARY KEY, status text);").schema
    >>> engine = connect("duckdb")
    >>> _ = engine.load(schema, {"t": pa.table({"id": range(200), "status": ["new", "paid"] * 100})}, progress=False)
    >>> [f.object for f in low_cardinality_text.check(Context(schema, engine=engine))]
    ['public.t.status']
    >>> engine.close()
    """
    places = ctx.engine.places(ctx.schema)
    for table in ctx.schema.tables:
        keyed = {c for k in keys(table) for c in k.columns} | {c for fk in table.foreign_keys for c in fk.columns}
        listed = {c.name for c in table.columns for check in table.checks
                  if re.search(rf"\b{re.escape(c.name)}\b.*\bIN\b", check.expression, re.IGNORECASE | re.DOTALL)}
        columns = [c for c in table.columns if c.name not in keyed | listed
                   and (kind := sql_type(c, ctx.dialect)) is not None and kind.this in TEXT_TYPES]
        if not columns:
            continue
        counts = exp.select(*(agg for c in columns for agg in (
            exp.Count(this=exp.column(c.name, quoted=True)),
            exp.Count(this=exp.Distinct(expressions=[exp.column(c.name, quoted=True)]))))).from_(places[table.key])
        row = ctx.engine.query(counts.sql(ctx.engine.dialect)).iloc[0].tolist()
        for column, rows, distinct in zip(columns, row[::2], row[1::2], strict=True):
            if rows >= LOW_CARDINALITY["min_rows"] and 0 < distinct <= LOW_CARDINALITY["max_distinct"] \
                    and distinct * LOW_CARDINALITY["min_repeats"] <= rows:
                yield Flag(f"{table.key}.{column.name}", f"holds {distinct} distinct values over {rows:,} rows: an "
                           "enum type or a lookup table (with a foreign key) would document and enforce them",
                           _lookup_table(ctx, table, column), table)


def _lookup_table(ctx: Context, table: Table, column: Column) -> tuple[exp.Expression, ...]:
    """A lookup table filled from the column's values, and a foreign key to it (where one can be added)."""
    if ctx.dialect in ("duckdb", "sqlite"):  # no ALTER TABLE ... ADD FOREIGN KEY there
        return ()
    lookup = ctx.beside(table, f"{table.name}_{column.name}")
    name = ctx.ident(column.name)
    create = exp.Create(kind="TABLE", this=exp.Schema(this=lookup, expressions=[
        exp.ColumnDef(this=name, kind=exp.DataType.build(column.type, dialect=ctx.dialect),
                      constraints=[exp.ColumnConstraint(kind=exp.PrimaryKeyColumnConstraint())])]))
    fill = exp.insert(exp.select(exp.column(name)).distinct().from_(ctx.table_expr(table))
                      .where(exp.column(name).is_(exp.null()).not_()), lookup.copy())
    reference = exp.Reference(this=exp.Schema(this=lookup.copy(), expressions=[name.copy()]))
    fk = exp.AddConstraint(expressions=[exp.ForeignKey(expressions=[name.copy()], reference=reference)])
    return create, fill, exp.Alter(this=ctx.table_expr(table), kind="TABLE", actions=[fk])


@rule("WB112 naming-convention", "info")
def naming_convention(ctx: Context) -> Iterator[Flag]:
    """Table, column (and index) names that break the naming convention (``lint(naming=Naming(...))``;
    by default the style most names already follow), or that must be quoted forever: reserved words,
    or letters of the case the dialect folds unquoted names to the other (``"Orders"`` in PostgreSQL).

    >>> from workbench.ddl import import_ddl
    >>> ctx = Context(import_ddl('CREATE TABLE orders (id int PRIMARY KEY, customer_id int, "user" text, '
    ...                          'total_amount numeric, "placedAt" date);').schema)
    >>> [f.message for f in naming_convention.check(ctx)]
    ['columns: user must be quoted in postgres; placedAt must be quoted in postgres, is not snake_case']
    """
    naming, tables = ctx.naming, ctx.schema.tables
    styles = {
        "table": _style(naming.table, [t.name for t in tables]),
        "column": _style(naming.column, [c.name for t in tables for c in t.columns]),
        "index": _style(naming.index, [i.name for t in tables for i in t.indexes if i.name]),
    }
    for table in tables:
        problems = _name_problems(ctx, table.name, styles["table"])
        parts = [f"table name {table.name} {', '.join(problems)}"] if problems else []
        for label, kind, names in (("columns", "column", [c.name for c in table.columns]),
                                   ("indexes", "index", [i.name for i in table.indexes if i.name])):
            odd = [f"{n} {', '.join(p)}" for n in names if (p := _name_problems(ctx, n, styles[kind]))]
            if odd:
                parts.append(f"{label}: {'; '.join(odd)}")
        if parts:
            yield Flag(table.key, "; ".join(parts), (), table)


def _style(setting: str | None, names: list[str]) -> tuple[str, str] | None:
    """``(label, pattern)`` of a Naming setting; ``"auto"`` picks the style most ``names`` follow."""
    if setting is None:
        return None
    if setting == "auto":  # names one style alone accepts decide ("id" fits several)
        fits = [[s for s, pattern in STYLES.items() if re.match(pattern, n)] for n in names]
        votes = Counter(f[0] for f in fits if len(f) == 1)
        setting = max(STYLES, key=lambda s: votes[s])
    return (setting, STYLES[setting]) if setting in STYLES else (f"matching {setting}", setting)


def _name_problems(ctx: Context, name: str, style: tuple[str, str] | None) -> list[str]:
    problems = [f"must be quoted in {ctx.dialect}"] if ctx.naming.reserved and _needs_quotes(name, ctx.dialect) else []
    if style is not None and not re.search(style[1], name):
        problems.append(f"is not {style[0]}")
    return problems


def _needs_quotes(name: str, dialect: str) -> bool:
    """True for reserved words, unusual characters, or letters of the case the dialect folds away."""
    if not exp.SAFE_IDENTIFIER_RE.match(name) or is_reserved(name, dialect):
        return True
    folds = {NormalizationStrategy.LOWERCASE: str.lower, NormalizationStrategy.UPPERCASE: str.upper}
    fold = folds.get(Dialect.get_or_raise(dialect).normalization_strategy)
    return fold is not None and fold(name) != name
