"""The noisy neighbour: the same data, with one tenant holding a given share of the rows.

Whole subtrees move: a root row of the tenant tables (a customer) goes to the noisy tenant with every row
that hangs from it by foreign keys carrying the tenant column (its orders, their lines). A moved row whose key
would collide in its new tenant gets a fresh number (keys made of a moved parent's key stay unique as they
are), so every key and foreign key still holds. Root rows are drawn (seeded) from the other tenants until the
noisy tenant holds ``share`` of the largest tenant table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.datagen.dataset import Dataset
from workbench.errors import WorkbenchError
from workbench.schema.model import ForeignKey, Schema, Table


def noisy_neighbour(schema: Schema, data: Mapping[str, pa.Table], tenant_column: str = "tenant_id", *,
                    share: float = 0.5, tenant: int | None = None, seed: int = 0) -> Dataset:
    """``data`` with tenant ``tenant`` (default: the smallest id, the one skewed samplers pick most) holding
    ``share`` of the rows of the largest tenant table. The result's ``noisy_tenant`` and ``noisy_shares`` (the
    share reached in each tenant table) are also in its notes."""
    if not 0 < share < 1:
        raise WorkbenchError(f"share {share} must be between 0 and 1 (e.g. 0.5: the tenant holds half the rows)")
    scoped = {key: t for key in data if (t := schema.table(key)).has_column(tenant_column)
              and not (t.primary_key and t.primary_key.columns == (tenant_column,))}
    if not scoped:
        raise WorkbenchError(f"no table of the data has the tenant column {tenant_column!r}")
    frames = {key: data[key].to_pandas() for key in scoped}
    largest = max(scoped, key=lambda k: len(frames[k]))
    noisy = int(tenant if tenant is not None else frames[largest][tenant_column].min())
    parents = {key: _parent(schema, table, scoped, tenant_column) for key, table in scoped.items()}
    weights = _weights(frames, scoped, parents, largest)
    root = next(iter(weights))
    chosen = _draw(weights[root], scoped[root], tenant_column, noisy, share, seed)
    moves: dict[str, dict[tuple, tuple]] = {}
    for key in data:  # parents before children
        if key not in scoped:
            continue
        fk = parents[key]
        if key == root:
            moves[key] = _move(frames[key], scoped[key], tenant_column, noisy, _rows(frames[key], scoped[key],
                                                                                     chosen))
        elif fk is not None and (up := _key(schema, fk)) in moves:
            moves[key] = _move(frames[key], scoped[key], tenant_column, noisy,
                               _children(frames[key], fk, scoped[up], moves[up]), fk, scoped[up], moves[up])
    result = {key: pa.Table.from_pandas(frames[key], schema=data[key].schema, preserve_index=False)
              if key in frames else data[key] for key in data}
    shares = {scoped[k].name: float((frames[k][tenant_column] == noisy).mean()) for k in frames}
    notes = [*getattr(data, "notes", []),
             f"noisy neighbour: tenant {noisy} holds " + ", ".join(f"{v:.0%} of {k}" for k, v in shares.items())]
    dataset = Dataset(result, notes, getattr(data, "seed", seed))
    dataset.noisy_tenant, dataset.noisy_shares = noisy, shares
    return dataset


def _parent(schema: Schema, table: Table, scoped: dict[str, Table], column: str) -> ForeignKey | None:
    """The foreign key (carrying the tenant column) to this table's parent among the tenant tables."""
    return next((fk for fk in table.foreign_keys if column in fk.columns and _key(schema, fk) in scoped), None)


def _key(schema: Schema, fk: ForeignKey) -> str | None:
    parent = schema.referenced_table(fk)
    return parent.key if parent is not None else None


def _pk(table: Table) -> list[str]:
    if table.primary_key is None:
        raise WorkbenchError(f"{table.key} has no primary key: its rows cannot move between tenants keeping keys")
    return list(table.primary_key.columns)


