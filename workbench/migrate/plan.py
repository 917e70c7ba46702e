"""``plan_migration(old, new)``: ordered, annotated up and down scripts, naive or production-safe.

The down script is the plan of the reverse diff (new -> old) with the up renames turned around, so both
directions are built by the same renderer and checked the same way (``Migration.verify``).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.migrate.changes import Kind, Note
from workbench.migrate.diff import SchemaDiff, Source, diff
from workbench.migrate.locks import Form
from workbench.migrate.renames import Hints
from workbench.migrate.render import Renderer
from workbench.migrate.script import Script, render_script
from workbench.migrate.steps import Step
from workbench.safe_display import safe_html

if TYPE_CHECKING:
    from workbench.migrate.phases import Phase
    from workbench.migrate.squawk import SquawkReport


class IncompleteMigration(WorkbenchError):
    """The plan cannot reach the new schema: some change has no statement in the target dialect."""


@dataclass(frozen=True)
class Migration:
    """Up and down steps from ``diff.old`` to ``diff.new`` in one dialect, with notes and data-loss marks."""

    diff: SchemaDiff
    dialect: str
    safe: bool
    up: tuple[Step, ...]
    down: tuple[Step, ...]
    notes: tuple[Note, ...] = ()
    down_notes: tuple[Note, ...] = ()
    reverse: SchemaDiff | None = field(default=None, repr=False, compare=False)
    backups: tuple[Step, ...] = ()  # copies of what up destroys, to run before it

    def backup_sql(self) -> str:
        """``CREATE TABLE ... AS SELECT`` copies of every column and table the up script drops."""
        return render_script(self.backups, title="copies of the data the up script drops: run before up",
                             transactions=False).text

    # -- scripts ---------------------------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        """False when a blocking note says the up or down script cannot reach its schema."""
        return not any(n.blocking for n in (*self.notes, *self.down_notes))

    def up_script(self) -> Script:
        return render_script(self.up, title=self._title("up", self.notes), transactions=self.safe)

    def down_script(self) -> Script:
        return render_script(self.down, title=self._title("down", self.down_notes), transactions=self.safe)

    def up_sql(self, *, allow_incomplete: bool = False) -> str:
        """The up script; raises :class:`IncompleteMigration` rather than return a partial script silently."""
        self._check(self.notes, "up", allow_incomplete)
        return self.up_script().text

    def down_sql(self, *, allow_incomplete: bool = False) -> str:
        self._check(self.down_notes, "down", allow_incomplete)
        return self.down_script().text

    def _check(self, notes: tuple[Note, ...], direction: str, allow: bool) -> None:
        blocking = [n for n in notes if n.blocking]
        if blocking and not allow:
            listed = "\n".join(f"  {n}" for n in blocking)
            raise IncompleteMigration(f"the {direction} script cannot reach its schema in {self.dialect}; "
                                      f"{len(blocking)} change(s) have no statement:\n{listed}\nfix: change the "
                                      f"design, or take the partial script knowingly with allow_incomplete=True")

    def _title(self, direction: str, notes: tuple[Note, ...]) -> str:
        kind = "safe (production) form" if self.safe else "naive form"
        lines = [f"workbench migrate: {direction} script, {self.dialect}, {kind}",
                 f"{len(self.diff.changes)} changes; run with psql -f (statements commit one by one)"]
        lines += [f"INCOMPLETE: {n}" for n in notes if n.blocking]
        return "\n".join(lines)

    # -- views of the plan ------------------------------------------------------------------------------

    def to_frame(self, direction: str = "up") -> pd.DataFrame:
        """One row per statement: what it locks, whether it rewrites or scans, what it loses."""
        steps = self.up if direction == "up" else self.down
        return pd.DataFrame([{"statement": " ".join(s.sql.split())[:160], "table": s.table, "lock": s.lock or "-",
                              "blocks": s.blocks, "rewrites": s.rewrite, "scans": s.scan,
                              "data_loss": s.data_loss, "note": s.note} for s in steps])

    @cached_property
    def phases(self) -> list[Phase]:
        """Expand / backfill / switch / contract phases for the changes that would break running code."""
        from workbench.migrate.phases import expand_contract

        return expand_contract(self)

    def lint(self) -> SquawkReport:
        """squawk over the up and down scripts, findings tied to the statements they concern."""
        from workbench.migrate.squawk import lint_migration

        return lint_migration(self)

    def measure(self, engine: Any, source: Any = None, **options: Any):
        """Run the plan on a real PostgreSQL under a concurrent workload (see ``workbench.migrate.measure``)."""
        from workbench.migrate.measure import measure

        return measure(self, engine, source, **options)

    def verify(self, engine: Any, source: Any = None, **options: Any):
        """Up then down on databases the workbench creates; catalogs and row checksums compared
        (see ``workbench.migrate.verify``)."""
        from workbench.migrate.verify import verify

        return verify(self, engine, source, **options)

    def explore(self, **options: Any) -> Any:
        """A panel: pick the script and a statement; its SQL, lock, rewrite, phase and squawk findings follow,
        with ``measured=`` / ``verified=`` runs when given (see :mod:`workbench.ui.migration_panel`)."""
        from workbench.ui import explore

        return explore(self, **options)

    def to_dict(self) -> dict[str, object]:
        return {"dialect": self.dialect, "safe": self.safe, "complete": self.complete, **self.diff.to_dict(),
                "up": [s.to_dict() for s in self.up], "down": [s.to_dict() for s in self.down],
                "plan_notes": [{"object": n.object, "message": n.message, "blocking": n.blocking}
                               for n in (*self.notes, *self.down_notes)]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def __repr__(self) -> str:
        lost = sum(bool(s.data_loss) for s in self.up)
        blocking = sum(s.lock == "ACCESS EXCLUSIVE" for s in self.up)
        state = "" if self.complete else ", INCOMPLETE"
        return (f"<Migration {self.dialect}{' safe' if self.safe else ''}: {len(self.diff.changes)} changes, "
                f"{len(self.up)} up / {len(self.down)} down statements, {blocking} take ACCESS EXCLUSIVE, "
                f"{lost} lose data{state}>")

    def _repr_html_(self) -> str:
        return safe_html(_migration_html, self)


def _migration_html(migration: Migration) -> str:
    frame = migration.to_frame()
    notes = [n for n in (*migration.notes, *migration.down_notes)]
    parts = [f"<p>{html.escape(repr(migration))}</p>", frame.to_html(index=False, escape=True)]
    if notes:
        parts.append("<ul>" + "".join(f"<li>{'<b>blocking</b>: ' if n.blocking else ''}{html.escape(str(n))}</li>"
                                      for n in notes) + "</ul>")
    parts.append(f"<details><summary>up script</summary><pre>{html.escape(migration.up_script().text)}</pre>"
                 f"</details><details><summary>down script</summary>"
                 f"<pre>{html.escape(migration.down_script().text)}</pre></details>")
    return "".join(parts)


def reverse_hints(forward: SchemaDiff) -> dict[str, str | None]:
    """The renames of ``forward`` turned around, as hints for the reverse diff."""
    return {r.new: r.old for r in forward.renames if r.applied}


def plan_migration(old: Source | SchemaDiff, new: Source | None = None, dialect: str = "postgres", *,
                   safe: bool = False, renames: Hints | None = None) -> Migration:
    """The migration from ``old`` to ``new`` (or of a ready ``SchemaDiff``) for ``dialect``.

    ``safe=True`` writes the production-safe forms (concurrent index builds, NOT VALID + VALIDATE,
    SET NOT NULL through a validated check, batched backfills, lock_timeout, re-runnable statements).
    """
    forward = old if isinstance(old, SchemaDiff) else diff(old, new, renames=renames)
    backward = diff(forward.new, forward.old, renames=reverse_hints(forward), detect_renames=False)
    renderer = Renderer(forward, dialect, safe=safe)
    up, up_notes = renderer.run()
    down, down_notes = Renderer(backward, dialect, safe=safe).run()
    lost = {(s.table, s.change.name if s.change.kind == Kind.DROP_COLUMN else None): s.data_loss
            for s in up if s.data_loss and s.change is not None}
    down = [_unrestorable(step, lost) for step in down]
    order = sorted(range(len(up)), key=lambda i: (up[i].phase, i))
    down_order = sorted(range(len(down)), key=lambda i: (down[i].phase, i))
    return Migration(forward, dialect, safe, tuple(up[i] for i in order), tuple(down[i] for i in down_order),
                     tuple([*forward.notes, *up_notes]), tuple(down_notes), backward,
                     tuple(renderer.backup(step) for step in up if step.data_loss))


def _unrestorable(step: Step, lost: dict[tuple[str | None, str | None], str]) -> Step:
    """A down step that re-creates what up destroyed says that the values do not come back."""
    change = step.change
    if change is None or step.form not in (Form.ADD_COLUMN, Form.CREATE_TABLE, Form.CREATE_PARTITION):
        return step
    key = (step.table, change.name if change.kind == Kind.ADD_COLUMN else None)
    if key not in lost:
        return step
    note = (f"{lost[key]} dropped by up do not come back: run Migration.backup_sql() before up to keep a copy"
            + (f"; {step.note}" if step.note else ""))
    return replace(step, note=note)
