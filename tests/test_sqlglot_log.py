"""sqlglot's "falling back to parsing as a Command" warning stays off the terminal, whatever reads SQL."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlglot

from workbench.bench import Study
from workbench.cli import main

DATA = Path(__file__).resolve().parent.parent / "datasets"
FALLBACK = "Falling back to parsing as a 'Command'"
COMMAND = "-- name: by_id\nSELECT name FROM products WHERE product_id = 1;\n-- name: vacuum\nVACUUM products;\n"


def test_the_fallback_warning_is_dropped_and_other_sqlglot_records_pass(caplog):
    with caplog.at_level(logging.WARNING, logger="sqlglot"):
        sqlglot.parse_one("VACUUM products", read="postgres")
        logging.getLogger("sqlglot").warning("an unrelated warning")
    assert [r.getMessage() for r in caplog.records] == ["an unrelated warning"]


def test_lint_and_study_files_print_no_fallback_warning(tmp_path, capsys):
    workload = tmp_path / "workload.sql"
    workload.write_text(COMMAND, encoding="utf-8")
    main(["lint", str(DATA / "ecommerce"), "--workload", str(workload)])
    study = tmp_path / "study.toml"
    study.write_text(f'name = "s"\ndomain = "{DATA / "ecommerce"}"\nworkload = "workload.sql"\n'
                     '[[variants]]\nname = "as is"\n', encoding="utf-8")
    Study.from_toml(study)
    assert FALLBACK not in capsys.readouterr().err
