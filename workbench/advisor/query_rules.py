"""Query lint rules over a workload: patterns that defeat indexes, paginate badly or answer wrongly.

Each rule reads the workload's queries resolved against the schema (``ctx.queries``) and yields
one Flag per query (object ``query <name>``).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from workbench.advisor.resolve import Resolved, as_written, conjuncts, own_columns
from workbench.advisor.rules import Context, Flag, rule
from workbench.advisor.schema_rules import element_tree, keys
from workbench.schema.model import Table

COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In, exp.Between, exp.Like, exp.ILike)


def _flag(resolved: Resolved, message: str, fix: tuple[exp.Expression, ...] = ()) -> Flag:
    return Flag(f"query {resolved.query.name}", message, fix, resolved.query)


def _pattern_starts_with_wildcard(pattern: exp.Expression) -> bool:
    while isinstance(pattern, (exp.DPipe, exp.Concat)):  # '%' || :term || '%'
        pattern = pattern.this if isinstance(pattern, exp.DPipe) else pattern.expressions[0]
    return isinstance(pattern, exp.Literal) and pattern.is_string and pattern.this[:1] in ("%", "_")


@rule("WB201 leading-wildcard-like", "warning", needs="workload")
def leading_wildcard_like(ctx: Context) -> Iterator[Flag]:
    """``LIKE '%term'``: a pattern that starts with a wildcard cannot use a btree index, so every row
    is read. A trigram GIN index (PostgreSQL ``pg_trgm``) serves it; the fix creates one.

    >>> from workbench.ddl import import_ddl
    >>> from workbench.workload import Workload
    >>> schema = import_ddl("CREATE TABLE p (id int PRIMARY KEY, name text);").schema
    >>> ctx = Context(schema, workload=Workload.from_text("SELECT id FROM p WHERE name LIKE '%ab%';"))
    >>> [f.fix[0].sql("postgres") for f in leading_wildcard_like.check(ctx)]
    ['CREATE INDEX p_name_trgm_idx ON public.p USING gin(name gin_trgm_ops)']
    """
    for resolved in ctx.queries:
        for like in resolved.original.find_all(exp.Like, exp.ILike):
            if not _pattern_starts_with_wildcard(like.expression):
                continue
            target = _column_of(resolved, like.this)
            fix = ()
            if target is not None and ctx.dialect == "postgres":
                table, column = target
                element = exp.Opclass(this=exp.column(ctx.ident(column)), expression=exp.var("gin_trgm_ops"))
                fix = (ctx.create_index(table, f"{table.name}_{column}_trgm_idx", [element], using="gin"),)
            shown = as_written(like).sql(resolved.query.dialect)
            yield _flag(resolved, f"{shown}: a leading wildcard reads every row", fix)
            break


def _column_of(resolved: Resolved, node: exp.Expression) -> tuple[Table, str] | None:
    """The schema table and column a bare column expression of the original query reads, if known."""
    if not isinstance(node, exp.Column):
        return None
    for scope in resolved.scopes():
        for column in scope.columns:
            if column.name == node.name and (not node.table or column.table == node.table) \
                    and (table := resolved.column_table(column, scope)) is not None:
                return table, column.name
    if (table := resolved.column_table(node, None)) is not None:
        return table, node.name
    return None


@rule("WB202 select-star", "warning", needs="workload")
def select_star(ctx: Context) -> Iterator[Flag]:
    """``SELECT *``: reads and sends every column (no index-only scan), and changes meaning when a
    column is added. The fix lists the columns from the schema.

    >>> from workbench.ddl import import_ddl
    >>> from workbench.workload import Workload
    >>> schema = import_ddl("CREATE TABLE p (id int PRIMARY KEY, name text);").schema
    >>> ctx = Context(schema, workload=Workload.from_text("SELECT * FROM p WHERE id = 1;"))
    >>> [f.fix[0].sql("postgres") for f in select_star.check(ctx)]
    ['SELECT id, name FROM p WHERE id = 1']
    """
    for resolved in ctx.queries:
        original = resolved.original
        stars = [s for s in original.find_all(exp.Select) if s.is_star and s.find_ancestor(exp.Exists) is None]
        if not stars:
            continue
        fix = ()
        top = resolved.tree
        if top is not None and isinstance(original, exp.Select) and stars[0] is original and len(stars) == 1:
            single = not original.args.get("joins")
            columns = [_bare(p, single) for p in top.expressions]
            fix = (as_written(original.copy().select(*columns, append=False)),)
        yield _flag(resolved, "SELECT * reads every column; name the columns the caller uses", fix)


def _bare(projection: exp.Expression, single_source: bool) -> exp.Expression:
    """``t.a AS a`` -> ``t.a`` (or ``a`` when the query reads one source)."""
    if isinstance(projection, exp.Alias) and isinstance(projection.this, exp.Column) \
            and projection.alias == projection.this.name:
        column = projection.this.copy()
        return exp.column(column.args["this"]) if single_source else column
    return projection.copy()


def _indexed(table: Table) -> set[str]:
    """Columns that are a key of some index (or key constraint) of the table."""
    return {c for k in keys(table) for c in k.columns if c != "<expr>"}


def _expression_indexes(table: Table, dialect: str) -> set[str]:
    """The normalized SQL of the table's expression index keys (to recognise a matching predicate)."""
    return {tree.sql("postgres").lower() for index in table.indexes for element in index.elements
            if element.is_expression and (tree := element_tree(element, dialect)) is not None}


