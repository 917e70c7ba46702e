"""Login roles that stand for a policy's group roles: the attack suite and measurements connect as them.

A group role has no login; a login member of it (``wb_<id>_<role>_login``) sees exactly what the group may
see, and may ``SET ROLE`` to nothing else. Its password is random, sent to the server only as a SCRAM
verifier, and never shown.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import psycopg
from psycopg import sql

from workbench.security.apply import check_can_create_roles


class Login(NamedTuple):
    """A login member of a policy role: its name on the server, and its password (never shown)."""

    user: str
    password: str

    def __repr__(self) -> str:
        return f"Login({self.user!r})"


def create_logins(engine: Any, roles: dict[str, str]) -> dict[str, Login]:
    """A login member for each ``{policy role: server role}``, created in one transaction, dropped with the
    engine (or earlier with ``engine.drop_roles``)."""
    check_can_create_roles(engine)
    created = {name: Login(f"{role}_login", secrets.token_urlsafe(24)) for name, role in roles.items()}
    with engine.server.connect() as admin:  # libpq computes the verifier: the password never travels
        verifiers = {name: admin.pgconn.encrypt_password(login.password.encode(), login.user.encode(),
                                                         b"scram-sha-256").decode() for name, login in created.items()}
    script = []
    for name, login in created.items():
        script.append(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
                              "PASSWORD {}").format(sql.Identifier(login.user), sql.Literal(verifiers[name])))
        script.append(sql.SQL("GRANT {} TO {}").format(sql.Identifier(roles[name]), sql.Identifier(login.user)))
    engine.run_script([s.as_string(None) for s in script])
    engine.adopt_roles(login.user for login in created.values())
    return created


@contextmanager
def logins(engine: Any, roles: dict[str, str]) -> Iterator[dict[str, psycopg.Connection]]:
    """One connection per policy role (``{policy role: connection as its login member}``); dropped after."""
    created = create_logins(engine, roles)
    connections: dict[str, psycopg.Connection] = {}
    try:
        for name, login in created.items():
            connections[name] = engine.login(*login)
        yield connections
    finally:
        for connection in connections.values():
            connection.close()
        engine.drop_roles([login.user for login in created.values()])