def _weights(frames: dict[str, pd.DataFrame], scoped: dict[str, Table], parents: dict[str, ForeignKey | None],
             largest: str) -> dict[str, pd.Series]:
    """``{root table: rows of the largest table under each root row}``, carried up the foreign keys."""
    key, key_columns = largest, _pk(scoped[largest])
    counts = frames[largest].groupby(key_columns).size().rename("_n").reset_index()
    while (fk := parents[key]) is not None:
        parent = next(k for k, t in scoped.items() if t.key == fk.ref_key or (t.name == fk.ref_table
                                                                               and not fk.ref_schema))
        if sorted(fk.ref_columns) != sorted(_pk(scoped[parent])):
            raise WorkbenchError(f"{scoped[key].key} references {scoped[parent].key} by ({', '.join(fk.ref_columns)}),"
                                 f" not its primary key; rows cannot move with their parents")
        linked = counts.merge(frames[key][list(dict.fromkeys([*key_columns, *fk.columns]))], on=key_columns)
        counts = linked.groupby(list(fk.columns))["_n"].sum().reset_index()
        counts = counts.rename(columns=dict(zip(fk.columns, fk.ref_columns, strict=True)))
        key, key_columns = parent, _pk(scoped[parent])
    return {key: counts.set_index(key_columns)["_n"]}


def _draw(weights: pd.Series, root: Table, column: str, noisy: int, share: float, seed: int) -> set[tuple]:
    """Root keys of other tenants, in a seeded random order, until the noisy tenant reaches ``share``."""
    tenants = weights.index.get_level_values(column)
    total, hot = weights.sum(), weights[tenants == noisy].sum()
    others = weights[tenants != noisy]
    chosen: set[tuple] = set()
    for position in np.random.default_rng(seed).permutation(len(others)):
        if hot >= share * total:
            break
        chosen.add(_tuple(others.index[position]))
        hot += others.iloc[position]
    if hot < share * total:
        raise WorkbenchError(f"the other tenants hold too few rows to give tenant {noisy} {share:.0%} of {root.name}")
    return chosen


def _rows(frame: pd.DataFrame, table: Table, chosen: set[tuple]) -> pd.Index:
    keys = frame[_pk(table)].apply(tuple, axis=1)
    return frame.index[keys.isin(chosen)]


def _children(frame: pd.DataFrame, fk: ForeignKey, parent: Table, parent_moves: dict[tuple, tuple]) -> pd.Index:
    """Rows of ``frame`` whose parent (by ``fk``) moved."""
    links = frame[[fk.columns[fk.ref_columns.index(c)] for c in _pk(parent)]].apply(tuple, axis=1)
    return frame.index[links.isin(set(parent_moves))]


def _move(frame: pd.DataFrame, table: Table, column: str, noisy: int, rows: pd.Index, fk: ForeignKey | None = None,
          parent: Table | None = None, parent_moves: dict[tuple, tuple] | None = None) -> dict[tuple, tuple]:
    """Move ``rows`` to the noisy tenant in place, following their parent's new key; returns old key -> new key."""
    key = _pk(table)
    old = [_tuple(k) for k in frame.loc[rows, key].itertuples(index=False, name=None)]
    if fk is not None and parent is not None and parent_moves is not None:
        order = [fk.columns[fk.ref_columns.index(c)] for c in _pk(parent)]
        links = [parent_moves[_tuple(k)] for k in frame.loc[rows, order].itertuples(index=False, name=None)]
        for position, child in enumerate(order):
            frame.loc[rows, child] = np.array([link[position] for link in links], dtype=frame[child].dtype)
    frame.loc[rows, column] = noisy
    inherited = fk is not None and bool((set(fk.columns) - {column}) & set(key))
    free = [c for c in key if c != column and (fk is None or c not in fk.columns)]
    if free and not inherited:  # the row's own number could collide in the noisy tenant: renumber it
        target = free[-1]
        if not pd.api.types.is_integer_dtype(frame[target]):
            raise WorkbenchError(f"cannot renumber {table.key}.{target} ({frame[target].dtype}) to move rows between "
                                 f"tenants; its key needs an integer column")
        top = frame.loc[(frame[column] == noisy) & ~frame.index.isin(rows), target].max()
        start = (0 if pd.isna(top) else int(top)) + 1
        frame.loc[rows, target] = np.arange(start, start + len(rows), dtype=frame[target].dtype)
    new = [_tuple(k) for k in frame.loc[rows, key].itertuples(index=False, name=None)]
    return dict(zip(old, new, strict=True))


def _tuple(value: Any) -> tuple:
    values = value if isinstance(value, tuple) else (value,)
    return tuple(v.item() if hasattr(v, "item") else v for v in values)