@rule("WB203 function-on-indexed-column", "warning", needs="workload")
def function_on_indexed_column(ctx: Context) -> Iterator[Flag]:
    """A function or cast around an indexed column in a filter (``WHERE lower(email) = ...``,
    ``WHERE created_at::date = ...``): the index on the bare column cannot be used. Compare the bare
    column (a range instead of a truncation), or add an expression index; the fix creates one.

    >>> from workbench.ddl import import_ddl
    >>> from workbench.workload import Workload
    >>> schema = import_ddl("CREATE TABLE u (id int PRIMARY KEY, email text UNIQUE);").schema
    >>> ctx = Context(schema, workload=Workload.from_text("SELECT id FROM u WHERE lower(email) = 'a';"))
    >>> [f.fix[0].sql("postgres") for f in function_on_indexed_column.check(ctx)]
    ['CREATE INDEX u_email_expr_idx ON public.u((LOWER(email)))']
    """
    for resolved in ctx.queries:
        for condition, scope in resolved.filters():
            found = _wrapped_indexed_column(ctx, resolved, condition, scope)
            if found is not None:
                wrapper, table, column = found
                bare = wrapper.transform(lambda n: exp.column(ctx.ident(n.name)) if isinstance(n, exp.Column) else n)
                create = ctx.create_index(table, f"{table.name}_{column}_expr_idx", [exp.Paren(this=bare)])
                shown = as_written(wrapper).sql(resolved.query.dialect)
                yield _flag(resolved, f"{shown} hides indexed column {table.key}.{column} from its index", (create,))
                break


def _wrapped_indexed_column(ctx: Context, resolved: Resolved, condition: exp.Expression,
                            scope: Scope | None) -> tuple[exp.Expression, Table, str] | None:
    for predicate in conjuncts(condition):
        if not isinstance(predicate, COMPARISONS):
            continue
        for side in (predicate.this, predicate.args.get("expression")):
            if not isinstance(side, (exp.Func, exp.Cast)) or isinstance(side, exp.AggFunc) or side.find(exp.Select):
                continue
            columns = list(own_columns(side))
            if len(columns) != 1:
                continue
            table = resolved.column_table(columns[0], scope)
            if table is None or columns[0].name not in _indexed(table):
                continue
            bare = side.transform(lambda n: exp.column(n.name) if isinstance(n, exp.Column) else n)
            if bare.sql("postgres").lower() not in _expression_indexes(table, ctx.dialect):
                return side, table, columns[0].name
    return None


