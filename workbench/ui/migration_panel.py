"""``migration.explore()``: a migration plan one statement at a time, with what it does to a running database.

Controls: the script (up or down) and one of its statements. For the statement: its SQL, the lock
PostgreSQL documents for it and what that lock blocks, whether it rewrites or scans the table or loses
data, where it runs in the script and in the expand/contract phases, and squawk's findings on it. A
measurement (``migration.measure(...)``) or a verification (``migration.verify(...)``) given to the
panel adds what was observed; nothing is run again.
"""

from __future__ import annotations

import html
from functools import cached_property
from typing import Any

import ipywidgets as widgets

from workbench.bench.results import frame_html
from workbench.errors import WorkbenchError
from workbench.migrate.locks import ACCESS_EXCLUSIVE, EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE
from workbench.migrate.measure import Measurement, plot_blocking
from workbench.migrate.plan import Migration
from workbench.migrate.squawk import AVOIDABLE, SquawkReport
from workbench.migrate.steps import Step
from workbench.migrate.verify import Verification
from workbench.ui.panel import NoData, Panel, html_box, image, plot_png

BLOCKING = frozenset({ACCESS_EXCLUSIVE, EXCLUSIVE, SHARE_ROW_EXCLUSIVE, SHARE})  # stop the application's writes
PLOT = (7.5, 4.8)  # the statements' first words stand rotated under the bars


class MigrationPanel(Panel):
    """One statement of the up or down script: SQL, lock, rewrite, phase, squawk, and what was measured."""

    def __init__(self, migration: Migration, *, lint: SquawkReport | None = None, measured: Measurement | None = None,
                 verified: Verification | None = None, direction: str = "up", step: int = 0):
        super().__init__()
        self.migration, self.measured, self.verified = migration, measured, verified
        self.problems: list[str] = []  # what could not be worked out (squawk missing, phases of another dialect)
        self.report = lint if lint is not None else self._lint()
        self.title = f"Migration plan: {migration!r}"
        self.controls = {
            "direction": widgets.ToggleButtons(options=["up", "down"], value=direction, description="script"),
            "step": widgets.Dropdown(description="statement", layout=widgets.Layout(width="90%")),
        }
        self.overview, self.detail, self.evidence = html_box(), html_box(), html_box()
        self.plot = image()
        self._syncing = False
        self._sync_steps(step)
        self.controls["direction"].observe(self._direction_changed, names="value")
        self.assemble([self.controls["direction"], self.controls["step"]],
                      [self.detail, self.plot, self.evidence, self.overview], watch=("step",))
        self.refresh()

    # -- what the plan gives, computed once ------------------------------------------------------------

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.migration.up if self.controls["direction"].value == "up" else self.migration.down

    @cached_property
    def stages(self) -> dict[int, str]:
        """Up step index -> its expand/contract phase (planned from the safe form: a step of another form is
        placed by its change, which may span several phases)."""
        try:
            phases = self.migration.phases
        except WorkbenchError as error:
            self.problems.append(f"no expand/contract phases: {error}")
            return {}
        found = {}
        for index, step in enumerate(self.migration.up):
            same = [p.name for p in phases if step in p.steps]
            change = f"{step.change.kind} {step.change.object}" if step.change else None
            serving = [p.name for p in phases if change in p.changes]
            found[index] = same[0] if same else f"its change: {' + '.join(serving)}" if serving else "—"
        return found

    @cached_property
    def scripts(self) -> dict[str, Any]:
        return {"up": self.migration.up_script(), "down": self.migration.down_script()}

    def findings(self, direction: str) -> dict[int, list]:
        """squawk's findings on ``direction``, per step index."""
        found: dict[int, list] = {}
        for finding in self.report.findings if self.report else ():
            if finding.direction == direction:
                found.setdefault(self.scripts[direction].step_at(finding.line), []).append(finding)
        return found

    # -- views -----------------------------------------------------------------------------------------

    def update(self) -> str | None:
        direction, index = self.controls["direction"].value, self.controls["step"].value
        self.overview.value = self._overview_html(direction)
        if index is None:
            raise NoData(f"the {direction} script has no statements: the two schemas are the same")
        step = self.steps[index]
        findings = self.findings(direction).get(index, [])
        self.detail.value = self._step_html(direction, index, step, findings)
        note = self._show_measured(direction, index)
        self.evidence.value = self._evidence_html(direction, index)
        return "; ".join([*self.problems, *([note] if note else [])]) or None

    def static_html(self) -> str:
        c = self.controls
        return (f"<p><b>{html.escape(self.title)}</b> ({html.escape(c['direction'].value)} script, statement "
                f"{html.escape(str(c['step'].label))})</p>{self.message.value}{self.detail.value}"
                f"{self.picture_html('blocking', 'measured blocking per statement')}{self.evidence.value}"
                f"{self.overview.value}")

    def _step_html(self, direction: str, index: int, step: Step, findings: list) -> str:
        stage = self.stages.get(index, "") if direction == "up" else ""
        facts = [("lock", f"{step.lock or 'none'} on {step.table or 'no table'}"
                          + (f", {step.other_lock} on {step.other}" if step.other_lock else "")),
                 ("blocks", step.blocks), ("rewrites the table", _yes(step.rewrite)),
                 ("scans the table", _yes(step.scan)), ("in a transaction", _yes(step.transactional)),
                 ("loses", step.data_loss or "nothing"),
                 ("order in the script", f"{index + 1} of {len(self.steps)}, "
                                         f"{step.phase.name.lower().replace('_', ' ')}"),
                 ("expand/contract phase", stage or "—"), ("documented in", step.source)]
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in facts)
        verdict = _verdict(step, findings)
        lint = ("".join(f"<li><b>{html.escape(f.rule)}</b> ({html.escape(f.category)}): {html.escape(f.message)}"
                        f"{' <i>' + html.escape(f.help) + '</i>' if f.help else ''}</li>" for f in findings)
                or "<li>no finding</li>") if self.report else "<li>not linted</li>"
        note = f"<p><i>{html.escape(step.note)}</i></p>" if step.note else ""
        return (f"<p><b>{html.escape(verdict)}</b></p><pre>{html.escape(step.sql)};</pre>{note}<table>{rows}</table>"
                f"<p><b>squawk</b></p><ul>{lint}</ul>")

    def _overview_html(self, direction: str) -> str:
        frame = self.migration.to_frame(direction)
        if frame.empty:
            return f"<p><i>the {direction} script has no statements</i></p>"
        findings = self.findings(direction)
        frame.insert(0, "#", range(1, len(frame) + 1))
        if direction == "up" and self.stages:
            frame.insert(2, "phase", [self.stages.get(i, "—") for i in range(len(frame))])
        frame["squawk"] = [len(findings.get(i, [])) for i in range(len(frame))]
        return f"<p><b>Every statement of the {direction} script</b></p>" + frame_html(frame)

    def _aligned(self, direction: str) -> bool:
        """True when the measurement ran exactly this script, so that its rows are this script's statements."""
        measured = self.measured
        return (measured is not None and direction == "up" and measured.label != "phases"
                and len(measured.frame) == len(self.steps))

    def _show_measured(self, direction: str, index: int) -> str | None:
        """The measured blocking per statement (the chosen one outlined); a note on what was observed."""
        measured = self.measured
        if measured is None:
            self.plot.value, self.pictures["blocking"] = b"", lambda: b""
            return None
        aligned = self._aligned(direction)
        self.show("blocking", self.plot, plot_png(lambda ax: _ringed(plot_blocking(measured, ax=ax),
                                                                     index if aligned else None), PLOT))
        if not aligned:
            why = ("the measurement ran the expand/contract phases" if measured.label == "phases" else
                   "the measurement ran the up script" if direction == "down" else
                   "the measurement has another number of statements than this plan")
            return f"{why}: its figures are per statement of that run (the picture), not of this one"
        row = measured.frame.iloc[index]
        if row["observed_lock"] and row["observed_lock"] != row["expected_lock"]:
            return f"measured: statement {index + 1} held {row['observed_lock']}, not the documented " \
                   f"{row['expected_lock']}"
        return None

    def _evidence_html(self, direction: str, index: int) -> str:
        parts = []
        if self.measured is not None:
            if self._aligned(direction):
                shown = self.measured.frame.iloc[[index]][list(_MEASURED)].rename(columns=_MEASURED)
                parts.append("<p><b>Measured</b> (this statement, under the concurrent workload)</p>"
                             + frame_html(shown))
            parts.append(f"<p><small>{html.escape(repr(self.measured))}</small></p>")
        if self.verified is not None:
            parts.append(self.verified._repr_html_())
        return "".join(parts)

    # -- helpers ---------------------------------------------------------------------------------------

    def _lint(self) -> SquawkReport | None:
        if self.migration.dialect != "postgres":
            self.problems.append(f"squawk lints PostgreSQL scripts only; this plan is for {self.migration.dialect}")
            return None
        try:
            return self.migration.lint()
        except WorkbenchError as error:
            self.problems.append(f"not linted: {error}")
            return None

    def _direction_changed(self, _change: dict) -> None:
        self._sync_steps(0)
        self.refresh()

    def _sync_steps(self, index: int) -> None:
        """The statements of the chosen script as the step's choices, set without a redraw (one follows)."""
        self._syncing = True
        try:
            control = self.controls["step"]
            control.options = [(f"{i + 1}. {_first_words(s.sql)}", i) for i, s in enumerate(self.steps)]
            control.value = min(index, len(self.steps) - 1) if self.steps else None
        finally:
            self._syncing = False

    def _changed(self, change: dict) -> None:
        if not self._syncing:
            super()._changed(change)


