"""Every real dump of the corpus through the DDL commands a new user runs first, as that user runs them: with
the file's own dialect each command ends normally (0, or 1 for lint findings); read as PostgreSQL, a dump of
another dialect either imports or fails in one line that names the dialect to use. Never a traceback, never a
bug's exit code 70."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from corpus import REPO_ROOT, corpus_dir
from workbench.cli import main

SAKILA = REPO_ROOT / "tests" / "data" / "sakila"
DIALECTS = {"generic(ANSI)": "postgres"}  # TPC-H's dss.ddl is plain SQL


def dumps() -> list[tuple[str, str]]:
    """(path, dialect) of each schema in the corpus and of Sakila's Oracle and SQL Server ports."""
    with open(corpus_dir() / "SOURCES.tsv", encoding="utf-8") as sources:
        rows = [(str(corpus_dir() / row["file"]), DIALECTS.get(row["dialect"], row["dialect"]))
                for row in csv.DictReader(sources, delimiter="\t") if not row["file"].startswith("workloads/")]
    return [*rows, (str(SAKILA / "oracle-sakila-schema.sql"), "oracle"),
            (str(SAKILA / "sql-server-sakila-schema.sql"), "tsql")]


def ended(argv: list[str], capsys) -> tuple[int, str]:
    """Exit code and everything printed by ``workbench ARGV``."""
    try:
        code = main(argv)
    except SystemExit as exited:
        code = int(exited.code)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return code, err


@pytest.mark.corpus
@pytest.mark.parametrize(("path", "dialect"), dumps(), ids=lambda value: value.rsplit("/", 1)[-1])
def test_the_first_commands_on_a_real_dump_end_normally(path, dialect, tmp_path, capsys):
    if "create table" not in Path(path).read_text(encoding="utf-8").lower():  # JOB's indexes, tables elsewhere
        code, err = ended(["inspect", path, "--dialect", dialect], capsys)
        assert code == 2 and ":1:" not in err and "(the first at line 1: unknown table" in err, err
        return
    to = ["ddl", path, "--from", dialect, "--to"]
    drawn = ["er", path, "--dialect", dialect, "-o", str(tmp_path / "er.svg")]
    for argv in (["inspect", path, "--dialect", dialect], ["lint", path, "--dialect", dialect], drawn,
                 [*to, "duckdb"], [*to, "postgres"]):
        code, err = ended(argv, capsys)
        assert code in (0, 1), f"{argv[0]}: exit {code}: {err}"
    assert (tmp_path / "er.svg").stat().st_size > 0
    code, err = ended(["inspect", path], capsys)  # the dialect forgotten
    assert code in (0, 2), err
    if code == 2 and dialect != "postgres":
        assert "--dialect" in err, err
