"""``results.explore()``: a study's figures for one query at a time, with the plans behind them.

Controls: the query, the metric (p50, p95, p99 or throughput), the engine, the variants to show, the
variant whose plan to draw and another to compare it with. Everything shown is computed from the
results on disk (``Results``): nothing is measured again.
"""

from __future__ import annotations

import html
from functools import cached_property

import ipywidgets as widgets
import pandas as pd

from workbench import plans
from workbench.bench import plots, stats
from workbench.bench.results import Results, frame_html
from workbench.ui.panel import NoData, Panel, html_box, image, plot_png

METRICS = {"p50": "measured p50 latency (ms; bars: 95% bootstrap interval)",
           "p95": "measured p95 latency (ms)", "p99": "measured p99 latency (ms)",
           "throughput": "measured throughput (executions/s, one client)"}
NONE = "(none)"


class ResultsPanel(Panel):
    """One query of a study: the metric per variant, speed-ups over the baseline, the plan and a plan diff."""

    def __init__(self, results: Results, *, query: str | None = None, metric: str = "p50"):
        super().__init__()
        self.results = results
        runs = results.executions
        queries = list(pd.unique(runs["query"])) or [NONE]
        engines = list(pd.unique(runs["engine"])) or [NONE]
        variants = list(dict.fromkeys([*results.variants["variant"], *runs["variant"]]))
        self.title = f"Explore study {results.name!r}: {len(variants)} variants, {len(queries)} queries"
        self.controls = {
            "query": widgets.Dropdown(options=queries, value=query or queries[0], description="query"),
            "metric": widgets.ToggleButtons(options=list(METRICS), value=metric, description="metric"),
            "engine": widgets.Dropdown(options=engines, description="engine", disabled=len(engines) == 1),
            "variants": widgets.SelectMultiple(options=variants, value=tuple(variants), description="variants",
                                               rows=min(6, max(2, len(variants)))),
            "plan": widgets.Dropdown(options=variants or [NONE], description="plan of"),
            "compare": widgets.Dropdown(options=[NONE, *variants], value=NONE, description="diff with"),
        }
        self.plot = image()
        self.table = html_box()
        self.plan_view = html_box()
        self.plan_picture = image()
        c = self.controls
        self.assemble([widgets.HBox([c["query"], c["engine"]]), c["metric"]], [
            widgets.HBox([c["variants"], widgets.VBox([self.plot], layout=widgets.Layout(width="70%"))]),
            self.table, widgets.HBox([c["plan"], c["compare"]]), self.plan_view, self.plan_picture,
        ])
        self.refresh()

    # -- what the results give, computed once ------------------------------------------------------------

    @cached_property
    def summary(self) -> pd.DataFrame:
        return self.results.summary()

    @cached_property
    def speedups(self) -> pd.DataFrame:
        return self.results.speedups()

    @cached_property
    def throughput(self) -> pd.DataFrame:
        return stats.throughput(self.results.executions)

    # -- views -----------------------------------------------------------------------------------------

    def update(self) -> None:
        engine, query, metric = (self.controls[k].value for k in ("engine", "query", "metric"))
        self._show_plan(engine, query)
        chosen = list(self.controls["variants"].value)
        if not chosen:
            raise NoData("pick at least one variant (ctrl- or shift-click in the list)")
        values = self._values(engine, query, metric, chosen)
        if values["value"].isna().all():
            raise NoData(f"no measured {metric} for query {query!r} on {engine} in the chosen variants: "
                         f"{self._why_missing(engine, query)}")
        self.show("plot", self.plot, plot_png(lambda ax: _titled(plots.metric_bars(values, METRICS[metric], ax),
                                                                 f"{query} on {engine}")))
        self.table.value = self._speedup_html(engine, query, metric, chosen, values)

    def static_html(self) -> str:
        c = self.controls
        state = f"query {c['query'].value} on {c['engine'].value}, {c['metric'].value}"
        return (f"<p><b>{html.escape(self.title)}</b> ({html.escape(state)})</p>"
                f"{self.message.value}{self.picture_html('plot', 'metric per variant')}{self.table.value}"
                f"{self.plan_view.value}{self.picture_html('plan', 'plan')}")

    # -- helpers ---------------------------------------------------------------------------------------

    def _values(self, engine: str, query: str, metric: str, chosen: list[str]) -> pd.DataFrame:
        if metric == "throughput":
            frame = self.throughput.rename(columns={"per_second": "value"})
        else:
            frame = self.summary.rename(columns={metric: "value", "p50_low": "low", "p50_high": "high"})
            if metric != "p50":
                frame = frame.drop(columns=["low", "high"])
        frame = frame[(frame["engine"] == engine) & (frame["query"] == query)].set_index("variant")
        return frame.reindex(chosen).reset_index()

    def _speedup_html(self, engine: str, query: str, metric: str, chosen: list[str], values: pd.DataFrame) -> str:
        baseline = self.results.baseline
        table = self.speedups
        table = table[(table["engine"] == engine) & (table["query"] == query) & table["variant"].isin(chosen)]
        table = table[["variant", "baseline_p50", "p50", "ratio", "ratio_low", "ratio_high", "verdict"]].rename(
            columns={"baseline_p50": f"{baseline} p50 (ms)", "p50": "p50 (ms)", "ratio": "speed-up (x)",
                     "ratio_low": "low (x)", "ratio_high": "high (x)"})
        if metric != "p50":
            by_variant = values.set_index("variant")["value"]
            base = self._values(engine, query, metric, [baseline])["value"].iloc[0]
            ratio = by_variant / base if metric == "throughput" else base / by_variant
            table[f"{metric} ratio (x)"] = table["variant"].map(ratio).to_numpy()
        note = ("speed-up: baseline p50 / variant p50, with its 95% bootstrap interval; a verdict other than "
                "'no clear difference' needs the interval to exclude 1")
        if metric != "p50":
            note += f"; the {metric} ratio has no interval"
        return (f"<p><b>Speed-up over {html.escape(baseline)}</b> <small>({html.escape(note)})</small></p>"
                + frame_html(table, empty=f"no other variant than the baseline {baseline!r} is chosen"))

    def _show_plan(self, engine: str, query: str) -> None:
        first, second = self.controls["plan"].value, self.controls["compare"].value
        plan = self._plan(engine, query, first)
        if plan is None:
            self.plan_view.value = (f"<p><i>no plan of {html.escape(first)} for {html.escape(query)} on "
                                    f"{html.escape(engine)}: the study ran with measure_only, or the variant "
                                    "failed (see results.failures())</i></p>")
            self.plan_picture.value, self.pictures["plan"] = b"", lambda: b""
            return
        text = f"<p><b>Plan of {html.escape(first)}</b>: {html.escape(plan.summary())}</p>"
        if second != NONE:
            other = self._plan(engine, query, second)
            text += (f"<p><i>no plan of {html.escape(second)} to compare with</i></p>" if other is None else
                     f"<p><b>{html.escape(first)} → {html.escape(second)}</b></p>"
                     f"{plans.diff(plan, other)._repr_html_()}")
        self.plan_view.value = text
        self.show("plan", self.plan_picture, plan.png)

    def _plan(self, engine: str, query: str, variant: str) -> plans.Plan | None:
        rows = self.results.plans
        rows = rows[(rows["engine"] == engine) & (rows["query"] == query) & (rows["variant"] == variant)]
        documents = rows["plan_json"].dropna()
        return plans.from_document(documents.iloc[0], engine) if len(documents) else None

    def _why_missing(self, engine: str, query: str) -> str:
        failures = self.results.failures()
        failures = failures[(failures["engine"] == engine) & (failures["query"].isin([query, None]))]
        if failures.empty:
            return "it has no measured executions there (pick another engine or query)"
        return "; ".join(f"{row.variant}: {row.reason}" for row in failures.itertuples())


def _titled(ax, title: str):
    ax.set_title(title, fontsize="small")
    return ax


def panel(results: Results, **options: object) -> ResultsPanel:
    """``explore(results)``, or ``results.explore()``."""
    return ResultsPanel(results, **options)
