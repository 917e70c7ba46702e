"""Apply a policy inside the workbench's sandbox: checked first, then one transaction, all or nothing.

Roles are cluster-wide in PostgreSQL, so every role is named ``wb_<sandbox id>_<name>`` and recorded on the
engine, which drops it when it closes (its database or sandbox goes first). A role the workbench did not
create is never altered: the names are checked free before anything runs.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import WorkbenchError
from workbench.safe_display import safe_html
from workbench.security.generate import require_postgres, role_names, statements
from workbench.security.spec import Policy


@dataclass
class Applied:
    """A policy applied on an engine: its roles as named on the server, and the statements that ran."""

    policy: Policy
    engine: Any = field(repr=False)
    roles: dict[str, str]  # policy role -> server role
    statements: list[str] = field(repr=False)

    def role(self, name: str) -> str:
        """The server name of policy role ``name``."""
        return self.roles[self.policy.role(name).name]

    def __repr__(self) -> str:
        return (f"<Applied policy: {len(self.statements)} statements, roles "
                f"{', '.join(self.roles.values())} (dropped with the sandbox)>")

    def _repr_html_(self) -> str:
        return safe_html(Applied._html, self)

    def _html(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td><code>{html.escape(v)}</code></td></tr>"
                       for k, v in self.roles.items())
        return (f"<p>{html.escape(repr(self))}</p><table><tr><th>policy role</th><th>server role</th></tr>{rows}"
                f"</table>")


def apply(policy: Policy, engine: Any) -> Applied:
    """Create the policy's roles, grants, masks, views and row-level security on ``engine``, all or nothing.

    Refuses (changing nothing) when the connected user may not create roles, when a role of that name exists
    already, or when the schema's tables are not loaded.
    """
    require_postgres(engine)
    policy.model  # noqa: B018 (raises when the policy has no schema)
    check_can_create_roles(engine)
    roles = role_names(policy, engine.role_prefix)
    taken = engine.query("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [list(roles.values())])
    if len(taken):
        raise WorkbenchError(f"roles {', '.join(taken['rolname'])} exist already: a policy was applied to this "
                             f"sandbox before; apply a policy once per sandbox (clone the engine, or connect again)")
    loaded = set(engine.row_counts())
    if missing := [t.key for t in policy.model.tables if t.key not in loaded]:
        raise WorkbenchError(f"the policy's tables are not in this sandbox ({', '.join(missing)}); load the schema "
                             f"first (domain.load(engine) or engine.load(schema, data))")
    run = statements(policy, engine)
    engine.adopt_roles(roles.values())  # in the sandbox's marker before they exist: a kill leaves none unlisted
    engine.run_script(run)
    return Applied(policy, engine, roles, run)


def check_can_create_roles(engine: Any) -> None:
    """Raise naming the missing privilege (CREATEROLE) and what would work, when the user may not create roles."""
    user, superuser, createrole = engine.query(
        "SELECT rolname, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user").iloc[0]
    if not (superuser or createrole):
        raise WorkbenchError(
            f"user {user} cannot create roles: it lacks the CREATEROLE privilege, and access control needs roles "
            f"(nothing was applied). fix: as a superuser run ALTER ROLE {user} CREATEROLE; or connect as a user "
            f"with CREATEROLE; or use the embedded server (--engine postgres); policy.sql() shows the SQL without "
            f"running it")
