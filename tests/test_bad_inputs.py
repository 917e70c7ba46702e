"""Every bad input of the corpus in ``tests/bad_inputs`` through the real command line: exit code 2, one line on
standard error naming the file (or the bad value) and what to do, never a traceback.

Each case is an argument list (``{bad}`` is ``tests/bad_inputs``, ``{data}`` the sample ``datasets``, ``{tmp}`` a
fresh folder) and two fragments the message must hold: what is wrong (usually the file) and the way out. How a
run ends otherwise (Ctrl-C, a closed pipe, a bug) is checked below the corpus.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.bench import Study
from workbench.bench.store import EXECUTIONS
from workbench.cli import main

HERE = Path(__file__).resolve().parent
BAD, DATA, SAKILA = HERE / "bad_inputs", HERE.parent / "datasets", HERE / "data" / "sakila"
ECOMMERCE, STUDY = "{data}/ecommerce/schema.sql", "{data}/ecommerce/study_search.toml"

CASES = {
    # DDL files that cannot be read
    "missing file": (["inspect", "{bad}/nosuch.sql"], "nosuch.sql: no such DDL file", "check the path"),
    "missing file, close name": (["ddl", "{bad}/empty.sq", "--to", "duckdb"], "empty.sq: no such DDL file",
                                 "did you mean 'empty.sql'"),
    "missing folder": (["er", "{bad}/no/such.sql", "-o", "{tmp}/x.svg"], "the folder", "does not exist"),
    "folder for a file": (["inspect", "{bad}/domain_bad_data"], "domain_bad_data: this is a folder", "give the path"),
    "cp1252 file": (["inspect", "{bad}/latin1.sql"], "latin1.sql:2:46: byte 0xdf is not valid utf-8",
                    "--encoding cp1252"),
    "UTF-16 without a BOM": (["lint", "{bad}/utf16_no_bom.sql"], "utf16_no_bom.sql: this is a binary file",
                             "--encoding utf-16-le"),
    "binary file": (["er", "{bad}/random.bin.sql", "-o", "{tmp}/x.svg"], "random.bin.sql: this is a binary file",
                    "give the DDL file as text"),
    "PNG image": (["inspect", "{bad}/image.png.sql"], "image.png.sql: this is a PNG image", "give the DDL file"),
    "gzip archive": (["ddl", "{bad}/schema.sql.gz", "--to", "sqlite"], "schema.sql.gz: this is a gzip archive",
                     "gunzip it first"),
    "SQLite database": (["inspect", "{bad}/database.sqlite.sql"], "this is a SQLite database", ".schema > schema.sql"),
    "unknown encoding": (["inspect", "{bad}/latin1.sql", "--encoding", "klingon"], "unknown encoding 'klingon'",
                         "e.g. utf-8, cp1252"),
    # DDL files from which nothing (or too little) could be imported
    "empty file": (["lint", "{bad}/empty.sql"], "empty.sql: the file holds no SQL statements", "give a DDL file"),
    "only comments": (["er", "{bad}/comments_only.sql", "-o", "{tmp}/x.svg"], "comments_only.sql: the file holds no",
                      "CREATE TABLE"),
    "only data": (["inspect", "{bad}/inserts_only.sql"], "none of its 2 statements declares a table", "--schema-only"),
    "MySQL dump, default dialect": (["lint", "{bad}/mysql_dump.sql"], "mysql_dump.sql: 2 of 2 statements could not",
                                    "add --dialect mysql"),
    "Oracle port, default dialect": (["er", f"{SAKILA}/oracle-sakila-schema.sql", "-o", "{tmp}/x.svg"],
                                     "more than --max-errors 50%", "add --dialect oracle"),
    "SQL Server port, default dialect": (["ddl", f"{SAKILA}/sql-server-sakila-schema.sql", "--to", "duckdb"],
                                         "nothing was imported", "add --from tsql"),
    "unterminated comment": (["inspect", "{bad}/unterminated_comment.sql"], "unterminated /* comment",
                             "close it"),
    "NUL byte, no errors allowed": (["lint", "{bad}/nul_byte.sql", "--max-errors", "0"],
                                    "the first at line 1: holds a NUL byte", "remove the byte"),
    "column declared twice": (["inspect", "{bad}/duplicate_column.mysql.sql", "--dialect", "mysql"],
                              "column x is declared twice", "rename or remove one"),
    "nested too deeply": (["ddl", "{bad}/deep_nesting.mysql.sql", "--from", "mysql", "--to", "duckdb"],
                          "nested too deeply", "simplify its deepest expression"),
    "unknown dialect": (["inspect", ECOMMERCE, "--dialect", "cobol"], "unknown dialect 'cobol'", "valid choices"),
    "unknown target dialect": (["ddl", ECOMMERCE, "--to", "postgress"], "unknown dialect 'postgress'",
                               "did you mean 'postgres'"),
    "bad --max-errors": (["inspect", ECOMMERCE, "--max-errors", "lots"], "'lots' is not a count or a percentage",
                         "see `workbench inspect --help`"),
    # outputs
    "-o into a missing folder": (["ddl", ECOMMERCE, "--to", "duckdb", "-o", "{tmp}/no/such/out.sql"],
                                 "the folder", "mkdir -p"),
    "-o is a folder": (["er", ECOMMERCE, "-o", "{tmp}"], "this is a folder", "give the path of a file"),
    "-o to a full disk": (["ddl", ECOMMERCE, "--to", "duckdb", "-o", "/dev/full"], "/dev/full: cannot write it",
                          "check the disk space"),
    "unknown diagram suffix": (["er", ECOMMERCE, "-o", "{tmp}/x.jpeg"], "unknown diagram file suffix '.jpeg'",
                               "did you mean '.png'"),
    "unknown focus table": (["er", ECOMMERCE, "-o", "{tmp}/x.svg", "--focus", "order"], "unknown table 'order'",
                            "did you mean"),
    "negative depth": (["er", ECOMMERCE, "-o", "{tmp}/x.svg", "--depth", "-1"], "'-1' must be a number of at least 0",
                       "--help"),
    "unknown layout": (["er", ECOMMERCE, "-o", "{tmp}/x.svg", "--layout", "dott"], "unknown layout engine 'dott'",
                       "did you mean 'dot'"),
    # workloads
    "missing workload": (["lint", ECOMMERCE, "--workload", "{bad}/nosuch.sql"], "no such workload file",
                         "check the path"),
    "workload with an unterminated string": (["lint", ECOMMERCE, "--workload", "{bad}/workload_unterminated.sql"],
                                             "workload_unterminated.sql: no query in this workload", "Missing '"),
    "workload in cp1252": (["advise", "ecommerce", "--budget-mb", "5", "--engine", "duckdb", "--workload",
                            "{bad}/workload_cp1252.sql"], "workload_cp1252.sql:2:41: byte 0xe9", "--encoding"),
    "empty workload": (["lint", ECOMMERCE, "--workload", "{bad}/workload_empty.sql"], "no query in this workload",
                       "-- name: NAME"),
    "workload on unknown tables": (["lint", ECOMMERCE, "--workload", "{bad}/workload_unknown_table.sql"],
                                   "unknown table(s) ghosts", "the schema has"),
    "unknown workload dialect": (["lint", ECOMMERCE, "--workload", "{data}/ecommerce/workload.sql",
                                  "--workload-dialect", "postgress"], "unknown dialect 'postgress'", "did you mean"),
    "unknown tenant column": (["lint", "{data}/multitenant/schema.sql", "--tenant-column", "tenant"],
                              "--tenant-column 'tenant': no table of", "did you mean 'tenant_id'"),
    "unknown lint rule": (["lint", ECOMMERCE, "--disable", "WB999"], "unknown lint rule 'WB999'", "did you mean"),
    # domains, scales, seeds, engines
    "unknown domain": (["load", "ecommerse"], "unknown dataset 'ecommerse'", "did you mean 'ecommerce'"),
    "domain without a table": (["load", "{bad}/domain_empty_schema"], "domain_empty_schema/schema.sql: declares no",
                               "CREATE TABLE statements"),
    "domain in MySQL": (["advise", "{bad}/domain_mysql_schema", "--budget-mb", "5", "--engine", "duckdb"],
                        "domain_mysql_schema/schema.sql:2:28: CREATE TABLE", "must import without errors"),
    "domain data spec on an unknown table": (["load", "{bad}/domain_bad_data"], "domain_bad_data/data.toml: unknown "
                                             "table 'nosuch'", "valid choices"),
    "folder missing domain files": (["load", "{bad}/domain_missing_files"], "domain_missing_files is not a sample "
                                    "domain", "workload.sql, data.toml"),
    "unknown scale": (["load", "ecommerce", "--scale", "hueg"], "unknown scale 'hueg'", "valid choices"),
    "negative scale": (["load", "ecommerce", "--scale", "-1"], "scale must be positive", "data.toml"),
    "scale not a number": (["load", "ecommerce", "--scale", "nan"], "scale 'nan' is not a number of rows",
                           "positive multiplier"),
    "bad seed": (["load", "ecommerce", "--seed", "abc"], "invalid int value: 'abc'", "see `workbench load --help`"),
    "unknown engine": (["load", "ecommerce", "--engine", "oracle"], "unknown engine target 'oracle'", "valid forms"),
    "DuckDB file in a missing folder": (["load", "ecommerce", "--engine", "duckdb:{tmp}/no/such/x.duckdb"],
                                        "x.duckdb", "check the path exists"),
    "DuckDB file that is not one": (["load", "ecommerce", "--engine", "duckdb:{bad}/image.png.sql"],
                                    "image.png.sql", "not a valid DuckDB database file"),
    "negative budget": (["advise", "ecommerce", "--budget-mb", "-5"], "'-5' must be a number of at least 0", "--help"),
    "no draws": (["advise", "ecommerce", "--budget-mb", "5", "--draws", "0"], "'0' must be a number of at least 1",
                 "--help"),
    "unknown command": (["lnit"], "invalid choice: 'lnit'", "see `workbench --help`"),
    "missing argument": (["inspect"], "the following arguments are required: file", "--help"),
    # study files and runs
    "study file missing": (["study", "{bad}/nosuch.toml", "--out", "{tmp}/out"], "nosuch.toml: no such study file",
                           "check the path"),
    "study key typo": (["study", "{bad}/study_typo_key.toml", "--out", "{tmp}/out"], "'repetitons'",
                       "did you mean 'repetitions'"),
    "study workload missing": (["study", "{bad}/study_missing_workload.toml", "--out", "{tmp}/out"],
                               "missing.sql does not exist", "give a .sql file next to the study"),
    "study domain unknown": (["study", "{bad}/study_unknown_domain.toml", "--out", "{tmp}/out"],
                             "study_unknown_domain.toml: unknown dataset 'ecommerse'", "did you mean 'ecommerce'"),
    "study variants not a list": (["study", "{bad}/study_variants_not_a_list.toml", "--out", "{tmp}/out"],
                                  "`variants` must be a list of [[variants]] tables", "study_variants_not_a_list"),
    "study repetitions as text": (["study", "{bad}/study_repetitions_text.toml", "--out", "{tmp}/out"],
                                  "`repetitions` must be a whole number, not 'ten'", "study_repetitions_text.toml"),
    "study engines as a string": (["study", "{bad}/study_engines_string.toml", "--out", "{tmp}/out"],
                                  "`engines` must be a list", 'e.g. ["duckdb"]'),
    "study query unknown": (["study", "{bad}/study_unknown_query.toml", "--out", "{tmp}/out"],
                            "study_unknown_query.toml: unknown query", "valid choices"),
    "study scale unknown": (["study", "{bad}/study_unknown_scale.toml", "--out", "{tmp}/out"],
                            "unknown scale 'hueg'", "valid choices"),
    "study variant key typo": (["study", "{bad}/study_variant_typo_key.toml", "--out", "{tmp}/out"],
                               "unknown key of variant 'as is' 'indexs'", "did you mean 'indexes'"),
    "study baseline unknown": (["study", "{bad}/study_unknown_baseline.toml", "--out", "{tmp}/out"],
                               "unknown baseline variant 'zzz'", "valid choices"),
    "study rows of an unknown table": (["study", "{bad}/study_rows_unknown_table.toml", "--out", "{tmp}/out"],
                                       "study_rows_unknown_table.toml: unknown table 'nosuch'", "valid choices"),
    "study tables unknown": (["study", "{bad}/study_tables_unknown.toml", "--out", "{tmp}/out"],
                             "study_tables_unknown.toml: unknown table 'nosuch'", "valid choices"),
    "study negative repetitions": (["study", "{bad}/study_negative_repetitions.toml", "--out", "{tmp}/out"],
                                   "repetitions must be >= 1", "study_negative_repetitions.toml"),
    "study index on an unknown table": (["study", "{bad}/study_index_unknown_table.toml", "--out", "{tmp}/out"],
                                        "study_index_unknown_table.toml: unknown table 'nosuch'", "valid choices"),
    "study engine unknown": (["study", "{bad}/study_unknown_engine.toml", "--out", "{tmp}/out"],
                             "unknown engine target 'oracle'", "valid forms"),
    "study without a domain": (["study", "{bad}/study_no_domain.toml", "--out", "{tmp}/out"],
                               "study_no_domain.toml: a study needs `domain = ...`", "domain"),
    "study TOML syntax": (["study", "{bad}/study_syntax.toml", "--out", "{tmp}/out"], "not a valid TOML study file",
                          "line 3"),
    "study empty": (["study", "{bad}/study_empty.toml", "--out", "{tmp}/out"], "a study needs `name = ...`", "name"),
    "study binary": (["study", "{bad}/study_binary.toml", "--out", "{tmp}/out"], "study_binary.toml",
                     "not a valid TOML study file"),
    "study --out is a file": (["study", STUDY, "--out", "{bad}/empty.sql"], "empty.sql: this is a file",
                              "give --out a folder"),
    "study --out holds results": (["study", STUDY, "--out", "{tmp}/earlier"], "holds the results of an earlier run",
                                  "complete it with --resume"),
    "study resumed with other repetitions": (["study", STUDY, "--out", "{tmp}/earlier", "--resume",
                                              "--repetitions", "3"], "repetitions: 10 there, 3 now",
                                             "resume with the same settings"),
    "study unknown engine option": (["study", STUDY, "--out", "{tmp}/out", "--engine", "postgress"],
                                    "unknown engine target 'postgress'", "did you mean 'postgres'"),
    "study no repetitions": (["study", STUDY, "--out", "{tmp}/out", "--repetitions", "0"],
                             "'0' must be a number of at least 1", "--help"),
    "study baseline missing": (["study", STUDY, "--out", "{tmp}/out", "--baseline", "{tmp}/nosuch"],
                               "baseline", "give an earlier run's out directory"),
    "study baseline not results": (["study", STUDY, "--out", "{tmp}/out", "--baseline", "{bad}/image.png.sql"],
                                   "image.png.sql", "give an earlier run's out directory or its results.parquet"),
    "study ratio below 1": (["study", STUDY, "--out", "{tmp}/out", "--fail-if-slower", "0.5"],
                            "'0.5' must be a number of at least 1", "--help"),
    "PNG of 2,000 tables": (["er", "{tmp}/wide.sql", "-o", "{tmp}/wide.png"], "wide.png: the diagram is too large "
                            "for a PNG", "write .svg"),
}


def earlier_run(folder: Path) -> None:
    """What a run of the search study that measured something leaves behind (one recorded execution)."""
    row = {name: None for name in EXECUTIONS.names} | {"study": "product_search", "engine": "duckdb",
                                                       "variant": "no index", "query": "product_search",
                                                       "phase": "measure", "repetition": 0, "draw": 0}
    (folder / "executions").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([row], schema=EXECUTIONS), folder / "executions" / "part-00000.parquet")
    config = Study.from_toml(DATA / "ecommerce" / "study_search.toml").config()
    (folder / "meta.json").write_text(json.dumps({"name": "product_search", "study": config}), encoding="utf-8")


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    return {"bad": str(BAD), "data": str(DATA), "tmp": str(tmp_path)}


def run(argv: list[str]) -> int:
    """``main(argv)``'s exit code, whether it returns it or argparse exits with it (usage errors)."""
    try:
        return main(argv)
    except SystemExit as exited:
        return int(exited.code)


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_every_bad_input_ends_in_one_clear_line_and_exit_code_2(case: str, places, capsys):
    argv, wrong, remedy = CASES[case]
    if "{tmp}/earlier" in argv:
        earlier_run(Path(places["tmp"], "earlier"))
    if case == "PNG of 2,000 tables":
        Path(places["tmp"], "wide.sql").write_text(
            "\n".join(f"CREATE TABLE t{i} (id bigint PRIMARY KEY, name text);" for i in range(2000)), encoding="utf-8")
    code = run([arg.format(**places) for arg in argv])
    out, err = capsys.readouterr()
    assert code == 2, f"exit code {code}; stderr: {err}"
    assert err.endswith("\n") and err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err + out
    assert wrong.format(**places) in err and remedy in err, err


