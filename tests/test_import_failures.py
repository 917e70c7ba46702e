"""Bad DDL never disappears: whatever goes wrong is a located error or a report row, in every importer.

Each class of defect of issue 9 (items 6 and 7) is checked in every dialect it can happen in: unterminated
comments, strings and dollar quotes, NUL bytes, tables and columns declared twice, statements nested too
deeply, statements the parser hands back as opaque commands; and the real ports of Sakila (Oracle's SQL*Plus
``/`` lines, SQL Server's ``PRIMARY KEY NONCLUSTERED`` and statements without ``;``) import all 16 tables.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.ddl import import_ddl
from workbench.ddl.export import to_ddl
from workbench.ddl.guess import better_dialect
from workbench.ddl.report import ERROR, MODELLED, NESTED_TOO_DEEPLY, NOT_MODELLED, NUL_BYTE
from workbench.schema.builder import DuplicateNameError, SchemaBuilder
from workbench.schema.model import Column

SAKILA = Path(__file__).resolve().parent / "data" / "sakila"
DIALECTS = ["postgres", "mysql", "sqlite", "tsql", "duckdb", "snowflake", "oracle", "bigquery"]
IF_NOT_EXISTS = ["postgres", "mysql", "sqlite", "duckdb", "snowflake", "bigquery"]


def imported(text: str, dialect: str):
    return import_ddl(text, dialect, file="f.sql")


def names(result) -> list[str]:
    return [t.name.lower() for t in result.schema.tables]


@pytest.mark.parametrize(("text", "line", "column"), [
    ("CREATE TABLE a (x int);\n/* never closed\nCREATE TABLE b (y int);\n", 2, 1),
    ("CREATE TABLE a (x int);\nCREATE TABLE c (z int) /* open\n;CREATE TABLE b (y int);\n", 2, 24),
    ("CREATE TABLE a (x int);\nCREATE TABLE c (z text DEFAULT 'abc);\nCREATE TABLE b (y int);\n", 2, 32),
    ("CREATE TABLE a (x int);\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1;\nCREATE TABLE b (y int);\n", 2, 36),
])
def test_postgres_unterminated_comment_string_or_dollar_quote_is_a_located_error(text, line, column):
    result = imported(text, "postgres")
    [error] = result.report.errors
    assert (error.line, error.column) == (line, column)
    assert error.reason.startswith("unterminated") and "to the end of the file (line 3)" in error.reason
    assert "\n" not in error.reason and names(result) == ["a"]


@pytest.mark.parametrize("dialect", [d for d in DIALECTS if d != "postgres"])
def test_generic_unterminated_string_or_comment_is_a_located_error(dialect):
    result = imported("CREATE TABLE a (x int);\nCREATE TABLE c (z varchar(9) DEFAULT 'abc);\n", dialect)
    [error] = result.report.errors
    assert (error.line, error.kind) == (2, "CREATE TABLE") and "never closed" in error.reason
    result = imported("CREATE TABLE a (x int);\n/* never closed\nCREATE TABLE b (y int);\n", dialect)
    [error] = result.report.errors
    assert error.line == 2 and "unterminated comment" in error.reason and names(result) == after_a_bad_line(dialect)


def after_a_bad_line(dialect: str) -> list[str]:
    """T-SQL needs no ``;``: a line opening with CREATE TABLE starts the next statement, so table b stays whole."""
    return ["a", "b"] if dialect == "tsql" else ["a"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_nul_byte_fails_its_statement_and_nothing_else(dialect):
    result = imported("CREATE TABLE a (x int);\x00\nCREATE TABLE b (y int);\nCREATE TABLE c (z int);\n", dialect)
    [error] = result.report.errors
    assert (error.line, error.column, error.reason) == (1, 24, NUL_BYTE)
    assert names(result) == [*after_a_bad_line(dialect), "c"]
    assert len(result.report.outcomes) == len(names(result)) + 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_table_declared_twice_keeps_the_first_and_reports_the_second(dialect):
    result = imported("CREATE TABLE a (x int PRIMARY KEY, y int);\nCREATE TABLE a (z int);\n"
                      "CREATE TABLE b (id int, a_x int, FOREIGN KEY (a_x) REFERENCES a (x));\n", dialect)
    [error] = result.report.errors
    assert (error.line, error.kind) == (2, "CREATE TABLE") and "already exists; the first definition is kept" \
        in error.reason
    first = result.schema.tables[0]
    assert [c.name.lower() for c in first.columns] == ["x", "y"] and names(result) == ["a", "b"]
    notes = to_ddl(result.schema, "duckdb").notes
    assert not [n for n in notes if n.construct == "foreign key"]  # the key still points at a real column


@pytest.mark.parametrize("dialect", IF_NOT_EXISTS)
def test_if_not_exists_and_drop_then_create_are_not_errors(dialect):
    result = imported("CREATE TABLE a (x int);\nCREATE TABLE IF NOT EXISTS a (z int);\n", dialect)
    assert [(o.line, o.status) for o in result.report.outcomes] == [(1, MODELLED), (2, NOT_MODELLED)]
    result = imported("CREATE TABLE a (x int);\nDROP TABLE a;\nCREATE TABLE a (z int);\n", dialect)
    assert not result.report.errors and [c.name.lower() for c in result.schema.tables[0].columns] == ["z"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_column_declared_twice_fails_the_table_as_the_engine_would(dialect):
    result = imported("CREATE TABLE a (x int, x varchar(5));\nCREATE TABLE b (y int);\n", dialect)
    [error] = result.report.errors
    assert (error.line, error.kind) == (1, "CREATE TABLE") and "column x is declared twice" in error.reason.lower()
    assert names(result) == ["b"] and "x" not in to_ddl(result.schema, "postgres").sql.lower()


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite", "duckdb"])
def test_adding_a_column_a_table_already_has_is_an_error(dialect):
    result = imported("CREATE TABLE b (y int);\nALTER TABLE b ADD COLUMN y int;\n", dialect)
    [error] = result.report.errors
    assert error.line == 2 and "declared twice" in error.reason
    assert [c.name for c in result.schema.tables[0].columns] == ["y"]


def test_a_table_that_fails_half_way_leaves_nothing_behind():
    result = imported("CREATE TABLE t (id serial, x int, x int);\n", "postgres")
    assert result.report.errors and not result.schema.tables and not result.schema.sequences
    builder = SchemaBuilder()
    draft = builder.add_table("t")
    draft.add_column(Column("x", "int"))
    with pytest.raises(DuplicateNameError, match="column x is declared twice in table t"):
        draft.add_column(Column("x", "text"))
    with pytest.raises(DuplicateNameError, match="table t already exists"):
        builder.add_table("t")


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "duckdb"])
def test_a_statement_nested_too_deeply_is_an_error_not_a_crash(dialect):
    deep = "(1 + " * 3000 + "1" + ")" * 3000
    result = imported(f"CREATE TABLE a (x int DEFAULT {deep});\nCREATE TABLE b (y int);\n", dialect)
    [error] = result.report.errors
    assert (error.line, error.reason) == (1, NESTED_TOO_DEEPLY) and names(result) == ["b"]


@pytest.mark.parametrize("dialect", ["duckdb", "tsql", "oracle", "snowflake"])
def test_a_create_table_the_parser_cannot_read_is_an_error_not_a_silent_skip(dialect):
    text = ("CREATE TABLE IF NOT EXISTS `gserver` (`id` int unsigned NOT NULL auto_increment, PRIMARY KEY(`id`)) "
            "DEFAULT COLLATE utf8mb4_general_ci;\n")
    [outcome] = imported(text, dialect).report.outcomes
    assert outcome.status == ERROR and f"could not be read as {dialect}" in outcome.reason


def test_oracle_sqlplus_slash_lines_end_statements_and_plsql_blocks():
    text = ("CREATE TABLE actor (\n  actor_id INT NOT NULL,\n  CONSTRAINT pk_actor PRIMARY KEY (actor_id)\n);\n"
            "CREATE INDEX idx_actor ON actor(actor_id);\n/\nCREATE SEQUENCE actor_sequence;\n/\n"
            "CREATE OR REPLACE TRIGGER actor_before BEFORE INSERT ON actor FOR EACH ROW\nBEGIN\n"
            "  IF (:NEW.actor_id IS NULL) THEN\n    SELECT actor_sequence.nextval INTO :NEW.actor_id FROM DUAL;\n"
            "  END IF;\nEND;\n/\nCREATE TABLE country (country_id INT NOT NULL, CONSTRAINT pk_country "
            "PRIMARY KEY (country_id));\n")
    result = imported(text, "oracle")
    assert not result.report.errors and names(result) == ["actor", "country"]
    assert [(o.line, o.kind) for o in result.report.outcomes if o.kind.startswith("CREATE")] == [
        (1, "CREATE TABLE"), (5, "CREATE INDEX"), (7, "CREATE SEQUENCE"), (9, "CREATE TRIGGER"), (16, "CREATE TABLE")]


def test_tsql_clustering_keywords_and_statements_without_semicolons():
    text = ("CREATE TABLE a (\n  id INT NOT NULL IDENTITY,\n  code INT,\n  PRIMARY KEY NONCLUSTERED (id),\n"
            "  UNIQUE NONCLUSTERED (code),\n)\n\nCREATE TABLE b (\n  id INT PRIMARY KEY CLUSTERED,\n"
            "  a_id INT CONSTRAINT fk_a REFERENCES a (id)\n)\nGO\n"
            "ALTER TABLE b ADD CONSTRAINT [DF_b] DEFAULT (0) FOR a_id\nGO\n")
    result = imported(text, "tsql")
    assert not result.report.errors and names(result) == ["a", "b"]
    a, b = result.schema.tables
    assert a.primary_key.columns == ("id",) and [u.columns for u in a.uniques] == [("code",)]
    assert b.primary_key.columns == ("id",) and b.foreign_keys[0].ref_table == "a"
    assert "NONCLUSTERED (how the key is stored)" in result.report.outcomes[0].reason


@pytest.mark.parametrize(("name", "dialect"), [("oracle-sakila-schema.sql", "oracle"),
                                               ("sql-server-sakila-schema.sql", "tsql")])
def test_sakila_ports_import_their_16_tables(name, dialect):
    text = (SAKILA / name).read_text(encoding="utf-8")
    result = imported(text, dialect)
    assert not result.report.errors and len(result.schema.tables) == 16
    assert sum(len(t.foreign_keys) for t in result.schema.tables) == 22
    assert better_dialect(text, "postgres").dialect == dialect  # read as postgres, the right one is named


def test_no_dialect_is_suggested_for_a_file_that_reads_well():
    assert better_dialect("CREATE TABLE a (id int PRIMARY KEY);\nCREATE TABLE b (id int);\n", "postgres") is None
    mysql = "CREATE TABLE `a` (\n  `id` int NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n" * 3
    assert better_dialect(mysql.replace("`a`", "`a1`", 1), "postgres").dialect == "mysql"
