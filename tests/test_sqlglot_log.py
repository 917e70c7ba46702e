"""sqlglot's "falling back to parsing as a Command" warning stays off the terminal, whatever reads SQL."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import sqlglot

from workbench.bench import Study

DATA = Path(__file__).resolve().parent.parent / "datasets"
FALLBACK = "Falling back to parsing as a 'Command'"
COMMAND = "-- name: by_id\nSELECT name FROM products WHERE product_id = 1;\n-- name: vacuum\nVACUUM products;\n"


def test_the_fallback_warning_is_dropped_and_other_sqlglot_records_pass(caplog):
    with caplog.at_level(logging.WARNING, logger="sqlglot"):
        sqlglot.parse_one("VACUUM products", read="postgres")
        logging.getLogger("sqlglot").warning("an unrelated warning")
    assert [r.getMessage() for r in caplog.records] == ["an unrelated warning"]


def test_lint_prints_no_fallback_warning_on_the_terminal(tmp_path):
    workload = tmp_path / "workload.sql"
    workload.write_text(COMMAND, encoding="utf-8")
    command = [str(Path(sys.executable).parent / "workbench"), "lint", str(DATA / "ecommerce"), "--workload",
               str(workload), "--fail-on", "never"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and FALLBACK not in done.stderr


def test_reading_a_study_logs_no_fallback_warning(tmp_path, caplog):
    (tmp_path / "workload.sql").write_text(COMMAND, encoding="utf-8")
    study = tmp_path / "study.toml"
    study.write_text(f'name = "s"\ndomain = "{DATA / "ecommerce"}"\nworkload = "workload.sql"\n'
                     '[[variants]]\nname = "as is"\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="sqlglot"):
        Study.from_toml(study)
    assert not [r for r in caplog.records if FALLBACK in r.getMessage()]