def test_inspect_still_shows_the_report_of_an_import_that_failed(capsys):
    assert main(["inspect", str(BAD / "mysql_dump.sql")]) == 2
    out, err = capsys.readouterr()
    assert "<ImportReport" in out and "2 errors" in out and "add --dialect mysql" in err


def test_a_dialect_that_reads_the_file_passes_and_a_few_errors_are_a_note(tmp_path, capsys):
    assert main(["er", str(SAKILA / "sql-server-sakila-schema.sql"), "--dialect", "tsql",
                 "-o", str(tmp_path / "sakila.mmd")]) == 0
    drawn = (tmp_path / "sakila.mmd").read_text(encoding="utf-8").splitlines()
    assert sum(line.endswith(" {") for line in drawn) == 16
    capsys.readouterr()
    assert main(["lint", str(BAD / "nul_byte.sql"), "--fail-on", "never"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("note: ") and "1 of 3 statements could not be imported" in err and "line 1" in err


def test_ctrl_c_ends_with_one_line_and_code_130(monkeypatch, capsys, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Study, "run", interrupted)
    assert main(["study", str(DATA / "ecommerce" / "study_search.toml"), "--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert err == f"error: interrupted (Ctrl-C); the measurements so far are kept in {tmp_path}; complete them " \
                  "with --resume\n"


def test_a_bug_is_one_line_with_where_it_happened_and_code_70(monkeypatch, capsys):
    import workbench.cli.data as data

    def broken(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(data, "cmd_datasets", broken)
    assert main(["datasets"]) == 70
    err = capsys.readouterr().err
    assert err.startswith("error: internal error ZeroDivisionError: division by zero (at test_bad_inputs.py:")
    assert err.count("\n") == 1 and "WORKBENCH_DEBUG=1" in err


def test_json_piped_into_head_ends_quietly(tmp_path):
    ddl = tmp_path / "many.sql"
    ddl.write_text("\n".join(f"CREATE TABLE t{i} (id bigint PRIMARY KEY, name text, at timestamptz);"
                             for i in range(400)), encoding="utf-8")
    command = [str(Path(sys.executable).parent / "workbench"), "inspect", str(ddl), "--json"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}) as reader:
        assert reader.stdout.read(100).startswith(b"{")  # what `head -c 100` reads before it closes the pipe
        reader.stdout.close()
        err = reader.stderr.read().decode()
        code = reader.wait(timeout=120)
    assert (code, err) == (141, "")
