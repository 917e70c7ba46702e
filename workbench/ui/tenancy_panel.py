"""``proof.explore()``: the attack matrix of a tenancy proof, one attack at a time.

Controls: the attacking tenant, an attack and a role (or all roles). Shown: the matrix of every attack
against every role for that tenant (as a table), the chosen attack's cells as a picture, what it tries
and what stops it (its docstring), each attempt's outcome with PostgreSQL's answer, the attack's code
(the SQL it runs) and the policy statements on what it aimed at. Nothing is run again.
"""

from __future__ import annotations

import html
import inspect
from functools import cached_property
from typing import Any

import ipywidgets as widgets
import pandas as pd

from workbench.bench.results import frame_html
from workbench.security.attacks import ATTACKS, Attack
from workbench.security.generate import DRY_RUN_PREFIX
from workbench.security.plots import OUTCOMES, attack_matrix
from workbench.security.prove import Proof
from workbench.ui.panel import NoData, Panel, html_box, image, plot_png

ALL = "(all roles)"
WORST_FIRST = [("blocked", "allowed"), ("allowed", "blocked"), ("allowed", "allowed"), ("blocked", "blocked")]


class TenancyPanel(Panel):
    """One attack of a proof: its cells in the matrix, what it tried, what PostgreSQL answered, and why."""

    def __init__(self, proof: Proof, *, attack: str | None = None, tenant: Any = None, role: str = ALL):
        super().__init__()
        self.proof = proof
        frame = proof.frame
        ran = list(dict.fromkeys(frame["attack"]))
        tenants = list(dict.fromkeys(frame["tenant"]))
        self.title = f"Tenancy proof: {proof!r}"
        self.controls = {
            "tenant": widgets.Dropdown(options=[(f"tenant {t}", t) for t in tenants] or [("none", None)],
                                       value=tenant if tenant is not None else (tenants or [None])[0],
                                       description="attacker", disabled=len(tenants) < 2),
            "attack": widgets.Dropdown(options=[*ran, *(a.name for a in ATTACKS if a.name not in ran)],
                                       value=attack or (ran or [ATTACKS[0].name])[0], description="attack"),
            "role": widgets.Dropdown(options=[ALL, *dict.fromkeys(frame["role"])], value=role, description="as role"),
        }
        self.matrix, self.detail, self.barriers = html_box(), html_box(), html_box()
        self.plot = image()
        c = self.controls
        self.assemble([widgets.HBox([c["tenant"], c["attack"], c["role"]])],
                      [self.detail, self.plot, self.barriers, self.matrix])
        self.refresh()

    @cached_property
    def statements(self) -> list[str]:
        """The policy's SQL (its dry run: roles named ``wb_dryrun_<role>``)."""
        return self.proof.policy.sql()

    def update(self) -> str | None:
        tenant, name, role = (self.controls[k].value for k in ("tenant", "attack", "role"))
        mine = self.proof.frame[self.proof.frame["tenant"] == tenant]
        self.matrix.value = (f"<p><b>Every attack as every role, tenant {html.escape(str(tenant))} attacking</b> "
                             f"(measured on PostgreSQL; each cell: the worst outcome of its attempts, and how many "
                             f"there were)</p>" + _matrix_html(mine))
        attack = next(a for a in ATTACKS if a.name == name)
        rows = mine[mine["attack"] == name]
        if role != ALL:
            rows = rows[rows["role"] == role]
        if rows.empty:
            raise NoData(self._why_not_run(attack, role))
        self.show("matrix", self.plot, plot_png(lambda ax: attack_matrix(rows, ax),
                                                 size=(7.0, 1.6 + 0.3 * rows["target"].nunique())))
        attempts = rows[["target", "role", "victim", "expected", "result", "detail"]]
        self.detail.value = (f"<p><b>{html.escape(name)}</b> on {html.escape(attack.on)}: "
                             f"{html.escape(attack.doc)}</p>" + frame_html(attempts))
        self.barriers.value = self._barriers_html(attack, rows)
        holes = int(((rows["expected"] == "blocked") & (rows["result"] == "allowed")).sum())
        return f"{holes} hole(s): attempts the policy should block got through" if holes else None

    def static_html(self) -> str:
        c = self.controls
        state = f"{c['attack'].value} by tenant {c['tenant'].value}, {c['role'].value}"
        return (f"<p><b>{html.escape(self.title)}</b> ({html.escape(state)})</p>{self.message.value}"
                f"{self.detail.value}{self.picture_html('matrix', 'outcome per target and role')}"
                f"{self.barriers.value}{self.matrix.value}")

    def _barriers_html(self, attack: Attack, rows: pd.DataFrame) -> str:
        """The attack's code, and the policy statements that name each relation or role it aimed at."""
        parts = [f"<details><summary>the attack's code (the SQL it runs)</summary>"
                 f"<pre>{html.escape(inspect.getsource(attack.run))}</pre></details>"]
        for target in dict.fromkeys(rows["target"]):
            named = "".join(f"{s};\n" for s in self.statements if _names(s, target))
            if named:
                parts.append(f"<details><summary>the policy's statements on {html.escape(target)} (dry run)"
                             f"</summary><pre>{html.escape(named)}</pre></details>")
        return "".join(parts)

    def _why_not_run(self, attack: Attack, role: str) -> str:
        notes = [n for n in self.proof.notes if n.startswith(f"{attack.name}:")]
        if notes:
            return f"{attack.name} did not run: {notes[0].partition(': ')[2]}"
        roles = sorted(set(self.proof.frame.loc[self.proof.frame["attack"] == attack.name, "role"]))
        return (f"{attack.name} was not run as {role}: it aims at {attack.on}, and has nothing of that to aim at as "
                f"this role; it ran as {', '.join(roles) or 'no role'}")


def _names(statement: str, target: str) -> bool:
    """True when ``statement`` names the relation (or policy role) ``target`` as an identifier."""
    return f'"{target.partition(".")[0]}"' in statement or f'"{DRY_RUN_PREFIX}{target}"' in statement


def _matrix_html(frame: pd.DataFrame) -> str:
    """Attack down, role across; each cell the worst outcome of its attempts (a hole first), coloured as the plot."""
    if frame.empty:
        return "<p><i>no attack ran</i></p>"
    roles = list(dict.fromkeys(frame["role"]))
    header = "".join(f"<th>{html.escape(r)}</th>" for r in roles)
    body = []
    for attack, attempts in frame.groupby("attack", sort=False):
        cells = []
        for role in roles:
            mine = attempts[attempts["role"] == role]
            if mine.empty:
                cells.append("<td>—</td>")
                continue
            seen = set(zip(mine["expected"], mine["result"], strict=True))
            worst = next(key for key in WORST_FIRST if key in seen)
            label, colour = OUTCOMES[worst]
            cells.append(f"<td style='background:{colour}'>{html.escape(label)} ({len(mine)})</td>")
        body.append(f"<tr><th style='text-align:left'>{html.escape(attack)}</th>{''.join(cells)}</tr>")
    return f"<table><tr><th>attack</th>{header}</tr>{''.join(body)}</table>"


def panel(proof: Proof, **options: Any) -> TenancyPanel:
    """``explore(proof)``, or ``proof.explore()``."""
    return TenancyPanel(proof, **options)
