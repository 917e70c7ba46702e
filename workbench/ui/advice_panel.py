"""``advice.explore()``: a storage-budget slider over the measured budget curve of the index advisor.

The slider's stops are the budgets the advice was measured at (``advise(..., budgets_mb=[...])``);
moving it shows that budget's index set, its SQL and each query's measured saving. Nothing is
measured again: every stop was advised with the same measurements when the advice was made.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import pandas as pd

from workbench.advisor.advice import MB, Advice, plot_budget_curve
from workbench.bench.results import frame_html
from workbench.ui.panel import Panel, html_box, image, mark, plot_png


class AdvicePanel(Panel):
    """The advised index set at the budget the slider picks, on the measured curve."""

    def __init__(self, advice: Advice):
        super().__init__()
        self.advice = advice
        self.curve = advice.curve()
        budgets = list(advice.by_budget)
        self.title = f"Index advice ({advice.engine}): {len(budgets)} budgets measured"
        self.controls = {"budget": widgets.SelectionSlider(
            options=[(f"{budget:g} MB", budget) for budget in budgets], value=advice.budget_bytes / MB,
            description="budget", disabled=len(budgets) == 1, continuous_update=False,
            layout=widgets.Layout(width="60%"))}
        self.plot = image()
        self.summary = html_box()
        self.chosen = html_box()
        self.statements = html_box()
        self.savings = html_box()
        self.assemble([self.controls["budget"]], [
            self.summary, widgets.HBox([widgets.VBox([self.plot], layout=widgets.Layout(width="50%")), self.chosen]),
            self.statements, self.savings])
        self.refresh()

    @property
    def current(self) -> Advice:
        """The advice at the budget the slider shows."""
        return self.advice.by_budget[self.controls["budget"].value]

    def update(self) -> str | None:
        advice, budget = self.current, self.controls["budget"].value
        self.show("curve", self.plot, plot_png(lambda ax: mark(plot_budget_curve(self.curve, ax), budget,
                                                               advice.after_ms, budget_label(budget)), size=(5.5, 3.2)))
        self.summary.value = f"<p><b>{html.escape(budget_label(budget))}</b>: {html.escape(advice._summary())}</p>"
        self.chosen.value = _recommendations_html(advice)
        statements = "\n".join(statement + ";" for statement in advice.sql()) or "-- nothing to create"
        self.statements.value = (f"<p><b>SQL</b> (the dry run of advice.apply(engine))</p>"
                                 f"<pre>{html.escape(statements)}</pre>")
        self.savings.value = "<p><b>Per query</b> (measured, weighted ms per execution)</p>" + frame_html(
            _savings(advice.queries))
        return self._note(advice, budget)

    def static_html(self) -> str:
        return (f"<p><b>{html.escape(self.title)}</b></p>{self.summary.value}{self.message.value}"
                f"{self.picture_html('curve', 'workload time against the storage budget')}{self.chosen.value}"
                f"{self.statements.value}{self.savings.value}")

    def _note(self, advice: Advice, budget: float) -> str | None:
        notes = []
        if len(self.advice.by_budget) == 1:
            notes.append("measured at one budget only: advise(..., budgets_mb=[0.5, 1, 2, 4]) measures a curve "
                         "for the slider")
        if not advice.recommendations:
            sizes = [r.bytes for a in self.advice.by_budget.values() for r in a.recommendations]
            notes.append(f"no index fits within {budget:g} MB: the smallest index advised at any budget needs "
                         f"{min(sizes) / MB:.2g} MB" if sizes else
                         "no index pays off on this data at any budget measured: the workload is as fast "
                         "without more indexes (try a larger scale)")
        return "; ".join(notes) or None


def budget_label(budget: float) -> str:
    return f"budget {budget:g} MB"


def _recommendations_html(advice: Advice) -> str:
    rows = pd.DataFrame([{"table": r.table, "index": f"{r.name} {r.index}", "size (MB)": r.bytes / MB,
                          "build (s)": r.build_s, "saved (ms)": r.saved_ms, "queries": ", ".join(r.queries)}
                         for r in advice.recommendations])
    drops = "".join(f"<li><code>{html.escape(d.statement)}</code>: {html.escape(d.reason)}</li>" for d in advice.drops)
    return ("<p><b>Indexes to create</b></p>" + frame_html(rows, empty="none within this budget")
            + (f"<p><b>Indexes to drop</b></p><ul>{drops}</ul>" if drops else ""))


def _savings(queries: pd.DataFrame) -> pd.DataFrame:
    frame = queries[["query", "weight", "before_ms", "after_ms", "same_answers"]].copy()
    frame["saved_ms"] = frame["before_ms"] - frame["after_ms"]
    frame["saved_pct"] = 100 * frame["saved_ms"] / frame["before_ms"]
    return frame.rename(columns={"before_ms": "before (ms)", "after_ms": "after (ms)", "saved_ms": "saved (ms)",
                                 "saved_pct": "saved (%)", "same_answers": "same answers"})


def panel(advice: Advice) -> AdvicePanel:
    """``explore(advice)``, or ``advice.explore()``."""
    return AdvicePanel(advice)