@rule("WB204 or-across-columns", "info", needs="workload")
def or_across_columns(ctx: Context) -> Iterator[Flag]:
    """``WHERE a = 1 OR b = 2``: an OR whose branches filter different columns cannot use one index
    range; the planner scans, or combines two indexes at best. A UNION of two indexed queries, or an
    index per branch, serves it.

    >>> from workbench.ddl import import_ddl
    >>> from workbench.workload import Workload
    >>> schema = import_ddl("CREATE TABLE u (id int PRIMARY KEY, email text, phone text);").schema
    >>> ctx = Context(schema, workload=Workload.from_text("SELECT id FROM u WHERE email = 'a' OR phone = 'b';"))
    >>> [f.message for f in or_across_columns.check(ctx)]
    ['OR across different columns: (u.email) | (u.phone)']
    """
    for resolved in ctx.queries:
        for condition, _ in resolved.filters():
            for predicate in conjuncts(condition):
                if not isinstance(predicate, exp.Or):
                    continue
                branches = conjuncts(predicate, exp.Or)
                column_sets = [frozenset(c.sql() for c in own_columns(b)) for b in branches]
                if all(column_sets) and len(set(column_sets)) > 1:
                    shown = " | ".join(f"({', '.join(sorted(s))})" for s in dict.fromkeys(column_sets))
                    yield _flag(resolved, f"OR across different columns: {shown}")
                    break


@rule("WB205 offset-pagination", "warning", needs="workload")
def offset_pagination(ctx: Context) -> Iterator[Flag]:
    """``OFFSET n``: the database reads and throws away n rows for every page, so deep pages get
    slower and rows shift between pages as data changes. Keyset pagination (``WHERE (sort_key, id) <
    (:last_key, :last_id) ... LIMIT n``) reads one page.

    >>> from workbench.ddl import import_ddl
    >>> from workbench.workload import Workload
    >>> schema = import_ddl("CREATE TABLE p (id int PRIMARY KEY);").schema
    >>> ctx = Context(schema, workload=Workload.from_text("SELECT id FROM p ORDER BY id LIMIT 20 OFFSET 40;"))
    >>> len(list(offset_pagination.check(ctx)))
    1
    """
    for resolved in ctx.queries:
        if any(offset.expression is not None for offset in resolved.original.find_all(exp.Offset)):
            yield _flag(resolved, "OFFSET pagination reads and discards every skipped row; paginate by key")


@rule("WB206 not-in-nullable-subquery", "error", needs="workload")
def not_in_nullable_subquery(ctx: Context) -> Iterator[Flag]:
    """``x NOT IN (SELECT c ...)`` where ``c`` is nullable: one NULL makes the whole condition unknown
    and the query returns no rows. ``NOT EXISTS`` means what was intended; the fix filters the NULLs.

    >>> from workbench.ddl import import_ddl
    >>> from workbench.workload import Workload
    >>> schema = import_ddl("CREATE TABLE a (id int PRIMARY KEY); "
    ...                     "CREATE TABLE b (id int PRIMARY KEY, a_id int);").schema
    >>> ctx = Context(schema, workload=Workload.from_text("SELECT id FROM a WHERE id NOT IN (SELECT a_id FROM b);"))
    >>> [f.fix[0].sql("postgres") for f in not_in_nullable_subquery.check(ctx)]
    ['SELECT id FROM a WHERE NOT id IN (SELECT a_id FROM b WHERE NOT a_id IS NULL)']
    """
    for resolved in ctx.queries:
        if resolved.tree is None:
            continue
        nullable = _nullable_subqueries(resolved)
        if not nullable:
            continue
        column = nullable[0]
        fix = resolved.original.copy()
        for subquery in fix.find_all(exp.Select):
            projection = subquery.expressions[0] if len(subquery.expressions) == 1 else None
            if projection is not None and _under_not_in(subquery) and projection.alias_or_name == column:
                subquery.where(exp.column(projection.alias_or_name, table=projection.args.get("table"))
                               .is_(exp.null()).not_(), copy=False)
        yield _flag(resolved, f"NOT IN over a subquery of nullable {column}: one NULL there and no row qualifies",
                    (as_written(fix),))


def _under_not_in(select: exp.Select) -> bool:
    """True for the SELECT of ``x NOT IN (SELECT ...)``."""
    in_ = select.parent.parent if isinstance(select.parent, exp.Subquery) else select.parent
    return isinstance(in_, exp.In) and isinstance(in_.parent, exp.Not)


def _nullable_subqueries(resolved: Resolved) -> list[str]:
    """Columns of ``NOT IN (SELECT column ...)`` subqueries that the schema allows to be NULL."""
    found = []
    scopes = {id(s.expression): s for s in resolved.scopes()}
    for select in resolved.tree.find_all(exp.Select):
        if not _under_not_in(select) or len(select.expressions) != 1:
            continue
        projection = select.expressions[0].unalias()
        scope = scopes.get(id(select))
        if isinstance(projection, exp.Column) and scope is not None:
            table = resolved.column_table(projection, scope)
            if table is not None and table.has_column(projection.name) and table.column(projection.name).nullable \
                    and not _filters_nulls(select, projection.name):
                found.append(projection.name)
    return found


