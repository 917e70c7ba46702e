"""Data specs: how many rows each table gets at each scale, and how columns and foreign keys look.

A spec is a TOML file (or the same structure as a dict)::

    default_rows = 1000            # base rows of every table the spec does not size

    [scales]                       # multipliers of the base rows (these are the defaults)
    ci = 0.001
    small = 0.01
    medium = 0.1
    large = 1.0

    [tables.customers]
    rows = 2_000_000               # base rows: at scale "ci" 2,000 rows, at scale 0.5 a million
    [tables.products]
    rows = { ci = 50, small = 1_000, medium = 10_000, large = 50_000 }   # explicit rows per named scale

    [tables.customers.columns.email]
    unique = true
    [tables.orders.columns.ordered_at]
    dist = "dates"
    start = "2022-01-01"
    end = "2024-12-31"
    seasonality = ["weekly", "yearly"]
    [tables.orders.columns.total]
    dist = "lognormal"             # uniform normal lognormal zipf sequential dates categorical words pattern
    mean = 80
    sd = 60
    null_rate = 0.0
    [tables.orders.columns.channel]
    values = ["web", "app", "store"]
    weights = [6, 3, 1]            # categorical (implied by ``values``)

    [tables.orders.foreign_keys.customer_id]   # the key's columns joined by "," or its constraint name
    fanout = "zipf"                # zipf (default; a few parents own many children) | uniform | normal
    s = 1.2                        # zipf exponent; normal takes ``sd`` (relative spread of children per parent)
    null_rate = 0.0                # nullable foreign keys only

Column keys: ``dist``, ``min``, ``max``, ``mean``, ``sd``, ``s``, ``start``, ``end``, ``seasonality``
("weekly" | "yearly" | "daily" or a list), ``values``, ``weights``, ``null_rate``, ``unique``,
``words`` (a vocabulary for text) with ``length = [min, max]`` words per value, ``pattern`` (``#``
a digit, ``?`` a capital letter, e.g. ``"SKU-#####"``). Rows given to ``generate(rows=...)`` are
exact and win over the spec; ``scale`` only sizes the tables from the spec (None means multiplier 1).

Rows per named scale are points (the scale's multiplier, rows): a named scale takes its own entry;
any other scale, a multiplier such as 0.5 or a named scale without an entry, is interpolated
linearly between the two nearest entries, and beyond the outermost entry scaled in proportion to
it. With the default scales, ``large`` (multiplier 1.0) is the reference: in the example above,
scale 0.5 gives products 10_000 + 40_000 * 0.4 / 0.9 = 27_778 rows, and scale 2 gives 100_000.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError, did_you_mean
from workbench.schema.model import Schema, Table
from workbench.textfile import read_text

DEFAULT_SCALES = {"ci": 0.001, "small": 0.01, "medium": 0.1, "large": 1.0}
DISTRIBUTIONS = ("uniform", "normal", "lognormal", "zipf", "sequential", "dates", "categorical", "words", "pattern")
FANOUTS = ("zipf", "uniform", "normal")
SEASONALITIES = ("weekly", "yearly", "daily")
COLUMN_KEYS = frozenset({"dist", "min", "max", "mean", "sd", "s", "start", "end", "seasonality", "values", "weights",
                         "null_rate", "unique", "words", "length", "pattern"})
FOREIGN_KEY_KEYS = frozenset({"fanout", "s", "sd", "null_rate"})
TABLE_KEYS = frozenset({"rows", "columns", "foreign_keys"})


class SpecError(WorkbenchError):
    """A data spec that does not fit the schema or is malformed; names the spec file and the entry."""


@dataclass(frozen=True)
class ColumnSpec:
    """How one column's values look; every field is optional (None: decided by type and name)."""

    dist: str | None = None
    min: float | str | None = None
    max: float | str | None = None
    mean: float | None = None
    sd: float | None = None
    s: float | None = None
    start: str | None = None
    end: str | None = None
    seasonality: tuple[str, ...] = ()
    values: tuple[Any, ...] | None = None
    weights: tuple[float, ...] | None = None
    null_rate: float | None = None
    unique: bool | None = None
    words: tuple[str, ...] | None = None
    length: tuple[int, int] | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class ForeignKeySpec:
    """How children spread over parents: ``fanout`` skew and nulls of a nullable key."""

    fanout: str = "zipf"
    s: float = 1.0
    sd: float = 0.5
    null_rate: float | None = None


