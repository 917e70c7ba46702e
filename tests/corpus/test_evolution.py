"""Schema evolution against real history: Synapse's schema at v54 and v72 (../shared/corpus/evolution).

Both dumps are loaded with psql as their project ships them; the planned up script, run by psql on the
v54 database, must give exactly the catalog of the v72 database, and the down script must give back
the v54 catalog. Functions and triggers are outside the schema model: the diff lists them as notes.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from corpus import corpus_dir
from workbench.ddl import import_ddl
from workbench.engines.introspect import schema_from_catalog
from workbench.engines.pgserver import Server
from workbench.migrate import plan_migration
from workbench.migrate.catalog import differences, shape

pytestmark = pytest.mark.corpus

EVOLUTION = corpus_dir() / "evolution"
OLD, NEW = EVOLUTION / "synapse_main_full_v54.postgres.sql", EVOLUTION / "synapse_main_full_v72.postgres.sql"


@pytest.fixture(scope="module")
def migration():
    return plan_migration(import_ddl(OLD), import_ddl(NEW))


def psql(server: Server, dbname: str, text: str, label: str) -> None:
    """Run a script with psql as a person would (``psql -f``: statements commit one by one, stop at an error)."""
    result = subprocess.run(
        [str(server.bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-", server.url(dbname)],
        input=text, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
    )
    assert result.returncode == 0, f"psql could not run {label}:\n{result.stderr[:3000]}"


def _loaded(server: Server, file: Path) -> str:
    name = server.create_database("evolution")
    psql(server, name, file.read_text(encoding="utf-8"), str(file))
    return name


def test_diff_finds_the_history(migration):
    diff = migration.diff
    kinds = {str(c.kind) for c in diff.changes}
    assert {"create table", "drop table", "add column", "change type", "set not null", "create index"} <= kinds
    assert not any(r.applied for r in diff.renames), "no rename is sure enough to apply without a hint"
    outside = [n.object for n in diff.notes if "outside the schema model" in n.message]
    assert len(outside) == 2, "v72's function and trigger are listed, not dropped silently"


@pytest.mark.parametrize("safe", [False, True], ids=["naive", "safe"])
def test_up_then_down_on_the_real_dumps(migration, pg_server: Server, tmp_path: Path, safe: bool):
    plan = plan_migration(migration.diff, safe=safe)
    old_db, new_db = _loaded(pg_server, OLD), _loaded(pg_server, NEW)
    try:
        before = shape(schema_from_catalog(pg_server.url(old_db)))
        target = shape(schema_from_catalog(pg_server.url(new_db)))
        psql(pg_server, old_db, plan.up_sql(), "the up script")
        after_up = shape(schema_from_catalog(pg_server.url(old_db)))
        psql(pg_server, old_db, plan.down_sql(), "the down script")
        after_down = shape(schema_from_catalog(pg_server.url(old_db)))
    finally:
        pg_server.drop_database(old_db)
        pg_server.drop_database(new_db)
    up = differences(target, after_up, "v72 dump", "v54 dump + up")
    down = differences(before, after_down, "v54 dump", "v54 dump + up + down")
    assert not up, f"{len(up)} differences after up:\n" + "\n".join(up)
    assert not down, f"{len(down)} differences after down:\n" + "\n".join(down)


def test_verify_on_the_embedded_server(migration, pg_server):
    from workbench.engines import connect

    with connect("postgres") as engine:
        result = migration.verify(engine, progress=False)
    assert result.ok, "\n".join(result.all_differences)
