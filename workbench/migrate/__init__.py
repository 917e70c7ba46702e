"""Schema evolution: diff two models, plan ordered and reversible migrations, prove and measure them.

``diff(old, new)`` lists typed changes (renames detected with a confidence); ``plan_migration`` orders
them into up and down scripts that say what each statement locks, rewrites, scans and loses, in a
naive or production-safe form; a ``Migration`` lints itself with squawk, offers expand/contract
phases, measures its blocking on a real PostgreSQL under load, and verifies its round trip.
"""

from workbench.migrate.changes import Change, Kind, Note, Rename
from workbench.migrate.diff import SchemaDiff, diff
from workbench.migrate.plan import IncompleteMigration, Migration, plan_migration
from workbench.migrate.steps import Step

__all__ = ["Change", "IncompleteMigration", "Kind", "Migration", "Note", "Rename", "SchemaDiff", "Step", "diff",
           "plan_migration"]