@dataclass(frozen=True)
class TableSpec:
    rows: int | dict[str, int] | None = None
    columns: dict[str, ColumnSpec] = field(default_factory=dict)
    foreign_keys: dict[str, ForeignKeySpec] = field(default_factory=dict)


@dataclass(frozen=True)
class DataSpec:
    """Row counts per scale and value generators per column and foreign key; see the module docstring."""

    tables: dict[str, TableSpec] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SCALES))
    default_rows: int = 1000
    source: str = "<spec>"

    @classmethod
    def from_toml(cls, path: str | Path) -> DataSpec:
        path = Path(path)
        try:
            data = tomllib.loads(read_text(path, what="data spec"))
        except tomllib.TOMLDecodeError as error:
            raise SpecError(f"{path}: not valid TOML ({error})") from error
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "<spec>") -> DataSpec:
        _check_keys(data, {"tables", "scales", "default_rows"}, source, "the top level")
        scales = {**DEFAULT_SCALES, **{k: float(v) for k, v in data.get("scales", {}).items()}}
        tables = {name: _table_spec(body, source, name) for name, body in data.get("tables", {}).items()}
        for name, table_spec in tables.items():
            for scale in table_spec.rows if isinstance(table_spec.rows, dict) else ():
                if scale not in scales:
                    raise SpecError(f"{source}: [tables.{name}] rows for unknown scale {scale!r}"
                                    f"{did_you_mean(scale, scales)}; name it in [scales] with its multiplier")
        return cls(tables=tables, scales=scales, default_rows=int(data.get("default_rows", 1000)), source=source)

    def multiplier(self, scale: str | float | None) -> float:
        if scale is None:
            return 1.0
        if isinstance(scale, int | float):
            if scale <= 0:
                raise SpecError(f"{self.source}: scale must be positive, got {scale}")
            return float(scale)
        if scale not in self.scales:
            raise SpecError(f"{self.source}: unknown scale {scale!r}{did_you_mean(scale, self.scales)}")
        return self.scales[scale]

    def base_rows(self, table: Table, scale: str | float | None) -> int:
        """Rows of ``table`` at ``scale`` from this spec (``default_rows`` when the spec does not size it)."""
        rows = self.tables[table.key].rows if table.key in self.tables else None
        if isinstance(rows, dict):
            return self._rows_between(table, rows, scale)
        base = self.default_rows if rows is None else rows
        return 0 if base == 0 else max(1, round(base * self.multiplier(scale)))

    def _rows_between(self, table: Table, rows: dict[str, int], scale: str | float | None) -> int:
        """Rows per named scale, read as points (multiplier, rows): exact at a point, linear between two."""
        if isinstance(scale, str) and scale in rows:
            return int(rows[scale])
        wanted = self.multiplier(scale)
        points = sorted((self.scales[name], int(n)) for name, n in rows.items())
        below = [p for p in points if p[0] <= wanted]
        above = [p for p in points if p[0] >= wanted]
        if below and above:
            (x0, y0), (x1, y1) = below[-1], above[0]
            value = y0 if x1 == x0 else y0 + (y1 - y0) * (wanted - x0) / (x1 - x0)
        else:
            x0, y0 = (below or above)[-1 if below else 0]
            value = y0 * wanted / x0
        return 0 if value == 0 else max(1, round(value))

    def resolve(self, schema: Schema) -> DataSpec:
        """This spec with table keys resolved against ``schema``; unknown tables and columns raise SpecError."""
        resolved = {}
        for name, table_spec in self.tables.items():
            table = schema.find_table(name)
            if table is None:
                raise SpecError(f"{self.source}: unknown table {name!r} in [tables]"
                                f"{did_you_mean(name, [t.key for t in schema.tables])}; fix the spec or the schema")
            for column in table_spec.columns:
                if not table.has_column(column):
                    raise SpecError(f"{self.source}: unknown column {column!r} of table {table.key!r} in "
                                    f"[tables.{name}.columns]{did_you_mean(column, [c.name for c in table.columns])}")
            keys = {key for fk in table.foreign_keys for key in (",".join(fk.columns), fk.name) if key}
            for key in table_spec.foreign_keys:
                if key.replace(" ", "") not in keys:
                    raise SpecError(f"{self.source}: unknown foreign key {key!r} of table {table.key!r} in "
                                    f"[tables.{name}.foreign_keys]{did_you_mean(key, keys)}; name it by its "
                                    "columns joined by ',' or by its constraint name")
            resolved[table.key] = table_spec
        return DataSpec(resolved, self.scales, self.default_rows, self.source)

    def column(self, table: str, column: str) -> ColumnSpec:
        table_spec = self.tables.get(table)
        return table_spec.columns.get(column, ColumnSpec()) if table_spec else ColumnSpec()

    def foreign_key(self, table: str, columns: tuple[str, ...], name: str | None) -> ForeignKeySpec:
        table_spec = self.tables.get(table)
        if table_spec is None:
            return ForeignKeySpec()
        for key, fk_spec in table_spec.foreign_keys.items():
            if key.replace(" ", "") in (",".join(columns), name):
                return fk_spec
        return ForeignKeySpec()


