"""A new valid row built from an existing one: fresh values for its unique keys, foreign keys kept.

The attack suite forges a victim tenant's row this way (only the tenant check can stop the insert), and the
tenancy measurements onboard a new tenant the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlglot import exp

from workbench.errors import WorkbenchError
from workbench.schema.model import Schema


def new_row(engine: Any, schema: Schema, table: str, *, where: dict[str, Any] | None = None,
            keep: Iterable[str] = ()) -> dict[str, Any]:
    """A copy of one row of ``table`` (matching ``where``) with a fresh value in one column per unique key.

    The fresh column is the key's last one outside ``keep`` and every foreign key: integers become the table's
    maximum plus one, text gets a ``.new`` suffix.
    """
    model = schema.table(table)
    place = engine.places(schema)[model.key]
    columns = [c.name for c in model.columns]
    query = exp.select(*(exp.column(c, quoted=True) for c in columns)).from_(place).limit(1)
    for column, value in (where or {}).items():
        query = query.where(exp.column(column, quoted=True).eq(_literal(value)))
    found = engine.query(query.sql("postgres"))
    if found.empty:
        raise WorkbenchError(f"no row of {table} matches {where or 'anything'} to copy a new row from")
    row = {c: python(v) for c, v in found.iloc[0].items()}
    fixed = {c for fk in model.foreign_keys for c in fk.columns} | set(keep)
    uniques = ([model.primary_key.columns] if model.primary_key else []) + [u.columns for u in model.uniques]
    for key in uniques:
        free = [c for c in key if c not in fixed]
        if not free:
            raise WorkbenchError(f"cannot make a new row of {table}: every column of its key ({', '.join(key)}) is "
                                 f"kept or a foreign key")
        column = free[-1]
        if isinstance(row[column], int):
            top = exp.select(exp.Max(this=exp.column(column, quoted=True)).as_("top")).from_(place)
            row[column] = int(engine.query(top.sql("postgres"))["top"].iloc[0]) + 1
        else:
            row[column] = f"{row[column]}.new"
    return row


def python(value: Any) -> Any:
    """numpy and pandas scalars as plain Python values (for psycopg and JSON); missing values as None."""
    if not isinstance(value, (list, tuple, dict)) and pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _literal(value: Any) -> exp.Expression:
    return exp.Literal.number(value) if isinstance(value, int | float) else exp.Literal.string(str(value))
