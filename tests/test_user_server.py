"""The workbench on a user's own PostgreSQL, driven as a user drives it: the real CLI in subprocesses, a URL
whose password holds every URL-special character and is really checked (scram-sha-256), an application
schema beside the sandbox. No password in anything printed or written; nothing outside the sandbox touched;
nothing left behind after SIGTERM or SIGINT; what SIGKILL leaves is found and dropped; kept loads stay."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import psycopg
import pytest
import user_server
from user_server import PASSWORD, UserServer

from workbench.domains import datasets_root
from workbench.engines import markers
from workbench.engines.introspect import schema_from_catalog
from workbench.errors import WorkbenchError

pytestmark = pytest.mark.postgres
WORKBENCH = str(Path(sys.executable).parent / "workbench")
STUDY = datasets_root() / "ecommerce" / "study_search.toml"
SECRETS = (PASSWORD, quote(PASSWORD), quote(PASSWORD, safe=""), PASSWORD.replace("'", "\\'"))


@pytest.fixture(scope="module")
def user() -> Iterator[UserServer]:
    with server_directory() as directory:
        server = user_server.start(directory / "data")
        yield server
        server.server.stop()


@contextmanager
def server_directory() -> Iterator[Path]:
    """A folder for another server's data (not under pytest's tmp: its 0700 folders keep out the server's user)."""
    directory = Path(tempfile.mkdtemp(prefix="workbench-test-server-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def workbench(*argv: str, outputs: list[str] | None = None) -> subprocess.CompletedProcess:
    """Run the CLI as a user does; its stdout and stderr are appended to ``outputs`` (for the password check)."""
    done = subprocess.run([WORKBENCH, *argv], capture_output=True, text=True, timeout=600, env=os.environ.copy())
    if outputs is not None:
        outputs += [done.stdout, done.stderr]
    return done


def leaks(texts: list[str], folder: Path | None = None) -> list[str]:
    """Where the password (as given, or percent-encoded) appears: printed text, any file's bytes, any string
    cell of a Parquet file (compressed on disk, so read back)."""
    found = [f"output {n}" for n, text in enumerate(texts) if any(s in text for s in SECRETS)]
    for path in sorted(folder.rglob("*") if folder else []):
        if path.is_file():
            data = path.read_bytes()
            if any(s.encode() in data for s in SECRETS):
                found.append(str(path))
            if path.suffix == ".parquet":
                cells = [str(cell) for cell in pd.read_parquet(path).to_numpy().ravel()]
                found += [f"{path}: {cell[:60]}" for cell in cells if any(s in cell for s in SECRETS)]
    return found


def marked(user: UserServer, database: str = "appdb") -> list[str]:
    with user.admin(database) as connection:
        return [s.name for s in markers.sandboxes(connection) if s.kind == "schema"]


def test_the_password_is_really_checked(user: UserServer):
    with psycopg.connect(user.url(), autocommit=True) as connection:
        assert connection.execute("SELECT current_user").fetchone() == ("app",)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(user.url(password="not it"))


def test_study_load_and_advise_leak_no_password_and_touch_nothing_outside(user: UserServer, tmp_path: Path):
    stats, statements = user.user_stats(), user.user_statements()
    printed: list[str] = []
    out = tmp_path / "study"
    study = workbench("study", str(STUDY), "--engine", user.url(), "--scale", "ci", "--repetitions", "2",
                      "--out", str(out), "--quiet", outputs=printed)
    assert study.returncode == 0, study.stderr
    assert "user=app dbname=appdb" in study.stdout.splitlines()[0]
    variants = pd.read_parquet(out / "variants.parquet").set_index("variant")
    assert set(variants["status"]) == {"ok"}  # pg_trgm found in schema `extensions`, off the search path
    assert "extensions.gin_trgm_ops" in variants.loc["trigram on name", "ddl"]
    server = pd.read_parquet(out / "server.parquet")
    assert sorted(server["variant"]) == sorted(variants.index) and (server["calls"] == 2).all()

    load = workbench("load", "ecommerce", "--engine", user.url(), "--schema", "shop", "--jobs", "2", "--quiet",
                     outputs=printed)  # two tables at once, each on a connection of its own
    assert load.returncode == 0, load.stderr
    assert "kept: schema shop" in load.stdout and "workbench drop shop --engine URL" in load.stdout
    assert "search_path=shop" in load.stdout and "note:" not in load.stdout  # serial defaults kept in the sandbox
    with psycopg.connect(user.url(), autocommit=True) as connection:
        assert connection.execute("SELECT count(*) FROM shop.orders").fetchone() == (1000,)
        added = connection.execute("INSERT INTO shop.customers (email, first_name, last_name, country) "
                                   "VALUES ('new@example.com', 'N', 'M', 'DE') RETURNING customer_id").fetchone()
        assert added[0] is not None  # the serial default draws from the sandbox's own sequence
    again = workbench("load", "ecommerce", "--engine", user.url(), "--schema", "shop", "--quiet", outputs=printed)
    assert again.returncode == 2 and "holds a load the workbench kept" in again.stderr
    theirs = workbench("load", "ecommerce", "--engine", user.url(), "--schema", "app", "--quiet", outputs=printed)
    assert theirs.returncode == 2 and "the workbench did not create it" in theirs.stderr

    advise = workbench("advise", "ecommerce", "--engine", user.url(), "--budget-mb", "5", "--quiet",
                       "--workload", str(datasets_root() / "ecommerce" / "workload.sql"), outputs=printed)
    assert advise.returncode == 0, advise.stderr
    statements_shown = [line for line in advise.stdout.splitlines() if "INDEX" in line]
    assert statements_shown and not [line for line in statements_shown if "workbench_" in line]  # the model's names

    shop = datasets_root() / "ecommerce"
    diffed = workbench("diff", str(shop / "schema.sql"), user.url(), "--json", outputs=printed)
    assert diffed.returncode == 0 and '"app.accounts"' in diffed.stdout, diffed.stderr  # the catalog, read only
    verified = workbench("migrate", str(shop / "schema.sql"), str(shop / "schema_v2.sql"), "--safe", "--verify",
                         "--engine", user.url(), "--json", outputs=printed)
    assert verified.returncode == 0, verified.stderr

    listed = workbench("sandboxes", "--engine", user.url(), outputs=printed)
    assert listed.returncode == 0 and " shop " in listed.stdout and "kept" in listed.stdout
    refused = workbench("drop", "app", "--engine", user.url(), outputs=printed)
    assert refused.returncode == 2 and "carries no workbench marker" in refused.stderr
    dropped = workbench("drop", "shop", "--engine", user.url(), outputs=printed)
    assert dropped.returncode == 0 and "dropped schema shop" in dropped.stdout

    assert leaks(printed, tmp_path) == []
    assert marked(user) == []  # every sandbox dropped, the kept load removed
    after = user.user_stats()
    touched = [table for table in stats.keys() | after.keys() if stats.get(table) != after.get(table)]
    assert touched == [], f"{len(touched)} relations outside the sandbox touched: {touched}"
    now = user.user_statements()
    assert all(now.get(query, 0) >= calls for query, calls in statements.items())  # nothing reset


def test_a_database_without_the_extensions_skips_and_says_what_to_run(user: UserServer, tmp_path: Path):
    printed: list[str] = []
    study = workbench("study", str(STUDY), "--engine", user.url("bare"), "--scale", "ci", "--repetitions", "2",
                      "--out", str(tmp_path / "bare"), "--quiet", outputs=printed)
    assert study.returncode == 0, study.stderr
    variants = pd.read_parquet(tmp_path / "bare" / "variants.parquet").set_index("variant")
    assert variants.loc["trigram on name", "status"] == variants.loc["both", "status"] == "skipped"
    assert "its owner can run `CREATE EXTENSION pg_trgm;` in database bare" in variants.loc["both", "error"]
    assert "variant skipped" in study.stdout and "variant skipped" in (tmp_path / "bare" / "report.html").read_text()
    assert "server-side times unavailable: pg_stat_statements is not installed in database bare" in study.stdout
    only_trigram = tmp_path / "trigram.toml"
    only_trigram.write_text(f'name = "trigram only"\ndomain = "{STUDY.parent}"\ntables = ["products"]\n'
                            'queries = ["product_search"]\n[[variants]]\nname = "trigram"\nindexes = [{ table = '
                            '"products", columns = ["name"], method = "gin", opclass = "gin_trgm_ops" }]\n')
    nothing = workbench("study", str(only_trigram), "--engine", user.url("bare"), "--scale", "ci",
                        "--repetitions", "1", "--out", str(tmp_path / "nothing"), "--quiet", outputs=printed)
    assert nothing.returncode == 2 and "nothing was measured on postgres" in nothing.stderr
    assert "CREATE EXTENSION pg_trgm;" in nothing.stderr
    assert leaks(printed, tmp_path) == [] and marked(user, "bare") == []


def test_a_url_libpq_would_misread_or_reject_is_refused_without_the_password(user: UserServer):
    printed: list[str] = []
    raw = user.url().replace(quote(PASSWORD, safe=""), PASSWORD)  # unencoded: / # ? @ : % space quotes
    done = workbench("load", "ecommerce", "--engine", raw, "--quiet", outputs=printed)
    assert done.returncode == 2 and "percent-encode" in done.stderr and "Traceback" not in done.stderr
    wrong = workbench("load", "ecommerce", "--engine", user.url(password="Wr0ng/%#pass"), "--quiet")
    assert wrong.returncode == 2 and "password authentication failed" in wrong.stderr
    assert "Wr0ng" not in wrong.stderr + wrong.stdout and "percent-encoded" in wrong.stderr
    with pytest.raises(WorkbenchError) as caught:
        schema_from_catalog(user.url(password="Wr0ng/%#pass"))
    assert "Wr0ng" not in str(caught.value) and caught.value.__cause__ is None
    assert {t.key for t in schema_from_catalog(user.url(), ["app"]).tables} == {"app.accounts", "app.invoices"}
    assert leaks(printed) == []


def _interruptible() -> None:
    """SIGINT as in a terminal (a shell starts background jobs, e.g. CI's, with SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_and_wait_for_a_sandbox(user: UserServer, argv: list[str]) -> subprocess.Popen:
    process = subprocess.Popen([WORKBENCH, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_interruptible)
    deadline = time.monotonic() + 60
    while not marked(user) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marked(user), f"no sandbox appeared: {process.communicate()}"
    return process


@pytest.mark.parametrize(("command", "number"), [("load", signal.SIGTERM), ("load", signal.SIGINT),
                                                 ("study", signal.SIGTERM)])
def test_a_signal_mid_run_drops_the_sandbox(user: UserServer, tmp_path: Path, command: str, number: int):
    argv = (["load", "ecommerce", "--engine", user.url(), "--scale", "0.05", "--schema", "halfway"]
            if command == "load" else
            ["study", str(STUDY), "--engine", user.url(), "--scale", "ci", "--out", str(tmp_path / "s")])
    process = _start_and_wait_for_a_sandbox(user, [*argv, "--quiet"])
    process.send_signal(number)
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0, err  # stopped, not finished
    assert marked(user) == [], err
    assert not any(s in err for s in SECRETS)


def test_what_sigkill_leaves_is_listed_as_stale_and_dropped(user: UserServer):
    process = _start_and_wait_for_a_sandbox(user, ["load", "ecommerce", "--engine", user.url(), "--scale", "0.05",
                                                   "--quiet"])
    process.kill()
    process.communicate(timeout=60)
    left = marked(user)
    assert len(left) == 1
    printed: list[str] = []
    listed = workbench("sandboxes", "--engine", user.url(), outputs=printed)
    assert f"{left[0]} stale" in " ".join(listed.stdout.split()) and "--drop-stale" in listed.stdout
    warned = workbench("advise", "ecommerce", "--engine", user.url(), "--budget-mb", "1", "--draws", "1", "--quiet",
                       outputs=printed)
    assert warned.returncode == 0 and "1 stale workbench sandbox(es)" in warned.stderr
    dropped = workbench("sandboxes", "--engine", user.url(), "--drop-stale", outputs=printed)
    assert dropped.returncode == 0 and f"dropped schema {left[0]}" in dropped.stdout
    assert marked(user) == [] and leaks(printed) == []  # the marker's command shows the target's label only


def test_a_load_into_a_named_data_directory_is_kept_and_reachable():
    with server_directory() as folder:
        _load_keep_query_drop_stop(folder / "pg")


def _load_keep_query_drop_stop(directory: Path) -> None:
    load = workbench("load", "notifications", "--engine", f"postgres:{directory}", "--quiet")
    assert load.returncode == 0, load.stderr
    lines = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip() for line in load.stdout.splitlines()
             if line.startswith("  ") and ":" in line}
    psql = lines["query it"].split(" ", 1)
    count = subprocess.run([psql[0], psql[1].strip('"'), "-tAc", "SELECT count(*) FROM users"], capture_output=True,
                           text=True, timeout=60)
    assert count.returncode == 0 and int(count.stdout) > 0, count.stderr  # the server kept running after the CLI
    assert lines["remove it"] == f"workbench drop notifications --engine postgres:{directory}"
    dropped = workbench("drop", "notifications", "--engine", f"postgres:{directory}")
    assert dropped.returncode == 0 and "dropped database notifications" in dropped.stdout
    stop = subprocess.run(lines["stop the server"].split("   (")[0].split(), capture_output=True, text=True, timeout=60)
    assert stop.returncode == 0, stop.stderr
