"""Fill a schema with synthetic data: tables in foreign-key order, each column by type, name and spec.

Keys hold by construction: integer primary keys count up, unique columns are drawn without
replacement, foreign keys are sampled from the parent's generated rows (whole tuples for
composite keys), self-references form trees, and cycles are closed once both tables exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.datagen import keys
from workbench.datagen.checks import CheckRules, parse_checks
from workbench.datagen.columns import ColumnRequest, column_values, instant, numbered, sequence_bounds
from workbench.datagen.dataset import Dataset
from workbench.datagen.distributions import parent_rows, rng_for
from workbench.datagen.plan import FKRef, plan, with_partition_keys
from workbench.datagen.spec import DataSpec, ForeignKeySpec
from workbench.datagen.types import resolve_type
from workbench.errors import WorkbenchError
from workbench.progress import tqdm
from workbench.schema.model import Column, ForeignKey, Schema, Table

NULLABLE_FK_NULLS = 0.1  # default share of nulls in a nullable foreign key
NULLABLE_NULLS = 0.05  # default share of nulls in other nullable columns
SELF_REFERENCE_ROOTS = 0.1  # share of rows without a parent in a self-referencing tree
_BOUND = re.compile(r"FROM\s*\((?P<low>.*?)\)\s*TO\s*\((?P<high>.*?)\)", re.IGNORECASE | re.DOTALL)
_LIST_BOUND = re.compile(r"IN\s*\((?P<values>.*)\)", re.IGNORECASE | re.DOTALL)
Columns = dict[str, pa.Array]


def generate(schema: Schema, rows: int | dict[str, int] | None = None, *, scale: str | float | None = None,
             seed: int = 0, spec: DataSpec | None = None, progress: bool = True) -> Dataset:
    """Synthetic, key-consistent data for every table of ``schema`` as Arrow tables.

    ``rows``: an exact row count for every table, or per table (by key or bare name); tables not
    given get their rows from ``spec`` at ``scale`` (a named scale such as "ci" or a multiplier).
    The same ``seed`` gives the same data, bit for bit.
    """
    spec = (spec or DataSpec()).resolve(schema)
    schema, notes = with_partition_keys(schema)
    order = plan(schema)
    counts = _row_counts(schema, rows, scale, spec)
    notes += order.notes
    data: dict[str, Columns] = {}
    with tqdm(total=sum(counts.values()), disable=not progress, desc="generating", unit="rows",
              unit_scale=True) as bar:
        for table in order.order:
            bar.set_postfix_str(table.key, refresh=False)
            builder = _TableBuilder(schema, table, counts[table.key], seed, spec, data, order.deferred, notes)
            data[table.key] = builder.build()
            bar.update(counts[table.key])
    for ref in sorted(order.deferred):
        table = schema.table(ref[0])
        _TableBuilder(schema, table, counts[table.key], seed, spec, data, set(), notes).fill_deferred(ref[1])
    tables = {t.key: _arrow_table(t, data[t.key]) for t in order.order}
    return Dataset(tables, notes, seed)


def _row_counts(schema: Schema, rows: int | dict[str, int] | None, scale: str | float | None,
                spec: DataSpec) -> dict[str, int]:
    exact = {schema.table(name).key: int(n) for name, n in rows.items()} if isinstance(rows, dict) else {}
    counts = {}
    for table in schema.tables:
        if table.key in exact:
            counts[table.key] = exact[table.key]
        elif isinstance(rows, int):
            counts[table.key] = rows
        else:
            counts[table.key] = spec.base_rows(table, scale)
        if counts[table.key] < 0:
            raise WorkbenchError(f"{table.key}: row count must not be negative, got {counts[table.key]}")
    return counts


def _arrow_table(table: Table, columns: Columns) -> pa.Table:
    names = [c.name for c in table.columns if c.name in columns]
    return pa.table({name: columns[name] for name in names})


@dataclass
class _TableBuilder:
    """Generates one table's columns; parents' columns come from ``data``."""

    schema: Schema
    table: Table
    n: int
    seed: int
    spec: DataSpec
    data: dict[str, Columns]
    deferred: set[FKRef]
    notes: list[str]
    columns: Columns = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.infos = {c.name: resolve_type(c.type, self.schema) for c in self.table.columns}
        checks = [(c.expression, None) for c in self.table.checks]
        checks += [(expr, name) for name, info in self.infos.items() for expr in info.checks]
        self.rules: CheckRules = parse_checks(checks, self.schema.dialect)
        self.unique_keys = _unique_keys(self.table)
        self.per_parent = self._per_parent_columns()

    # --- whole table ------------------------------------------------------------------------------------------

    def build(self) -> Columns:
        table = self.table
        for c in table.columns:
            if c.generated:
                self.notes.append(f"{table.key}.{c.name}: generated column ({c.generated}) left to the database")
        for text in self.rules.not_understood:
            self.notes.append(f"{table.key}: CHECK ({text}) is not understood by the generator and may not hold")
        regular, selfrefs, by_fk = self._foreign_key_roles()
        fk_columns = {c for fk in by_fk.values() for c in fk.columns}
        partition_rules = self._partition_ranges()
        for column in table.columns:
            if column.name not in fk_columns and not column.generated and column.name not in self.per_parent:
                self.columns[column.name] = self._values(column, partition_rules.get(column.name, ()))
        self._sample_foreign_keys(regular)
        for index in selfrefs:
            self._self_reference(index)
        waiting = set()
        for index, fk in by_fk.items():
            if (table.key, index) in self.deferred:  # placeholder until every table exists
                for name in fk.columns:
                    self.columns[name] = pa.nulls(self.n, self.infos[name].arrow)
                waiting |= set(fk.columns)
        self._number_per_parent(waiting=waiting)
        self._apply_orderings()
        return self.columns

    def fill_deferred(self, index: int) -> None:
        self.columns = self.data[self.table.key]
        self._sample_foreign_keys([index])
        self._number_per_parent(renumber=set(self.table.foreign_keys[index].columns))

    def _foreign_key_roles(self) -> tuple[list[int], list[int], dict[int, ForeignKey]]:
        """Regular keys (widest first; a key whose columns another already fills is noted), self-references."""
        regular, selfrefs, by_fk, taken = [], [], {}, set()
        ranked = sorted(enumerate(self.table.foreign_keys), key=lambda pair: (-len(pair[1].columns), pair[0]))
        for index, fk in ranked:
            parent = self.schema.referenced_table(fk)
            if parent is None or not all(self.table.has_column(c) for c in fk.columns):
                continue
            if set(fk.columns) & taken:
                self.notes.append(f"{self.table.key}: foreign key ({', '.join(fk.columns)}) -> {fk.ref_key} shares "
                                  "columns with a wider key, which fills them; it holds only if that parent agrees")
                continue
            taken |= set(fk.columns)
            by_fk[index] = fk
            if parent.key == self.table.key:
                selfrefs.append(index)
            elif (self.table.key, index) not in self.deferred:
                regular.append(index)
        return regular, selfrefs, by_fk

    # --- plain columns ----------------------------------------------------------------------------------------

    def _values(self, column: Column, ranges: tuple) -> pa.Array:
        info = self.infos[column.name]
        column_spec = self.spec.column(self.table.key, column.name)
        pk = self.table.primary_key.columns if self.table.primary_key else ()
        fk_columns = {c for fk in self.table.foreign_keys for c in fk.columns}
        own_key = [c for c in pk if c not in fk_columns] == [column.name]  # e.g. order_id of (tenant_id, order_id)
        sequential = (info.family == "int" and column.name not in fk_columns and (own_key or bool(column.identity)
                      or column.autoincrement or "nextval" in (column.default or "")))
        request = self._request(column, self._needs_unique(column.name, column_spec.unique), sequential, ranges)
        values = column_values(request, self.n, rng_for(self.seed, self.table.key, column.name, "values"))
        null_rate = column_spec.null_rate
        if null_rate and not column.nullable:
            raise WorkbenchError(f"{self.spec.source}: null_rate {null_rate} asked for {self.table.key}.{column.name}"
                                 ", which is NOT NULL; remove null_rate or make the column nullable")
        if null_rate is None:
            keyish = column.name in pk or sequential or ranges or any(column.name in k for k in self.unique_keys)
            null_rate = 0.0 if not column.nullable or keyish else NULLABLE_NULLS
        return _with_nulls(values, null_rate, rng_for(self.seed, self.table.key, column.name, "nulls"))

    def _per_parent_columns(self) -> dict[str, tuple[str, ...]]:
        """Integer columns numbered within their parent: the one column a key adds to foreign key columns.

        E.g. ``line_no`` of ``order_items (order_id, line_no)`` counts 1, 2, 3... within each order, and
        ``order_id`` of ``orders (tenant_id, order_id)`` within each tenant. Columns the database numbers
        itself (identity, serial, a sequence default) and columns the spec shapes otherwise keep global numbers.
        """
        fk_columns = {c for fk in self.table.foreign_keys for c in fk.columns}
        found: dict[str, tuple[str, ...]] = {}
        for key in self.unique_keys:
            free = [c for c in key if c not in fk_columns]
            if len(free) != 1 or len(key) < 2 or free[0] in found:
                continue
            column, spec, rule = (self.table.column(free[0]), self.spec.column(self.table.key, free[0]),
                                  self.rules.columns.get(free[0]))
            listed = spec.values is not None or self.infos[column.name].values or (rule and rule.values is not None)
            if (self.infos[column.name].family != "int" or column.identity or column.autoincrement or listed
                    or column.generated or "nextval" in (column.default or "")
                    or spec.dist not in (None, "sequential")):
                continue
            found[column.name] = tuple(c for c in key if c != column.name)
        return found

    def _number_per_parent(self, renumber: frozenset[str] | set[str] = frozenset(),
                           waiting: frozenset[str] | set[str] = frozenset()) -> None:
        """Per-parent numbers for the columns the foreign key sampling has not numbered already.

        ``renumber``: columns a deferred foreign key just filled; ``waiting``: columns still placeholders
        (the numbers wait for them as nulls).
        """
        for name, group in self.per_parent.items():
            if name in self.columns and not renumber & set(group):
                continue
            if waiting & set(group):
                self.columns[name] = pa.nulls(self.n, self.infos[name].arrow)
                continue
            ranks = keys.ranks_within([self.columns[c] for c in group])
            self.columns[name] = numbered(self._request(self.table.column(name)), ranks,
                                          f" within one ({', '.join(group)})")

    def _request(self, column: Column, unique: bool = False, sequential: bool = False,
                 ranges: tuple = ()) -> ColumnRequest:
        return ColumnRequest(self.table.key, self.table.name, column.name, self.infos[column.name],
                             self.spec.column(self.table.key, column.name), self.rules.columns.get(column.name),
                             unique, sequential, ranges)

    def _needs_unique(self, name: str, asked: bool | None) -> bool:
        """Unique alone, or the column picked to carry a multi-column key that foreign keys do not fill.

        In a key with foreign keys, a column whose domain is smaller than the row count is not made
        unique; it joins the foreign keys in sampling distinct tuples instead (see ``_sample_foreign_keys``).
        """
        if asked:
            return True
        fk_columns = {c for fk in self.table.foreign_keys for c in fk.columns}
        for key in self.unique_keys:
            free = [c for c in key if c not in fk_columns]
            if free and name == max(free, key=self._domain):
                return len(free) == len(key) or self._domain(name) >= self.n
        return False

    def _domain(self, name: str) -> float:
        info = self.infos[name]
        rule = self.rules.columns.get(name)
        if info.values or (rule is not None and rule.values is not None):
            return len(info.values or rule.values)  # type: ignore[arg-type]
        if info.family == "bool":
            return 2
        if info.family in ("int", "decimal") and info.high is not None and info.low is not None:
            return (info.high - info.low) * 10 ** (info.scale or 0)
        return float("inf")

    def _partition_ranges(self) -> dict[str, tuple]:
        """Range bounds of the partitions over a single key column, in the column's units."""
        table = self.table
        if not table.partitioning or len(table.partitioning.key) != 1 or not table.partitions:
            return {}
        name = table.partitioning.key[0]
        if name not in self.infos:
            return {}
        family = self.infos[name].family
        ranges, skipped = [], []
        for part in table.partitions:
            match = _BOUND.search(part.bound or "")
            try:
                low, high = (instant(_literal(match[k]), family) for k in ("low", "high")) if match else (None, None)
            except (ValueError, TypeError):
                low = high = None
            if low is None or high is None:
                skipped.append(part.key)
            else:
                ranges.append((low, high))
        if skipped:
            self.notes.append(f"{table.key}: partition bounds of {', '.join(skipped)} are not simple ranges; "
                              f"{name} is generated over the other partitions' ranges" if ranges else
                              f"{table.key}: partition bounds are not simple ranges; {name} is not fitted to them")
        return {name: tuple(ranges)} if ranges and family in ("int", "date", "timestamp") else {}

    # --- foreign keys -----------------------------------------------------------------------------------------

    def _sample_foreign_keys(self, indexes: list[int]) -> None:
        """Parent rows for every key; keys that form a unique key (with small-domain columns) get distinct tuples."""
        pending = list(indexes)
        for key in self.unique_keys:
            group = [i for i in pending if set(self.table.foreign_keys[i].columns) <= set(key)]
            covered = {c for i in group for c in self.table.foreign_keys[i].columns}
            extra = [c for c in key if c not in covered]
            choices = [self._choices(c) for c in extra]
            if group and all(c is not None for c in choices):
                self._distinct_group(group, dict(zip(extra, choices, strict=True)))
                pending = [i for i in pending if i not in group]
        for index in pending:
            fk = self.table.foreign_keys[index]
            parents = self._parent_count(fk)
            rows = parent_rows(self._fk_rng(fk), self.n, parents, self._fk_spec(fk)) if parents else None
            numbered_column = next((c for c, group in self.per_parent.items() if set(group) == set(fk.columns)), None)
            if rows is not None and numbered_column:
                rows = self._grouped_by_parent(fk, rows, parents, numbered_column)
            self._set_foreign_key(fk, rows)

    def _grouped_by_parent(self, fk: ForeignKey, rows: np.ndarray, parents: int, name: str) -> np.ndarray:
        """Children of a parent side by side, numbered 1..k in ``name``; no parent gets more than the type holds."""
        request = self._request(self.table.column(name))
        start, high = sequence_bounds(request)
        counts = np.bincount(rows, minlength=parents)
        what = f"{self.table.key} ({', '.join(fk.columns)}, {name})"
        cap = min(int(high - start) + 1, self.n)
        counts, moved = keys.capped_counts(rng_for(self.seed, self.table.key, name, "cap"), counts, cap, what)
        if moved:
            self.notes.append(f"{what}: {moved} rows moved from parents with more than {cap} "
                              f"children, so that {name} ({request.info.raw}) numbered per parent fits its type")
        rows, ranks = keys.grouped_rows(counts)
        self.columns[name] = numbered(request, ranks)
        return rows

    def _choices(self, name: str) -> pa.Array | None:
        """Every value of a small-domain column of a key (None when it is unique by itself or unbounded)."""
        if name not in self.columns or self._domain(name) >= self.n:
            return None
        info, rule = self.infos[name], self.rules.columns.get(name)
        values = self.spec.column(self.table.key, name).values or (rule.values if rule else None) or info.values
        if values:
            return pa.array(list(values)).cast(info.arrow)
        if info.family == "bool":
            return pa.array([False, True])
        if info.family == "int":
            return pa.array(np.arange(int(info.low), int(info.high) + 1)).cast(info.arrow)  # type: ignore[arg-type]
        return None

    def _distinct_group(self, group: list[int], extra: dict[str, pa.Array]) -> None:
        fks = [self.table.foreign_keys[i] for i in group]
        names = [c for fk in fks for c in fk.columns] + list(extra)
        parents = [self._parent_count(fk) for fk in fks]
        if 0 in parents and self.n:
            for fk in fks:
                self._set_foreign_key(fk, None)
            return
        rows = keys.distinct_parent_rows(
            lambda attempt: rng_for(self.seed, self.table.key, ",".join(names), "unique", str(attempt)),
            self.n, parents + [len(v) for v in extra.values()],
            [self._fk_spec(fk) for fk in fks] + [ForeignKeySpec("uniform")] * len(extra),
            f"{self.table.key} ({', '.join(names)})")
        for fk, chosen in zip(fks, rows, strict=False):
            self._set_foreign_key(fk, chosen, nulls=False)
        for (name, values), chosen in zip(extra.items(), rows[len(fks):], strict=True):
            self.columns[name] = values.take(pa.array(chosen))

    def _set_foreign_key(self, fk: ForeignKey, rows: np.ndarray | None, nulls: bool = True) -> None:
        """Columns of ``fk`` from the chosen parent rows; no rows means no parent exists (nulls or an error)."""
        nullable = all(self.table.column(c).nullable for c in fk.columns)
        if rows is None:
            if self.n and not nullable:
                raise WorkbenchError(f"{self.table.key}: foreign key ({', '.join(fk.columns)}) is NOT NULL but its "
                                     f"parent {fk.ref_key} has 0 rows; give {fk.ref_key} rows or {self.table.key} none")
            for name in fk.columns:
                self.columns[name] = pa.nulls(self.n, self.infos[name].arrow)
            return
        null_rate = self._fk_spec(fk).null_rate
        if null_rate and not nullable:
            raise WorkbenchError(f"{self.spec.source}: null_rate {null_rate} asked for NOT NULL foreign key "
                                 f"{self.table.key}({', '.join(fk.columns)}); remove it or make the key nullable")
        if null_rate is None:
            null_rate = NULLABLE_FK_NULLS if nullable and nulls else 0.0
        mask = _null_mask(self.n, null_rate, rng_for(self.seed, self.table.key, ",".join(fk.columns), "fk-nulls"))
        parent = self.data[self._parent_key(fk)]
        taken = pa.array(rows)
        for name, ref in zip(fk.columns, fk.ref_columns, strict=True):
            values = parent[ref].take(taken).cast(self.infos[name].arrow)
            self.columns[name] = values if mask is None else pc.if_else(mask, pa.scalar(None, values.type), values)

    def _self_reference(self, index: int) -> None:
        """A tree: each row's parent is an earlier row; roots are null, or point at themselves when NOT NULL."""
        fk = self.table.foreign_keys[index]
        nullable = all(self.table.column(c).nullable for c in fk.columns)
        share = self._fk_spec(fk).null_rate
        parents = keys.tree_parents(self._fk_rng(fk), self.n, SELF_REFERENCE_ROOTS if share is None else share)
        roots = parents < 0
        if not nullable and roots.any():
            self.notes.append(f"{self.table.key}: self-reference ({', '.join(fk.columns)}) is NOT NULL, so its "
                              f"{int(roots.sum())} root rows point at themselves")
        rows = pa.array(np.where(roots, np.arange(self.n), parents))
        mask = pa.array(roots) if nullable else None
        for name, ref in zip(fk.columns, fk.ref_columns, strict=True):
            values = self.columns[ref].take(rows).cast(self.infos[name].arrow)
            self.columns[name] = values if mask is None else pc.if_else(mask, pa.scalar(None, values.type), values)

    def _parent_key(self, fk: ForeignKey) -> str:
        return self.schema.referenced_table(fk).key  # type: ignore[union-attr]

    def _parent_count(self, fk: ForeignKey) -> int:
        parent = self.data[self._parent_key(fk)]
        missing = [c for c in fk.ref_columns if c not in parent]
        if missing:
            raise WorkbenchError(f"{self.table.key}: foreign key ({', '.join(fk.columns)}) references "
                                 f"{fk.ref_key}({', '.join(missing)}), which the parent does not have")
        return len(parent[fk.ref_columns[0]])

    def _fk_spec(self, fk: ForeignKey) -> ForeignKeySpec:
        return self.spec.foreign_key(self.table.key, fk.columns, fk.name)

    def _fk_rng(self, fk: ForeignKey) -> np.random.Generator:
        return rng_for(self.seed, self.table.key, ",".join(fk.columns), "fk")

    # --- orderings --------------------------------------------------------------------------------------------

    def _apply_orderings(self) -> None:
        """CHECK (a <= b) between columns, and updated_at >= created_at by convention."""
        pairs = list(self.rules.orderings)
        for low, high in (("created_at", "updated_at"), ("created_at", "modified_at"), ("start_date", "end_date"),
                          ("starts_at", "ends_at"), ("rental_date", "return_date"), ("ordered_at", "shipped_at")):
            if low in self.columns and high in self.columns:
                pairs.append((low, high, False))
        for low, high, strict in pairs:
            if low in self.columns and high in self.columns:
                self.columns[high] = _at_least(self.columns[low], self.columns[high], strict)


