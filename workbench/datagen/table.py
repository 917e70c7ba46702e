"""One table's data, block by block: columns by type, name and spec; keys that hold across blocks.

Keys hold by construction: integer primary keys count up, unique columns are drawn without
replacement (each block from its own share of the values), foreign keys are sampled from the
parent's key space (whole tuples for composite keys), self-references form trees, and cycles are
closed once the parent's keys are known.

A :class:`TableState` holds what every block of a table shares (types, checks, key roles, the
fan-out of each foreign key, children per parent, running counts); a :class:`BlockBuilder` makes
one block's columns from it. Tables of one block are generated exactly as before blocks existed;
larger ones differ where a whole-table step had to become a per-block one (see ``docs`` in
:mod:`workbench.datagen.blocks`): tuples of a unique key over foreign keys are grouped by their
leading parent, and values drawn without replacement come from each block's share of the range.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.datagen import keys
from workbench.datagen.blocks import Rows, table_blocks
from workbench.datagen.checks import CheckRules, parse_checks
from workbench.datagen.columns import ColumnRequest, column_values, instant, numbered, sequence_bounds
from workbench.datagen.distributions import rng_for
from workbench.datagen.spec import ForeignKeySpec
from workbench.datagen.types import resolve_type
from workbench.errors import WorkbenchError
from workbench.schema.model import Column, ForeignKey, Table

if TYPE_CHECKING:
    from workbench.datagen.generate import Generation

NULLABLE_FK_NULLS = 0.1  # default share of nulls in a nullable foreign key
NULLABLE_NULLS = 0.05  # default share of nulls in other nullable columns
SELF_REFERENCE_ROOTS = 0.1  # share of rows without a parent in a self-referencing tree
_BOUND = re.compile(r"FROM\s*\((?P<low>.*?)\)\s*TO\s*\((?P<high>.*?)\)", re.IGNORECASE | re.DOTALL)
Columns = dict[str, pa.Array]


class TableState:
    """What every block of one table shares; built once per table and generation."""

    def __init__(self, generation: Generation, table: Table, n: int):
        self.generation, self.table, self.n = generation, table, n
        self.schema, self.seed, self.spec = generation.schema, generation.seed, generation.spec
        self.blocks = table_blocks(n, generation.block_rows)
        self.notes: list[str] = [f"{table.key}.{c.name}: generated column ({c.generated}) left to the database"
                                 for c in table.columns if c.generated]
        self.infos = {c.name: resolve_type(c.type, self.schema) for c in table.columns}
        checks = [(c.expression, None) for c in table.checks]
        checks += [(expr, name) for name, info in self.infos.items() for expr in info.checks]
        self.rules: CheckRules = parse_checks(checks, self.schema.dialect)
        self.notes += [f"{table.key}: CHECK ({text}) is not understood by the generator and may not hold"
                       for text in self.rules.not_understood]
        self.unique_keys = _unique_keys(table)
        self.per_parent = self._per_parent_columns()
        self.regular, self.selfrefs, self.by_fk = self._foreign_key_roles()
        self.deferred = sorted(i for i in self.by_fk if (table.key, i) in generation.deferred)
        self.partition_rules = self._partition_ranges()
        self._fanouts: dict[int, keys.FanOut] = {}
        self._grouped: dict[tuple, keys.GroupedChildren] = {}
        self._running: dict[str, keys.RunningCounts] = {}
        self._counted: dict[str, int] = {}
        self._root_rows = 0

    @property
    def columns(self) -> list[Column]:
        """The columns the generator fills (generated columns are the database's)."""
        return [c for c in self.table.columns if not c.generated]

    def finish_notes(self) -> list[str]:
        """The table's notes, with what its blocks counted."""
        notes = list(self.notes)
        if self._root_rows:
            fk = self.table.foreign_keys[self.selfrefs[0]]
            notes.append(f"{self.table.key}: self-reference ({', '.join(fk.columns)}) is NOT NULL, so its "
                         f"{self._root_rows} root rows point at themselves")
        return notes

    # --- what blocks share ------------------------------------------------------------------------------------

    def request(self, column: Column, unique: bool = False, sequential: bool = False,
                ranges: tuple = ()) -> ColumnRequest:
        return ColumnRequest(self.table.key, self.table.name, column.name, self.infos[column.name],
                             self.spec.column(self.table.key, column.name), self.rules.columns.get(column.name),
                             unique, sequential, ranges)

    def sequential(self, column: Column) -> bool:
        """True for an integer key the database would number (primary key of its own, identity, serial)."""
        info = self.infos[column.name]
        pk = self.table.primary_key.columns if self.table.primary_key else ()
        fk_columns = {c for fk in self.table.foreign_keys for c in fk.columns}
        own_key = [c for c in pk if c not in fk_columns] == [column.name]  # e.g. order_id of (tenant_id, order_id)
        return (info.family == "int" and column.name not in fk_columns and (own_key or bool(column.identity)
                or column.autoincrement or "nextval" in (column.default or "")))

    def counted(self, column: Column) -> ColumnRequest | None:
        """The request whose numbers 1, 2, 3... at row positions are exactly this column's values, if so.

        Then a child's foreign key reads the parent's key from its positions, without the parent's data.
        """
        name = column.name
        if (column.generated or name in self.per_parent or name in {c for fk in self.by_fk.values() for c in fk.columns}
                or name in {high for _, high, _ in self._orderings()}):
            return None
        request = self.request(column, sequential=self.sequential(column))
        if request.info.family != "int" or keys_listed(request):
            return None
        if not (request.sequential or request.spec.dist == "sequential"):
            return None
        return request if self.null_rate(column, request.sequential) == 0 else None

    def null_rate(self, column: Column, sequential: bool, ranges: tuple = ()) -> float:
        column_spec = self.spec.column(self.table.key, column.name)
        null_rate = column_spec.null_rate
        if null_rate and not column.nullable:
            raise WorkbenchError(f"{self.spec.source}: null_rate {null_rate} asked for {self.table.key}.{column.name}"
                                 ", which is NOT NULL; remove null_rate or make the column nullable")
        if null_rate is None:
            pk = self.table.primary_key.columns if self.table.primary_key else ()
            keyish = column.name in pk or sequential or ranges or any(column.name in k for k in self.unique_keys)
            null_rate = 0.0 if not column.nullable or keyish else NULLABLE_NULLS
        return null_rate

    def parent_count(self, fk: ForeignKey) -> int:
        parent = self.schema.referenced_table(fk)
        missing = [c for c in fk.ref_columns if not parent.has_column(c) or parent.column(c).generated]
        if missing:
            raise WorkbenchError(f"{self.table.key}: foreign key ({', '.join(fk.columns)}) references "
                                 f"{fk.ref_key}({', '.join(missing)}), which the parent does not have")
        return self.generation.counts[parent.key]

    def fk_spec(self, fk: ForeignKey) -> ForeignKeySpec:
        return self.spec.foreign_key(self.table.key, fk.columns, fk.name)

    def fanout(self, index: int) -> keys.FanOut:
        """The fan-out of foreign key ``index``, shared by every block."""
        if index not in self._fanouts:
            fk = self.table.foreign_keys[index]
            names = (self.table.key, ",".join(fk.columns), "fk")
            self._fanouts[index] = keys.FanOut(self.fk_spec(fk), self.parent_count(fk), self.blocks[0].count,
                                               lambda block: self.blocks[block].rng(self.seed, *names))
        return self._fanouts[index]

    def grouped(self, index: int, name: str) -> keys.GroupedChildren:
        """Children of foreign key ``index`` kept together by parent and numbered 1..k in ``name``.

        Counts per parent come from every block's draws; no parent gets more than ``name``'s type holds.
        """
        if (index, name) not in self._grouped:
            fk, fanout = self.table.foreign_keys[index], self.fanout(index)
            counts = np.zeros(fanout.parents, dtype=np.int64)
            for rows in self.blocks:
                counts += np.bincount(fanout.rows(rows.index, rows.count), minlength=fanout.parents)
            request = self.request(self.table.column(name))
            start, high = sequence_bounds(request)
            what = f"{self.table.key} ({', '.join(fk.columns)}, {name})"
            cap = min(int(high - start) + 1, self.n)
            counts, moved = keys.capped_counts(rng_for(self.seed, self.table.key, name, "cap"), counts, cap, what)
            if moved:
                self.notes.append(f"{what}: {moved} rows moved from parents with more than {cap} "
                                  f"children, so that {name} ({request.info.raw}) numbered per parent fits its type")
            self._grouped[(index, name)] = keys.GroupedChildren(counts)
        return self._grouped[(index, name)]

    def leading_children(self, index: int, cap: int, what: str) -> keys.GroupedChildren:
        """Children of foreign key ``index`` kept together by parent, at most ``cap`` per parent."""
        if (index, cap) not in self._grouped:
            fanout = self.fanout(index)
            if fanout.parents * cap < self.n:
                raise WorkbenchError(f"{what}: {self.n} unique rows asked but the parents allow only "
                                     f"{fanout.parents} x {cap} = {fanout.parents * cap} distinct combinations; "
                                     "generate fewer rows or more parent rows")
            counts = np.zeros(fanout.parents, dtype=np.int64)
            for rows in self.blocks:
                counts += np.bincount(fanout.rows(rows.index, rows.count), minlength=fanout.parents)
            rng = rng_for(self.seed, self.table.key, what, "cap")
            self._grouped[(index, cap)] = keys.GroupedChildren(keys.capped_counts(rng, counts, cap, what)[0])
        return self._grouped[(index, cap)]

    def rank_offsets(self, name: str, block: int, groups: list[pa.Array]) -> np.ndarray:
        """Rows of each row's group in the blocks before ``block`` (numbers within a group go on across blocks).

        Blocks are counted in order; a block asked out of order (a shard) first counts the blocks before it.
        """
        if len(self.blocks) == 1:
            return np.zeros(len(groups[0]), dtype=np.int64)
        if self._counted.get(name, 0) != block:
            self._running, self._counted = {}, {}
            for rows in self.blocks[:block]:
                BlockBuilder(self, rows).build()
        running = self._running.setdefault(name, keys.RunningCounts())
        offsets = running.offsets(groups)
        running.add(groups)
        self._counted[name] = block + 1
        return offsets

    def count_roots(self, rows: int) -> None:
        self._root_rows += rows

    # --- roles, computed once -----------------------------------------------------------------------------------

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
            elif (self.table.key, index) not in self.generation.deferred:
                regular.append(index)
        return regular, selfrefs, by_fk

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

    def _orderings(self) -> list[tuple[str, str, bool]]:
        """CHECK (a <= b) between columns, and updated_at >= created_at by convention: (low, high, strict)."""
        names = {c.name for c in self.columns}
        pairs = list(self.rules.orderings)
        for low, high in (("created_at", "updated_at"), ("created_at", "modified_at"), ("start_date", "end_date"),
                          ("starts_at", "ends_at"), ("rental_date", "return_date"), ("ordered_at", "shipped_at")):
            if low in names and high in names:
                pairs.append((low, high, False))
        return pairs


def keys_listed(request: ColumnRequest) -> bool:
    """True when the column's values come from a list (spec values, CHECK IN, enum labels)."""
    return (request.spec.values is not None or bool(request.info.values)
            or (request.rule is not None and request.rule.values is not None))


class BlockBuilder:
    """Generates one block's columns of one table; parents' keys come from the generation."""

    def __init__(self, state: TableState, rows: Rows):
        self.state, self.rows, self.n = state, rows, rows.count
        self.table, self.infos = state.table, state.infos
        self.columns: Columns = {}

    def build(self) -> Columns:
        state = self.state
        fk_columns = {c for fk in state.by_fk.values() for c in fk.columns}
        for column in state.columns:
            if column.name not in fk_columns and column.name not in state.per_parent:
                self.columns[column.name] = self._values(column, state.partition_rules.get(column.name, ()))
        self._sample_foreign_keys(state.regular)
        for index in state.selfrefs:
            self._self_reference(index)
        for index in state.deferred:
            self._sample_foreign_keys([index])
        self._number_per_parent()
        self._apply_orderings()
        return self.columns

    def _rng(self, *names: str) -> np.random.Generator:
        return self.rows.rng(self.state.seed, self.table.key, *names)

    # --- plain columns ----------------------------------------------------------------------------------------

    def _values(self, column: Column, ranges: tuple) -> pa.Array:
        state = self.state
        sequential = state.sequential(column)
        column_spec = state.spec.column(self.table.key, column.name)
        request = state.request(column, self._needs_unique(column.name, column_spec.unique), sequential, ranges)
        values = column_values(request, self.rows, self._rng(column.name, "values"))
        null_rate = state.null_rate(column, sequential, ranges)
        return _with_nulls(values, null_rate, self._rng(column.name, "nulls"))

    def _number_per_parent(self) -> None:
        """Per-parent numbers for the columns the foreign key sampling has not numbered already."""
        for name, group in self.state.per_parent.items():
            if name in self.columns:
                continue
            groups = [self.columns[c] for c in group]
            ranks = keys.ranks_within(groups) + self.state.rank_offsets(name, self.rows.index, groups)
            self.columns[name] = numbered(self.state.request(self.table.column(name)), ranks,
                                          f" within one ({', '.join(group)})")

    def _needs_unique(self, name: str, asked: bool | None) -> bool:
        """Unique alone, or the column picked to carry a multi-column key that foreign keys do not fill.

        In a key with foreign keys, a column whose domain is smaller than the row count is not made
        unique; it joins the foreign keys in sampling distinct tuples instead (see ``_sample_foreign_keys``).
        """
        if asked:
            return True
        fk_columns = {c for fk in self.table.foreign_keys for c in fk.columns}
        for key in self.state.unique_keys:
            free = [c for c in key if c not in fk_columns]
            if free and name == max(free, key=self._domain):
                return len(free) == len(key) or self._domain(name) >= self.state.n
        return False

    def _domain(self, name: str) -> float:
        info = self.infos[name]
        rule = self.state.rules.columns.get(name)
        if info.values or (rule is not None and rule.values is not None):
            return len(info.values or rule.values)  # type: ignore[arg-type]
        if info.family == "bool":
            return 2
        if info.family in ("int", "decimal") and info.high is not None and info.low is not None:
            return (info.high - info.low) * 10 ** (info.scale or 0)
        return float("inf")

    # --- foreign keys -----------------------------------------------------------------------------------------

    def _sample_foreign_keys(self, indexes: list[int]) -> None:
        """Parent rows for every key; keys that form a unique key (with small-domain columns) get distinct tuples."""
        state, pending = self.state, list(indexes)
        for key in state.unique_keys:
            group = [i for i in pending if set(self.table.foreign_keys[i].columns) <= set(key)]
            covered = {c for i in group for c in self.table.foreign_keys[i].columns}
            extra = [c for c in key if c not in covered]
            choices = [self._choices(c) for c in extra]
            if group and all(c is not None for c in choices):
                self._distinct_group(group, dict(zip(extra, choices, strict=True)))
                pending = [i for i in pending if i not in group]
        for index in pending:
            fk = self.table.foreign_keys[index]
            numbered_column = next((c for c, group in state.per_parent.items() if set(group) == set(fk.columns)), None)
            if not state.parent_count(fk):
                rows = None
            elif numbered_column:
                rows, ranks = state.grouped(index, numbered_column).rows(self.rows.start, self.rows.stop)
                self.columns[numbered_column] = numbered(state.request(self.table.column(numbered_column)), ranks)
            else:
                rows = state.fanout(index).rows(self.rows.index, self.n)
            self._set_foreign_key(fk, rows)

    def _choices(self, name: str) -> pa.Array | None:
        """Every value of a small-domain column of a key (None when it is unique by itself or unbounded)."""
        if name not in self.columns or self._domain(name) >= self.state.n:
            return None
        info, rule = self.infos[name], self.state.rules.columns.get(name)
        values = self.state.spec.column(self.table.key, name).values or (rule.values if rule else None) or info.values
        if values:
            return pa.array(list(values)).cast(info.arrow)
        if info.family == "bool":
            return pa.array([False, True])
        if info.family == "int":
            return pa.array(np.arange(int(info.low), int(info.high) + 1)).cast(info.arrow)  # type: ignore[arg-type]
        return None

    def _distinct_group(self, group: list[int], extra: dict[str, pa.Array]) -> None:
        state = self.state
        fks = [self.table.foreign_keys[i] for i in group]
        names = [c for fk in fks for c in fk.columns] + list(extra)
        parents = [state.parent_count(fk) for fk in fks]
        if 0 in parents and self.n:
            for fk in fks:
                self._set_foreign_key(fk, None)
            return
        what = f"{self.table.key} ({', '.join(names)})"
        if len(state.blocks) == 1:
            rows = keys.distinct_parent_rows(
                lambda attempt: rng_for(state.seed, self.table.key, ",".join(names), "unique", str(attempt)),
                self.n, parents + [len(v) for v in extra.values()],
                [state.fk_spec(fk) for fk in fks] + [ForeignKeySpec("uniform")] * len(extra), what)
        else:
            rows = self._distinct_across_blocks(group, parents, [len(v) for v in extra.values()], names, what)
        for fk, chosen in zip(fks, rows, strict=False):
            self._set_foreign_key(fk, chosen, nulls=False)
        for (name, values), chosen in zip(extra.items(), rows[len(fks):], strict=True):
            self.columns[name] = values.take(pa.array(chosen))

    def _distinct_across_blocks(self, group: list[int], parents: list[int], sizes: list[int], names: list[str],
                                what: str) -> list[np.ndarray]:
        """Distinct tuples in a table of several blocks: rows grouped by the key with the most parents.

        Each leading parent gets its children together (at most as many as the other parts allow), and
        its children's other parts are drawn, distinct, with the random stream of the block its run starts
        in: a run that crosses into the next block is drawn the same way from either block.
        """
        state, block_rows = self.state, self.state.generation.block_rows
        lead = max(range(len(group)), key=lambda i: (parents[i], -i))
        others = [i for i in range(len(group)) if i != lead]
        radices = [parents[i] for i in others] + sizes
        cap = int(np.prod([float(r) for r in radices])) if radices else 1
        children = state.leading_children(group[lead], min(cap, state.n), what)
        leaders, _ = children.rows(self.rows.start, self.rows.stop)

        def draw(rng: np.random.Generator, n: int) -> list[np.ndarray]:
            return ([state.fanout(group[i]).sample(rng, n) for i in others]
                    + [rng.integers(0, size, n) for size in sizes])

        run_of = children.first_row(np.arange(len(children.counts))) // block_rows  # block each run starts in
        parts: list[list[np.ndarray]] = []
        for run_block in np.unique(run_of[leaders]):
            first, last = np.searchsorted(run_of, [run_block, run_block + 1])
            start, stop = int(children.ends[first] - children.counts[first]), int(children.ends[last - 1])
            run_leaders, _ = children.rows(start, stop)
            rng = rng_for(state.seed, self.table.key, ",".join(names), "unique", f"run {run_block}")
            drawn = keys.distinct_within_parents(rng, run_leaders, radices, draw, what) if radices else []
            low, high = max(start, self.rows.start) - start, min(stop, self.rows.stop) - start
            parts.append([d[low:high] for d in drawn])
        chosen = [np.concatenate([p[k] for p in parts]) for k in range(len(radices))]
        tuples: list[np.ndarray] = [np.empty(0)] * (len(group) + len(sizes))
        tuples[lead] = leaders
        for slot, values in zip(others + list(range(len(group), len(group) + len(sizes))), chosen, strict=True):
            tuples[slot] = values
        return tuples

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
        null_rate = self.state.fk_spec(fk).null_rate
        if null_rate and not nullable:
            raise WorkbenchError(f"{self.state.spec.source}: null_rate {null_rate} asked for NOT NULL foreign key "
                                 f"{self.table.key}({', '.join(fk.columns)}); remove it or make the key nullable")
        if null_rate is None:
            null_rate = NULLABLE_FK_NULLS if nullable and nulls else 0.0
        mask = _null_mask(self.n, null_rate, self._rng(",".join(fk.columns), "fk-nulls"))
        parent = self.state.schema.referenced_table(fk)
        found = self.state.generation.keys(parent.key, fk.ref_columns).take(rows)
        for name, values in zip(fk.columns, found, strict=True):
            values = values.cast(self.infos[name].arrow)
            self.columns[name] = values if mask is None else pc.if_else(mask, pa.scalar(None, values.type), values)

    def _self_reference(self, index: int) -> None:
        """A tree: each row's parent is an earlier row; roots are null, or point at themselves when NOT NULL."""
        fk = self.table.foreign_keys[index]
        nullable = all(self.table.column(c).nullable for c in fk.columns)
        share = self.state.fk_spec(fk).null_rate
        positions = self.rows.positions()
        parents = keys.tree_parents(self._rng(",".join(fk.columns), "fk"), positions,
                                    SELF_REFERENCE_ROOTS if share is None else share)
        roots = parents < 0
        if not nullable:
            self.state.count_roots(int(roots.sum()))
        chosen = np.where(roots, positions, parents)
        mask = pa.array(roots) if nullable else None
        for name, values in zip(fk.columns, self._own_values(fk.ref_columns, chosen), strict=True):
            values = values.cast(self.infos[name].arrow)
            self.columns[name] = values if mask is None else pc.if_else(mask, pa.scalar(None, values.type), values)

    def _own_values(self, names: tuple[str, ...], positions: np.ndarray) -> list[pa.Array]:
        """This table's ``names`` at ``positions`` (in this block or an earlier one)."""
        here = positions >= self.rows.start
        if here.all():
            return [self.columns[name].take(pa.array(positions - self.rows.start)) for name in names]
        earlier = self.state.generation.keys(self.table.key, names).take(np.where(here, 0, positions),
                                                                          before=self.rows.index)
        inside = np.where(here, positions - self.rows.start, 0)
        return [pc.if_else(pa.array(here), self.columns[name].take(pa.array(inside)), before)
                for name, before in zip(names, earlier, strict=True)]

    # --- orderings --------------------------------------------------------------------------------------------

    def _apply_orderings(self) -> None:
        for low, high, strict in self.state._orderings():
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
