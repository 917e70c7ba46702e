"""Prove a policy: run the attack suite on the real PostgreSQL as each role and tenant, and keep the matrix.

``prove(engine, policy)`` applies the policy in the engine's sandbox when it is not applied yet, picks two
tenants with rows in every tenant table, logs in as each role (a login member of it), and runs every attack
of :mod:`workbench.security.attacks` for each tenant against the other. The result is a :class:`Proof`: a
DataFrame (attack, target, role, tenant, victim, expected, result, detail), a colour matrix, and the holes
(attacks the policy should block that got through).
"""

from __future__ import annotations

import html
import json
import time
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from sqlglot import exp

from workbench.bench.results import frame_html
from workbench.errors import WorkbenchError
from workbench.progress import tqdm
from workbench.safe_display import safe_html
from workbench.security.apply import apply
from workbench.security.attacks import ALLOWED, ATTACKS, BLOCKED, Probe, targets
from workbench.security.generate import Target, require_postgres, role_names
from workbench.security.logins import logins
from workbench.security.plots import attack_matrix
from workbench.security.rows import new_row, python
from workbench.security.spec import Policy

COLUMNS = ["attack", "target", "role", "tenant", "victim", "expected", "result", "detail"]
JSON_KEYS = ["attack", "role", "tenant", "expected", "result", "detail", "target"]


class Proof:
    """The attack matrix of one policy on one engine; ``holes`` are the attacks it should block and did not."""

    def __init__(self, frame: pd.DataFrame, policy: Policy, *, notes: list[str] | None = None,
                 seconds: float = float("nan")):
        self.frame = frame[COLUMNS].reset_index(drop=True)
        self.policy = policy
        self.notes = list(notes or [])
        self.seconds = seconds

    @property
    def holes(self) -> pd.DataFrame:
        """Attacks the policy should block that succeeded."""
        return self.frame[(self.frame["expected"] == BLOCKED) & (self.frame["result"] == ALLOWED)]

    @property
    def ok(self) -> bool:
        return self.holes.empty

    def summary(self) -> pd.DataFrame:
        """Per attack and role: how many attempts, how many got through, and how many of those are holes."""
        frame = self.frame.assign(allowed=self.frame["result"] == ALLOWED,
                                  hole=(self.frame["expected"] == BLOCKED) & (self.frame["result"] == ALLOWED))
        return frame.groupby(["attack", "role"], sort=False).agg(
            attempts=("result", "size"), allowed=("allowed", "sum"), holes=("hole", "sum")).reset_index()

    def to_json(self, *, indent: int | None = 2) -> str:
        """``{"attacks": [{"attack", "role", "tenant", "expected", "result", "detail", "target"}, ...]}``."""
        records = [{key: _plain(row[key]) for key in JSON_KEYS} for row in self.frame.to_dict("records")]
        return json.dumps({"attacks": records}, indent=indent, ensure_ascii=False)

    def plot(self, ax: Axes | None = None) -> Axes:
        """The matrix: attack and target down, role and tenant across, coloured by outcome against intent."""
        return attack_matrix(self.frame, ax)

    def explore(self, **options: Any) -> Any:
        """A panel: pick the attacking tenant, an attack and a role; its cells of the matrix, PostgreSQL's answers
        and the policy statements that stop it follow (see :mod:`workbench.ui.tenancy_panel`)."""
        from workbench.ui import explore

        return explore(self, **options)

    def __repr__(self) -> str:
        verdict = "every attack it should block was blocked" if self.ok else f"{len(self.holes)} holes"
        return (f"<Proof: {len(self.frame)} attacks ({self.frame['attack'].nunique()} kinds) as "
                f"{self.frame['role'].nunique()} roles x {self.frame['tenant'].nunique()} tenants: {verdict}>")

    def _repr_html_(self) -> str:
        return safe_html(Proof._html, self)

    def _html(self) -> str:
        holes = frame_html(self.holes.drop(columns=["expected", "result"]), empty="none")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<p><b>{html.escape(repr(self))}</b></p><h4>Holes</h4>{holes}"
                f"<h4>Per attack and role</h4>{frame_html(self.summary())}"
                + (f"<p>Not run:</p><ul>{notes}</ul>" if notes else ""))


def prove(engine: Any, policy: Policy, *, tenants: tuple[Any, Any] | None = None, progress: bool = True) -> Proof:
    """Run every attack as each policy role, for two tenants against each other, on ``engine``'s sandbox.

    Applies ``policy`` first unless it is applied there already. ``tenants`` picks the two tenants (default:
    the two smallest tenant ids with rows in every tenant table).
    """
    require_postgres(engine)
    started = time.perf_counter()
    roles = role_names(policy, engine.role_prefix)
    applied = [name for name in roles.values() if name in engine.roles]
    if applied and len(applied) != len(roles):
        raise WorkbenchError(f"this sandbox holds only some of the policy's roles ({', '.join(applied)}): another "
                             f"policy was applied here; prove each policy on its own sandbox (engine.clone())")
    pair = tenants or two_tenants(engine, policy)
    forged = {victim: {t: forged_row(engine, policy, t, victim) for t in policy.tenant_tables} for victim in pair}
    workbench_user = str(engine.query("SELECT session_user AS name")["name"].iloc[0])
    if not applied:
        apply(policy, engine)
    target = Target.of(policy, engine)
    plan = [(attack, name, t) for name in roles for attack in ATTACKS for t in targets(attack, policy, name)]
    rows = []
    with logins(engine, roles) as connections, tqdm(total=2 * len(plan), desc="attacks", unit="attack",
                                                     disable=not progress) as bar:
        for own, victim in (pair, pair[::-1]):
            for attack, name, aimed in plan:
                probe = Probe(name, connections[name], own, victim, policy, target, roles, workbench_user,
                              forged[victim])
                outcome = attack.run(probe, aimed)
                rows.append((attack.name, aimed, name, own, victim, attack.expect(policy, name, aimed),
                             *outcome))
                bar.update(1)
    notes = [f"{attack.name}: nothing to aim at ({attack.on})" for attack in ATTACKS
             if not any(a is attack for a, _, _ in plan)]
    return Proof(pd.DataFrame(rows, columns=COLUMNS), policy, notes=notes, seconds=time.perf_counter() - started)


def two_tenants(engine: Any, policy: Policy) -> tuple[Any, Any]:
    """The two smallest tenant ids with rows in every tenant table (the attacker and the victim)."""
    column = exp.column(policy.tenant_column, quoted=True)
    places = engine.places(policy.model)
    common: set | None = None
    for name in policy.tenant_tables:
        query = exp.select(column).distinct().from_(places[policy.model.table(name).key]).sql("postgres")
        found = set(engine.query(query)[policy.tenant_column])
        common = found if common is None else common & found
    if not common or len(common) < 2:
        raise WorkbenchError(f"proving isolation needs rows of at least two tenants in every tenant table "
                             f"({', '.join(policy.tenant_tables)}); load data first (domain.load(engine))")
    first, second = sorted(common)[:2]
    return python(first), python(second)


def forged_row(engine: Any, policy: Policy, table: str, tenant: Any) -> dict[str, Any]:
    """A valid new row of ``tenant`` in ``table``: its foreign keys keep pointing at the tenant's rows, so only
    the tenant check can stop the insert."""
    return new_row(engine, policy.model, table, where={policy.tenant_column: tenant}, keep=[policy.tenant_column])


def _plain(value: Any) -> Any:
    return value if isinstance(value, str) else python(value)