def _table_spec(body: dict[str, Any], source: str, name: str) -> TableSpec:
    _check_keys(body, TABLE_KEYS, source, f"[tables.{name}]")
    rows = body.get("rows")
    if isinstance(rows, dict):
        rows = {k: int(v) for k, v in rows.items()}
    elif rows is not None:
        rows = int(rows)
    columns = {col: _column_spec(spec, source, f"[tables.{name}.columns.{col}]")
               for col, spec in body.get("columns", {}).items()}
    fks = {}
    for key, spec in body.get("foreign_keys", {}).items():
        where = f"[tables.{name}.foreign_keys.{key}]"
        _check_keys(spec, FOREIGN_KEY_KEYS, source, where)
        fanout = spec.get("fanout", "zipf")
        if fanout not in FANOUTS:
            raise SpecError(f"{source}: {where} unknown fanout {fanout!r}{did_you_mean(fanout, FANOUTS)}")
        fks[key] = ForeignKeySpec(fanout, float(spec.get("s", 1.0)), float(spec.get("sd", 0.5)), spec.get("null_rate"))
    return TableSpec(rows, columns, fks)


def _column_spec(spec: dict[str, Any], source: str, where: str) -> ColumnSpec:
    _check_keys(spec, COLUMN_KEYS, source, where)
    dist = spec.get("dist")
    if dist is not None and dist not in DISTRIBUTIONS:
        raise SpecError(f"{source}: {where} unknown dist {dist!r}{did_you_mean(dist, DISTRIBUTIONS)}")
    seasonality = spec.get("seasonality", ())
    seasonality = (seasonality,) if isinstance(seasonality, str) else tuple(seasonality)
    for season in seasonality:
        if season not in SEASONALITIES:
            raise SpecError(f"{source}: {where} unknown seasonality {season!r}{did_you_mean(season, SEASONALITIES)}")
    values, weights = spec.get("values"), spec.get("weights")
    if weights is not None and (values is None or len(weights) != len(values)):
        raise SpecError(f"{source}: {where} needs as many weights as values")
    null_rate = spec.get("null_rate")
    if null_rate is not None and not 0 <= null_rate <= 1:
        raise SpecError(f"{source}: {where} null_rate must be within 0..1, got {null_rate}")
    length = spec.get("length")
    return ColumnSpec(
        dist=dist, min=spec.get("min"), max=spec.get("max"), mean=spec.get("mean"), sd=spec.get("sd"),
        s=spec.get("s"), start=_text(spec.get("start")), end=_text(spec.get("end")), seasonality=seasonality,
        values=tuple(values) if values is not None else None, weights=tuple(weights) if weights else None,
        null_rate=null_rate, unique=spec.get("unique"), words=tuple(spec["words"]) if "words" in spec else None,
        length=(int(length[0]), int(length[1])) if length else None, pattern=spec.get("pattern"),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)  # TOML dates arrive as datetime.date


def _check_keys(data: dict[str, Any], allowed: frozenset[str] | set[str], source: str, where: str) -> None:
    for key in data:
        if key not in allowed:
            raise SpecError(f"{source}: unknown key {key!r} in {where}{did_you_mean(key, allowed)}")
