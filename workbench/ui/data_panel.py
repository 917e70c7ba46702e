"""``wb.explore(domain, engine=...)``: the loaded data of a sample domain, one column and one relationship at a time.

Controls: a table and one of its columns (its distribution: a histogram of numbers and times, the most
common values of anything else), a relationship of that table (how many child rows each parent row
has: the fan-out), and the scale and seed to load again with (a progress bar shows the load). Every
figure is read from the engine with SQL, so it shows what the database holds.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import pandas as pd
from sqlglot import exp

from workbench.domains import Domain, parse_scale
from workbench.engines import Engine, connect
from workbench.errors import WorkbenchError
from workbench.schema.model import Schema, Table
from workbench.ui.panel import NoData, Panel, html_box, image, plot_png

SAMPLE_ROWS = 200_000  # values read for a histogram (the first rows); counts are exact
TOP_VALUES = 15
PLOT = (5.2, 3.2)


class DataPanel(Panel):
    """Distributions and fan-out of a domain's data as loaded in an engine; reload at another scale or seed."""

    def __init__(self, domain: Domain, *, engine: Engine | str = "duckdb", scale: str | float = "ci", seed: int = 0,
                 table: str | None = None):
        super().__init__()
        self.domain, self.schema = domain, domain.schema
        self.owned = isinstance(engine, str)  # the panel connects (and reconnects) an engine it owns
        self.target = engine if isinstance(engine, str) else None
        self.engine: Engine = connect(engine) if isinstance(engine, str) else engine
        self.loaded = ""  # "scale ci, seed 0" once this panel loaded the data
        self.title = f"Explore the data of {domain.name}"
        names = [t.key for t in self.schema.tables]
        scales = list(domain.spec.scales)
        self.controls = {
            "table": widgets.Dropdown(options=names, value=self.schema.table(table).key if table else names[0],
                                      description="table"),
            "column": widgets.Dropdown(description="column"),
            "fanout": widgets.Dropdown(description="fan-out"),
        }
        self.scale = widgets.Combobox(value=str(scale), options=scales, description="scale", ensure_option=False)
        self.seed = widgets.IntText(value=seed, description="seed", layout=widgets.Layout(width="180px"))
        self.reload = widgets.Button(description="reload", icon="refresh", disabled=not self.owned,
                                     tooltip="generate and load again at this scale and seed" if self.owned else
                                     "the panel reloads only an engine it connected: explore(domain, engine='duckdb')")
        self.reload.on_click(lambda _: self.load())
        self.progress = widgets.Output()
        self.counts = html_box()
        self.distribution, self.fanout = image(), image()
        self.stats, self.fanout_stats = html_box(), html_box()
        self._syncing = False
        self._sync_choices()
        c = self.controls
        c["table"].observe(self._table_changed, names="value")
        self.assemble([widgets.HBox([self.scale, self.seed, self.reload]), self.progress, self.counts,
                       widgets.HBox([c["table"], c["column"], c["fanout"]])],
                      [widgets.HBox([widgets.VBox([self.distribution, self.stats]),
                                     widgets.VBox([self.fanout, self.fanout_stats])])], watch=("column", "fanout"))
        if self._missing_tables():
            self.load()
        else:
            self.refresh()

    # -- loading -----------------------------------------------------------------------------------------

    def load(self) -> None:
        """Generate the domain at the scale and seed of the controls and load it (a progress bar shows the load);
        an engine the panel owns is replaced by a fresh one first, so nothing of the earlier load remains."""
        try:
            scale = parse_scale(self.scale.value.strip())
            if self.owned:
                self.engine.close()
                self.engine = connect(self.target)
            self.progress.clear_output()
            with self.progress:
                self.domain.load(self.engine, scale, seed=self.seed.value, progress=True)
            self.loaded = f"scale {scale}, seed {self.seed.value}"
        except KeyboardInterrupt:
            self.loaded = ""
            self.say("the load was interrupted (the kernel's stop button): the engine holds part of the data; "
                     "press reload to load it whole", "error")
            raise
        except Exception as error:  # shown in the panel, as any other problem
            self.loaded = ""
            self.say(f"could not load {self.domain.name}: {type(error).__name__}: {error}", "error")
            return
        self.refresh()

    # -- views -----------------------------------------------------------------------------------------

    def update(self) -> str | None:
        self._check_engine()
        missing = self._missing_tables()
        if missing:
            raise NoData(f"{self.engine!r} does not hold the {self.domain.name} tables {', '.join(missing)}: "
                         "press reload, or load them with domain.load(engine)")
        counts = self.engine.row_counts()
        self.counts.value = "<small>" + html.escape(
            f"{self.engine.name}{f' ({self.loaded})' if self.loaded else ''}: "
            + ", ".join(f"{self._name(key)} {rows:,}" for key, rows in counts.items() if not key.startswith("_"))
            + " rows") + "</small>"
        table = self.schema.table(self.controls["table"].value)
        column = self.controls["column"].value
        if column is None:
            raise NoData(f"{table.key} has no columns to show")
        self._show_distribution(table, column)
        return self._show_fanout(table)

    def static_html(self) -> str:
        c = self.controls
        state = f"{c['table'].value}.{c['column'].value}"
        return (f"<p><b>{html.escape(self.title)}</b> ({html.escape(state)})</p>{self.counts.value}{self.message.value}"
                f"{self.picture_html('distribution', 'distribution')}{self.stats.value}"
                f"{self.picture_html('fanout', 'fan-out')}{self.fanout_stats.value}")

    def _show_distribution(self, table: Table, column: str) -> None:
        source = self._place(table)
        counted = exp.select(exp.Count(this=exp.Star()).as_("rows"), exp.Count(this=exp.column(column)).as_("values"),
                             exp.Count(this=exp.Distinct(expressions=[exp.column(column)])).as_("distinct"))
        rows, values, distinct = self._query(counted.from_(source)).iloc[0]
        if not values:
            raise NoData(f"{table.name}.{column} holds no values (all {rows:,} rows are NULL, or the table is empty)")
        present = exp.column(column).is_(exp.null()).not_()
        sample = self._query(exp.select(exp.column(column)).from_(source).where(present).limit(SAMPLE_ROWS))[column]
        numeric = pd.api.types.is_numeric_dtype(sample) and not pd.api.types.is_bool_dtype(sample)
        temporal = pd.api.types.is_datetime64_any_dtype(sample)
        label = f"{table.name}.{column}"
        if (numeric or temporal) and distinct > TOP_VALUES:
            png = plot_png(lambda ax: _histogram(ax, sample, temporal, label, len(sample)), PLOT)
            low, high = (sample.min(), sample.max()) if temporal else (float(sample.min()), float(sample.max()))
            extra = f"; from {_value(low)} to {_value(high)}"
        else:
            top = self._query(exp.select(exp.column(column), exp.Count(this=exp.Star()).as_("n")).from_(source)
                              .where(present).group_by(exp.column(column))
                              .order_by(exp.Ordered(this=exp.column("n"), desc=True), exp.column(column))
                              .limit(TOP_VALUES))
            png = plot_png(lambda ax: _top_values(ax, top, column, label, distinct), PLOT)
            extra = ""
        self.show("distribution", self.distribution, png)
        nulls = rows - values
        self.stats.value = html.escape(f"{rows:,} rows; {nulls:,} NULL ({nulls / rows:.0%}); {distinct:,} distinct"
                                       f"{extra}") if rows else "empty table"

    def _show_fanout(self, table: Table) -> str | None:
        choice = self.controls["fanout"].value
        if choice is None:
            self.show("fanout", self.fanout, plot_png(lambda ax: _empty(ax, f"{table.name} has no foreign keys, "
                                                                             "and none point at it"), PLOT))
            self.fanout_stats.value = ""
            return None
        child, fk_columns, parent = choice
        child_table, parent_table = self.schema.table(child), self.schema.table(parent)
        columns = [exp.column(c) for c in fk_columns]
        per_parent = self._query(exp.select(exp.Count(this=exp.Star()).as_("children")).from_(self._place(child_table))
                                 .where(exp.and_(*(c.is_(exp.null()).not_() for c in columns)))
                                 .group_by(*columns))["children"].to_numpy()
        parents = int(self._query(exp.select(exp.Count(this=exp.Star()).as_("n")).from_(self._place(parent_table)))
                      .iloc[0, 0])
        counts = np.concatenate([per_parent, np.zeros(max(parents - len(per_parent), 0), dtype=per_parent.dtype)])
        what = f"{child_table.name} per {parent_table.name} ({', '.join(fk_columns)})"
        self.show("fanout", self.fanout, plot_png(lambda ax: _fanout(ax, counts, what, child_table.name,
                                                                     parent_table.name), PLOT))
        if not len(counts):
            self.fanout_stats.value = html.escape(f"{parent_table.name} is empty")
            return None
        top_tenth = np.sort(counts)[::-1][: max(1, len(counts) // 10)].sum() / max(counts.sum(), 1)
        self.fanout_stats.value = html.escape(
            f"{what}: median {np.median(counts):g}, mean {counts.mean():.2f}, max {counts.max():,}; "
            f"{(counts == 0).sum():,} of the {len(counts):,} rows of {parent_table.name} have none; "
            f"the top 10% hold {top_tenth:.0%} of the {child_table.name}")
        return None

    # -- helpers ---------------------------------------------------------------------------------------

    def _table_changed(self, _change: dict) -> None:
        self._sync_choices()
        self.refresh()

    def _sync_choices(self) -> None:
        """The column and fan-out choices of the chosen table, set without a redraw for each (one follows)."""
        table = self.schema.table(self.controls["table"].value)
        self._syncing = True
        try:
            for name, options in (("column", [c.name for c in table.columns]),
                                  ("fanout", _relationships(self.schema, table))):
                control = self.controls[name]
                control.options = options
                control.index = 0 if options else None
            keys = set(table.primary_key.columns) if table.primary_key else set()
            column = self.controls["column"]  # start on a column that says something (not the numbered key)
            column.value = next((c.name for c in table.columns if c.name not in keys), column.value)
        finally:
            self._syncing = False

    def _changed(self, change: dict) -> None:
        if not self._syncing:
            super()._changed(change)

    def _missing_tables(self) -> list[str]:
        if self.engine.closed:
            return []
        counts = self.engine.row_counts()
        return [t.key for t in self.schema.tables if t.key not in counts and t.name not in counts]

    def _check_engine(self) -> None:
        if self.engine.closed:
            fix = ("press reload: the panel connects a new one and loads the data again" if self.owned else
                   "connect again and explore(domain, engine=connect(...)), or explore(domain) to let the panel "
                   "connect its own")
            raise WorkbenchError(f"{self.engine!r} was closed (engine.close(), or its `with` block ended); {fix}")

    def _place(self, table: Table) -> exp.Table:
        return self.engine.places(self.schema)[table.key]

    def _query(self, select: exp.Expression) -> pd.DataFrame:
        return self.engine.query(select.sql(self.engine.dialect))

    def _name(self, key: str) -> str:
        table = self.schema.find_table(key)
        return table.name if table is not None else key


def _relationships(schema: Schema, table: Table) -> list[tuple[str, tuple[str, tuple[str, ...], str]]]:
    """``(label, (child key, fk columns, parent key))`` for each foreign key from or to ``table``."""
    found = []
    for child in schema.tables:
        for fk in child.foreign_keys:
            parent = schema.referenced_table(fk)
            if parent is None or table.key not in (child.key, parent.key):
                continue
            found.append((f"{child.name} per {parent.name} ({', '.join(fk.columns)})",
                          (child.key, tuple(fk.columns), parent.key)))
    return found


def _histogram(ax, sample: pd.Series, temporal: bool, label: str, count: int):
    if temporal:
        ax.hist(sample.to_numpy(), bins=40, color="tab:blue")
        ax.figure.autofmt_xdate()
    else:
        ax.hist(sample.astype(float), bins=40, color="tab:blue")
    ax.set_xlabel(label)
    ax.set_ylabel("rows" + (f" (first {count:,})" if count >= SAMPLE_ROWS else ""))
    ax.set_title(f"distribution of {label}", fontsize="small")
    return ax


def _top_values(ax, top: pd.DataFrame, column: str, label: str, distinct: int):
    names = [str(v)[:30] for v in top[column]][::-1]
    ax.barh(names, top["n"].to_numpy()[::-1], color="tab:blue")
    ax.set_xlabel("rows")
    shown = f"{len(top)} most common of {distinct:,}" if distinct > len(top) else f"all {distinct:,}"
    ax.set_title(f"{label}: {shown} values", fontsize="small")
    return ax


def _fanout(ax, counts: np.ndarray, what: str, child: str, parent: str):
    if not len(counts):
        return _empty(ax, f"no {parent} rows")
    values, frequency = np.unique(counts, return_counts=True)
    ax.bar(values, frequency, width=0.8 if len(values) < 60 else 1.0, color="tab:orange")
    if frequency.max() > 50 * max(frequency.min(), 1):
        ax.set_yscale("log")
    ax.set_xlabel(f"{child} per row of {parent}")
    ax.set_ylabel(f"rows of {parent}" + (" (log scale)" if ax.get_yscale() == "log" else ""))
    ax.set_title(f"fan-out: {what}", fontsize="small")
    return ax


def _empty(ax, text: str):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return ax


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ", timespec="minutes")
    return str(value)


def panel(domain: Domain, **options: object) -> DataPanel:
    """``explore(domain, engine="duckdb", scale="ci", seed=0)``."""
    return DataPanel(domain, **options)