def _unique_keys(table: Table) -> list[tuple[str, ...]]:
    found = [table.primary_key.columns] if table.primary_key else []
    found += [u.columns for u in table.uniques]
    found += [i.columns for i in table.indexes if i.unique and i.where is None and "<expr>" not in i.columns]
    return list(dict.fromkeys(k for k in found if k))


def _null_mask(n: int, rate: float, rng: np.random.Generator) -> pa.Array | None:
    return pa.array(rng.random(n) < rate) if rate > 0 and n else None


def _with_nulls(values: pa.Array, rate: float, rng: np.random.Generator) -> pa.Array:
    mask = _null_mask(len(values), rate, rng)
    return values if mask is None else pc.if_else(mask, pa.scalar(None, values.type), values)


def _at_least(low: pa.Array, high: pa.Array, strict: bool) -> pa.Array:
    """``high`` raised to ``low`` (plus one unit when strict) where both are set."""
    if low.type != high.type:
        return high
    bumped = low
    if strict:
        unit = {pa.types.is_timestamp: pa.scalar(1_000_000, pa.duration("us")), pa.types.is_date: None}
        one = next((v for test, v in unit.items() if test(low.type)), pa.scalar(1, low.type))
        if one is None:
            return high
        bumped = pc.add(low, one)
    raised = pc.if_else(pc.less_equal(high, low) if strict else pc.less(high, low), bumped, high)
    return pc.if_else(pc.is_null(low), high, pc.if_else(pc.is_null(high), high, raised))


def _literal(text: str) -> str:
    """The value of a single SQL literal in a partition bound (``'2022-01-01 00:00:00+00'``, ``5``)."""
    text = text.strip()
    if text.upper() in ("MINVALUE", "MAXVALUE") or "," in text:
        raise ValueError(text)
    return text.strip("'")

