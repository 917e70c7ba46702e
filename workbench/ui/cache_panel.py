"""``results.explore()`` on a cache simulation: size and TTL sliders over the simulated miss-ratio curve.

The sliders' stops are the sizes and TTLs that were simulated (``simulate(..., sizes=[...], ttls=[...])``);
a policy, a strategy and an invalidation pick the curve. At the chosen point: every policy's hit ratio,
staleness and database load beside Belady's optimum, and which queries to cache within that size
(``what_to_cache``, simulated once per point). Nothing else is simulated again.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import pandas as pd

from workbench.bench.results import frame_html
from workbench.cache.policies import OPTIMUM
from workbench.cache.results import CacheResults
from workbench.cache.sizes import format_size, parse_size
from workbench.errors import WorkbenchError
from workbench.ui.panel import NoData, Panel, html_box, image, mark, plot_png

NO_TTL = -1.0  # the TTL slider's stop for "no TTL" (a slider value cannot be None)
FIGURES = {"hit_ratio": "hit ratio", "byte_hit_ratio": "byte hit ratio", "stale_rate": "stale reads",
           "db_queries_per_s": "database queries/s", "db_time_saved_ms": "database time saved (ms)"}
ADVICE = {"query": "query", "cache": "cache it", "working_set_bytes": "working set (bytes)",
          "saved_ms_per_mb": "saved ms per MB", "expected_hit_ratio": "expected hit ratio",
          "expected_stale_rate": "expected stale reads"}


class CachePanel(Panel):
    """One point of the simulated curves: a cache size, a TTL, a policy; its figures and what to cache."""

    def __init__(self, results: CacheResults, *, policy: str | None = None, size: str | int | None = None,
                 ttl_s: float | None = None):
        super().__init__()
        self.results = results
        frame = results.frame
        sizes = sorted(frame["size_bytes"].unique())
        ttls = sorted(frame["ttl_s"].dropna().unique())
        policies = [p for p in frame["policy"].unique() if p != OPTIMUM] or [OPTIMUM]
        self.advice: dict[tuple, pd.DataFrame] = {}  # what_to_cache per point, simulated once
        self.title = f"Cache simulation: {results!r}"
        default = results.best()
        self.controls = {
            "size": _slider([(format_size(s), int(s)) for s in sizes],
                            parse_size(size) if size is not None else int(default["size_bytes"]), "cache size"),
            "ttl": _slider([*([("no TTL", NO_TTL)] if frame["ttl_s"].isna().any() else []),
                            *((f"{t:g} s", float(t)) for t in ttls)],
                           _stop(ttl_s if ttl_s is not None else default["ttl_s"]), "TTL"),
            "policy": widgets.Dropdown(options=policies, value=policy or default["policy"],
                                       description="policy"),
            "strategy": widgets.Dropdown(options=list(frame["strategy"].unique()), value=default["strategy"],
                                         description="strategy"),
            "invalidation": widgets.Dropdown(options=list(frame["invalidation"].unique()),
                                             value=default["invalidation"], description="invalidation"),
        }
        self.plot = image()
        self.summary, self.figures, self.chosen = html_box(), html_box(), html_box()
        c = self.controls
        self.assemble([c["size"], c["ttl"], widgets.HBox([c["policy"], c["strategy"], c["invalidation"]])],
                      [self.summary, widgets.HBox([widgets.VBox([self.plot], layout=widgets.Layout(width="55%")),
                                                   self.figures]), self.chosen])
        self.refresh()

    @property
    def point(self) -> dict:
        """The controls' values as ``what_to_cache``'s keywords (TTL as None when there is none)."""
        c = self.controls
        ttl = c["ttl"].value
        return {"policy": c["policy"].value, "strategy": c["strategy"].value, "invalidation": c["invalidation"].value,
                "ttl_s": None if ttl == NO_TTL else ttl}

    def update(self) -> str | None:
        point, size = self.point, self.controls["size"].value
        rows = self._rows(point)
        at_size = rows[rows["size_bytes"] == size].set_index("policy")
        if point["policy"] not in at_size.index:
            raise NoData(f"{point['policy']} has no simulated row at {format_size(size)}, {_where(point)} "
                         f"(see the simulation's notes: {'; '.join(self.results.notes) or 'none'})")
        chosen = at_size.loc[point["policy"]]
        label = f"{point['policy']} at {format_size(size)}"
        self.show("curve", self.plot, plot_png(lambda ax: mark(self.results.miss_ratio_curve(
            ax, strategy=point["strategy"], ttl_s=point["ttl_s"], invalidation=point["invalidation"]),
            size, chosen["hit_ratio"], label), size=(6.0, 3.6)))
        self.summary.value = f"<p><b>{html.escape(label)}</b>, {html.escape(_where(point))}: " \
                             f"{html.escape(_summary(chosen, at_size))}</p>"
        shown = at_size[list(FIGURES)].rename(columns=FIGURES).rename(index={OPTIMUM: "Belady (optimum)"})
        self.figures.value = ("<p><b>Every policy at this point</b> (simulated)</p>"
                              + frame_html(shown.reset_index()))
        advice = self._advice(point, size)
        self.chosen.value = (f"<p><b>What to cache within {html.escape(format_size(size))}</b> "
                             f"({html.escape(point['policy'])}; queries ranked by database time saved per cached "
                             f"byte)</p>"
                             + frame_html(advice[list(ADVICE)].rename(columns=ADVICE), empty="no read query"))
        return "; ".join(self.results.notes) or None

    def static_html(self) -> str:
        return (f"<p><b>{html.escape(self.title)}</b></p>{self.summary.value}{self.message.value}"
                f"{self.picture_html('curve', 'hit ratio against cache size')}{self.figures.value}"
                f"{self.chosen.value}")

    def _rows(self, point: dict) -> pd.DataFrame:
        """The simulated rows of the chosen strategy, invalidation and TTL (all sizes, all policies)."""
        frame = self.results.frame
        rows = frame[(frame["strategy"] == point["strategy"]) & (frame["invalidation"] == point["invalidation"])]
        rows = rows[rows["ttl_s"].isna()] if point["ttl_s"] is None else rows[rows["ttl_s"] == point["ttl_s"]]
        if rows.empty or point["policy"] not in set(rows["policy"]):
            simulated = frame[frame["strategy"] == point["strategy"]]
            combos = sorted({f"{i}, {_ttl(t)}" for i, t in zip(simulated["invalidation"], simulated["ttl_s"],
                                                                  strict=True)})
            raise NoData(f"{point['policy']} was not simulated with {_where(point)}; {point['strategy']} was "
                         f"simulated with: {'; '.join(combos) or 'nothing'}")
        return rows

    def _advice(self, point: dict, size: int) -> pd.DataFrame:
        key = (size, *point.values())
        if key not in self.advice:
            self.advice[key] = self.results.what_to_cache(size, **point)
        return self.advice[key]


def _slider(options: list[tuple[str, float]], value: float, description: str) -> widgets.SelectionSlider:
    """A slider over the simulated stops, set by index (set by value at the first stop, its label stays empty)."""
    values = [v for _, v in options]
    if value not in values:
        raise WorkbenchError(f"{description} {value:g} was not simulated; the stops are: "
                             f"{', '.join(label for label, _ in options)}")
    return widgets.SelectionSlider(options=options, index=values.index(value),
                                   description=description, continuous_update=False, disabled=len(options) == 1,
                                   layout=widgets.Layout(width="60%"))


def _stop(ttl: float | None) -> float:
    return NO_TTL if ttl is None or pd.isna(ttl) else float(ttl)


def _ttl(ttl: float | None) -> str:
    return "no TTL" if ttl is None or pd.isna(ttl) else f"TTL {ttl:g} s"


def _where(point: dict) -> str:
    return f"{point['strategy']}, {point['invalidation']}, {_ttl(point['ttl_s'])}"


def _summary(chosen: pd.Series, at_size: pd.DataFrame) -> str:
    text = f"hit ratio {chosen['hit_ratio']:.1%}, stale reads {chosen['stale_rate']:.2%}"
    if OPTIMUM in at_size.index:
        best = at_size.loc[OPTIMUM, "hit_ratio"]
        text += f"; Belady's optimum {best:.1%}" + (f" ({chosen['hit_ratio'] / best:.0%} of it)" if best else "")
    return text


def panel(results: CacheResults, **options: object) -> CachePanel:
    """``explore(cache_results)``, or ``cache_results.explore()``."""
    return CachePanel(results, **options)