_MEASURED = {"expected_lock": "documented lock", "observed_lock": "held (pg_locks)", "rewrote": "rewrote",
          "duration_ms": "took (ms)", "max_wait_ms": "longest wait (ms)", "blocked_ms": "blocked (ms)",
          "waiting_sessions": "sessions waiting", "workload_errors": "workload errors", "first_error": "first error"}


def _verdict(step: Step, findings: list) -> str:
    """Why the statement is risky under load, or that it is not."""
    risks = [f"takes {step.lock}, which blocks {step.blocks}"] if step.lock in BLOCKING else []
    risks += ["rewrites the whole table while holding it"] if step.rewrite else []
    risks += [f"loses {step.data_loss}"] if step.data_loss else []
    risks += [f"{n} avoidable squawk finding(s)" for n in [sum(f.category == AVOIDABLE for f in findings)] if n]
    return ("risky under load: " + "; ".join(risks)) if risks else "safe under load: weak locks, no rewrite, no loss"


def _ringed(ax, index: int | None):
    """The bar of the chosen statement outlined in red (the first group: the measurement given)."""
    if index is not None and index < len(ax.patches):
        ax.patches[index].set_edgecolor("tab:red")
        ax.patches[index].set_linewidth(2.5)
    ax.set_title(ax.get_title(), fontsize="small")
    return ax


def _first_words(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 90 else text[:87] + "..."


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def panel(migration: Migration, **options: Any) -> MigrationPanel:
    """``explore(migration)``, or ``migration.explore(measured=..., verified=...)``."""
    return MigrationPanel(migration, **options)