def _filters_nulls(select: exp.Select, column: str) -> bool:
    where = select.args.get("where")
    if where is None:
        return False
    for predicate in conjuncts(where.this):
        test = predicate.this if isinstance(predicate, exp.Not) else predicate
        negated = isinstance(predicate, exp.Not) != bool(test.args.get("negate"))
        if negated and isinstance(test, exp.Is) and isinstance(test.this, exp.Column) and test.this.name == column:
            return True
    return False


@rule("WB207 order-by-without-limit", "info", needs="workload")
def order_by_without_limit(ctx: Context) -> Iterator[Flag]:
    """A parameterised (API) query that sorts rows without a LIMIT: the response grows with the data
    and the sort reads it all. Analytic queries (no parameters, or aggregates) are left alone.

    >>> from workbench.ddl import import_ddl
    >>> from workbench.workload import Workload
    >>> schema = import_ddl("CREATE TABLE o (id int PRIMARY KEY, c int, at date);").schema
    >>> text = "-- params: c = between(1, 9)\\nSELECT id FROM o WHERE c = :c ORDER BY at;"
    >>> len(list(order_by_without_limit.check(Context(schema, workload=Workload.from_text(text)))))
    1
    """
    for resolved in ctx.queries:
        select = resolved.original
        if not isinstance(select, exp.Select) or not select.find(exp.Placeholder):
            continue
        aggregated = select.args.get("group") or any(p.find(exp.AggFunc) for p in select.expressions)
        if select.args.get("order") and not select.args.get("limit") and not select.args.get("fetch") \
                and not aggregated:
            yield _flag(resolved, "sorts an unbounded result: add LIMIT (and paginate by key)")


@rule("WB208 missing-join-condition", "error", needs="workload")
def missing_join_condition(ctx: Context) -> Iterator[Flag]:
    """Two sources of one FROM with no condition linking them (directly or through others): a
    cartesian product, almost always a forgotten join condition. An explicit CROSS JOIN is left alone.

    >>> from workbench.ddl import import_ddl
    >>> from workbench.workload import Workload
    >>> schema = import_ddl("CREATE TABLE a (id int PRIMARY KEY); "
    ...                     "CREATE TABLE b (id int PRIMARY KEY, a_id int);").schema
    >>> ctx = Context(schema, workload=Workload.from_text("SELECT a.id FROM a, b WHERE b.id = 1;"))
    >>> [f.message for f in missing_join_condition.check(ctx)]
    ['no condition joins a to b: a cartesian product']
    """
    for resolved in ctx.queries:
        for scope in resolved.scopes():
            groups = _unjoined(scope)
            if groups:
                shown = [g[0] if len(g) == 1 else f"({', '.join(g)})" for g in groups]
                yield _flag(resolved, f"no condition joins {' to '.join(shown)}: a cartesian product")
                break


def _unjoined(scope: Scope) -> list[list[str]]:
    """The groups of sources (in FROM order) of a SELECT scope that no condition connects; [] if joined."""
    select = scope.expression
    if not isinstance(select, exp.Select) or not select.args.get("from_"):
        return []
    joins = select.args.get("joins") or []
    names = [s.alias_or_name for s in (select.args["from_"].this, *(j.this for j in joins))]
    if len(names) < 2:
        return []
    parent = {n: n for n in names}

    def find(n: str) -> str:
        while parent[n] != n:
            n = parent[n]
        return n

    def link(node: exp.Expression) -> None:
        touched = [c.table for c in own_columns(node) if c.table in parent]
        for other in touched[1:]:
            parent[find(other)] = find(touched[0])

    for join in joins:
        if join.args.get("kind", "").upper() == "CROSS" or join.args.get("using") or join.this.find(exp.Lateral) \
                or isinstance(join.this, (exp.Lateral, exp.Unnest)) or join.args.get("method"):
            parent[find(join.this.alias_or_name)] = find(names[0])
        if on := join.args.get("on"):
            link(on)
    if where := select.args.get("where"):
        for predicate in conjuncts(where.this):
            link(predicate)
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(find(name), []).append(name)
    return list(groups.values()) if len(groups) > 1 else []
