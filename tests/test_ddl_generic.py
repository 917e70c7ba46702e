"""The sqlglot-based importer on real corpus files and on the shapes that trip sqlglot up."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.ddl.generic import import_generic, resolve_dialect
from workbench.ddl.report import ERROR, MODELLED, NOT_MODELLED
from workbench.ddl.split import split_statements
from workbench.errors import UnknownNameError
from workbench.schema.model import ForeignKey

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "schemas"

# Counted independently with grep/awk over the files (see the comments for what was left out).
EXPECTED = {
    # 17 "PRIMARY KEY" lines, one in a procedure's temporary table; 23 KEY lines, 2 of them UNIQUE KEY
    "sakila_mysql_schema.sql": ("mysql", 16, 89, 16, 22, 7, 21),
    # 6 CREATE VIEW, one inside a /* */ comment
    "sakila_sqlite_schema.sql": ("sqlite", 16, 89, 16, 22, 5, 24),
    "chinook_mysql.sql": ("mysql", 11, 64, 11, 11, 0, 11),
    "chinook_sqlite.sql": ("sqlite", 11, 64, 11, 11, 0, 11),
    "tpch_dss.ddl.sql": ("ansi", 8, 61, 0, 0, 0, 0),
}


def corpus(name: str):
    dialect = EXPECTED[name][0]
    return import_generic((CORPUS / name).read_text(), dialect, file=name)


@pytest.mark.corpus
@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_counts(name: str) -> None:
    _, tables, columns, pks, fks, views, indexes = EXPECTED[name]
    result = corpus(name)
    schema = result.schema
    assert result.report.errors == []
    assert len(schema.tables) == tables
    assert sum(len(t.columns) for t in schema.tables) == columns
    assert sum(1 for t in schema.tables if t.primary_key) == pks
    assert sum(len(t.foreign_keys) for t in schema.tables) == fks
    assert len(schema.views) == views
    assert sum(len(t.indexes) for t in schema.tables) == indexes
    for table in schema.tables:  # every key column exists and every FK points at a declared table
        for fk in table.foreign_keys:
            assert all(table.has_column(c) for c in fk.columns)
            assert schema.referenced_table(fk) is not None


@pytest.mark.corpus
@pytest.mark.corpus
def test_sakila_mysql_details() -> None:
    result = corpus("sakila_mysql_schema.sql")
    schema = result.schema
    film = schema.table("film")
    assert film.column("film_id").type == "INT UNSIGNED"
    assert film.column("film_id").autoincrement and not film.column("film_id").nullable
    assert film.column("length").type == "SMALLINT UNSIGNED"
    assert film.column("rating").type == "ENUM('G','PG','PG-13','R','NC-17')"
    assert film.column("rating").default == "'G'"
    assert film.column("original_language_id").nullable
    assert schema.table("film_actor").primary_key.columns == ("actor_id", "film_id")
    payment_rental = next(fk for fk in schema.table("payment").foreign_keys if fk.name == "fk_payment_rental")
    assert payment_rental == ForeignKey(("rental_id",), "rental", ("rental_id",), None, "fk_payment_rental",
                                        "SET NULL", "CASCADE")
    assert [(u.name, u.columns) for u in schema.table("store").uniques] == [
        ("idx_unique_manager", ("manager_staff_id",))]
    assert schema.table("rental").uniques[0].columns == ("rental_date", "inventory_id", "customer_id")
    fulltext = schema.table("film_text").indexes[0]
    assert (fulltext.name, fulltext.method, fulltext.columns) == (
        "idx_title_description", "fulltext", ("title", "description"))
    # actor_info reads sakila.film after USE sakila: the same tables as the unqualified ones
    actor_info = next(v for v in schema.views if v.name == "actor_info")
    assert set(actor_info.depends_on) == {"film", "film_category", "film_actor", "actor", "category"}
    kinds = result.report.counts()
    assert kinds[(NOT_MODELLED, "CREATE TRIGGER")] == 3
    assert kinds[(NOT_MODELLED, "CREATE PROCEDURE")] == 3
    assert kinds[(NOT_MODELLED, "CREATE FUNCTION")] == 3
    assert kinds[(NOT_MODELLED, "SET")] == 6
    assert schema.tables[0].name == "actor" and schema.schemas == ()


@pytest.mark.corpus
@pytest.mark.corpus
def test_sakila_sqlite_details() -> None:
    result = corpus("sakila_sqlite_schema.sql")
    film = result.schema.table("film")
    assert film.column("description").type == "BLOB SUB_TYPE TEXT"  # SQLite takes any words as a type
    assert film.column("rental_rate").type == "DECIMAL(4,2)" and film.column("rental_rate").default == "4.99"
    assert len(film.checks) == 2 and film.checks[1].name == "CHECK_special_rating"
    unique = next(i for i in result.schema.table("rental").indexes if i.unique)
    assert unique.name == "idx_rental_uq" and unique.columns == ("rental_date", "inventory_id", "customer_id")
    triggers = [o for o in result.report.outcomes if o.kind == "CREATE TRIGGER"]
    assert len(triggers) == 30 and triggers[0].line == 30


@pytest.mark.corpus
@pytest.mark.corpus
def test_chinook_inserts_are_reported_not_parsed() -> None:
    result = corpus("chinook_mysql.sql")
    inserts = [o for o in result.report.outcomes if o.kind == "INSERT"]
    assert len(inserts) == 24 and all(o.reason == "data (INSERT) is not modelled" for o in inserts)
    track = result.schema.table("Track")  # mixed case kept as written
    assert track.column("Name").type == "NVARCHAR(200)"
    assert [fk.ref_table for fk in track.foreign_keys] == ["Album", "Genre", "MediaType"]
    assert result.schema.table("PlaylistTrack").primary_key.columns == ("PlaylistId", "TrackId")
    alters = [o for o in result.report.outcomes if o.kind == "ALTER TABLE ADD CONSTRAINT"]
    assert len(alters) == 11 and all(o.status == MODELLED for o in alters)


def test_split_handles_strings_comments_delimiters_and_go() -> None:
    text = ("-- a; comment\nSELECT 'a;b', \"c;d\" /* ; */;\n"
            "DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END $$\nDELIMITER ;\n"
            "SELECT 3")
    assert [(s.line, s.column) for s in split_statements(text, "mysql")] == [(2, 1), (4, 1), (6, 1)]
    go = split_statements("CREATE TABLE a (x INT)\nGO\n  CREATE PROC p AS SELECT 1; SELECT 2;\nGO\n", "tsql")
    assert [(s.line, s.column) for s in go] == [(1, 1), (3, 3)]
    assert go[1].text.endswith("SELECT 2;")
    dollar = split_statements("CREATE FUNCTION f() AS $$ SELECT 1; $$;\nSELECT 2;", "duckdb")
    assert len(dollar) == 2


def test_duckdb_snippet() -> None:
    result = import_generic(
        """CREATE SEQUENCE seq_id START 10 INCREMENT BY 5;
        CREATE TABLE customers (id INTEGER PRIMARY KEY DEFAULT nextval('seq_id'), name VARCHAR NOT NULL,
            tags VARCHAR[], total DECIMAL(18, 2) CHECK (total >= 0), email VARCHAR UNIQUE);
        CREATE TABLE orders (id BIGINT, line INTEGER, customer_id INTEGER REFERENCES customers (id),
            PRIMARY KEY (id, line));
        CREATE TABLE order_notes (order_id BIGINT, line INTEGER, note TEXT,
            FOREIGN KEY (order_id, line) REFERENCES orders (id, line));
        CREATE INDEX orders_lower ON orders ((customer_id + 1), line DESC);
        CREATE VIEW big AS WITH t AS (SELECT * FROM orders) SELECT * FROM t JOIN customers c ON true;
        INSERT INTO customers VALUES (1, 'a', [], 0, 'x');""",
        "duckdb",
    )
    schema = result.schema
    assert result.report.errors == []
    customers = schema.table("customers")
    assert [c.type for c in customers.columns] == ["INTEGER", "VARCHAR", "VARCHAR[]", "DECIMAL(18, 2)", "VARCHAR"]
    assert not customers.column("id").nullable and customers.column("id").default == "NEXTVAL('seq_id')"
    assert customers.uniques[0].columns == ("email",) and customers.checks[0].expression == "total >= 0"
    assert schema.table("order_notes").foreign_keys == (
        ForeignKey(("order_id", "line"), "orders", ("id", "line")),)
    index = schema.table("orders").indexes[0]
    assert [(e.is_expression, e.descending) for e in index.elements] == [(True, False), (False, True)]
    assert set(schema.views[0].depends_on) == {"orders", "customers"}  # the CTE t is not a dependency
    assert (schema.sequences[0].start, schema.sequences[0].increment) == (10, 5)


def test_tsql_go_batches_and_if_block() -> None:
    text = """SET ANSI_NULLS ON
GO
IF NOT EXISTS (SELECT * FROM sys.tables WHERE name = 'Album')
BEGIN
    CREATE TABLE [dbo].[Album] ([AlbumId] [int] IDENTITY(1,1) NOT NULL, [Title] [nvarchar](160) NULL,
        CONSTRAINT [PK_Album] PRIMARY KEY CLUSTERED ([AlbumId] ASC) ON [PRIMARY]);
    CREATE TABLE [dbo].[Track] ([TrackId] INT NOT NULL PRIMARY KEY, [AlbumId] INT NULL,
        [Price] AS ([TrackId] * 2) PERSISTED);
END
GO
ALTER TABLE [dbo].[Track] WITH CHECK ADD CONSTRAINT [FK_Track_Album] FOREIGN KEY ([AlbumId])
    REFERENCES [dbo].[Album] ([AlbumId]) ON DELETE CASCADE
GO
"""
    result = import_generic(text, "mssql")
    schema = result.schema
    assert [t.key for t in schema.tables] == ["dbo.Album", "dbo.Track"]
    album = schema.table("dbo.Album")
    assert album.primary_key.columns == ("AlbumId",) and album.primary_key.name == "PK_Album"
    assert album.column("AlbumId").identity == "by default" and album.column("Title").nullable
    assert album.column("Title").type == "NVARCHAR(160)"
    assert schema.table("dbo.Track").column("Price").generated == "[TrackId] * 2"
    fk = schema.table("dbo.Track").foreign_keys[0]
    assert (fk.ref_schema, fk.ref_table, fk.on_delete) == ("dbo", "Album", "CASCADE")
    lines = [(o.line, o.kind, o.status) for o in result.report.outcomes]
    assert lines == [(1, "SET", NOT_MODELLED), (3, "IF", NOT_MODELLED), (5, "CREATE TABLE", MODELLED),
                     (7, "CREATE TABLE", MODELLED), (11, "ALTER TABLE ADD CONSTRAINT", MODELLED)]


def test_mysql_delimiter_trigger_and_inline_keys() -> None:
    text = """CREATE TABLE shop.item (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'the id',
  name VARCHAR(45) NOT NULL,
  doc TEXT,
  full_name VARCHAR(90) AS (CONCAT(name, '!')) STORED,
  PRIMARY KEY (id),
  UNIQUE KEY uq_name (name),
  KEY idx_name USING HASH (name),
  FULLTEXT INDEX ft_doc (doc)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='items; for sale';
DELIMITER ;;
CREATE TRIGGER t_ins AFTER INSERT ON shop.item FOR EACH ROW BEGIN
  INSERT INTO log VALUES (new.id);
END;;
DELIMITER ;
CREATE INDEX by_doc ON shop.item (doc(10)) USING BTREE;
LOCK TABLES shop.item WRITE;
"""
    result = import_generic(text, "mysql")
    item = result.schema.table("shop.item")
    assert item.schema == "shop" and item.comment == "items; for sale"
    assert item.column("id").comment == "the id" and item.column("id").autoincrement
    assert item.column("full_name").generated is not None
    assert item.uniques[0].name == "uq_name"
    assert [(i.name, i.method) for i in item.indexes] == [("idx_name", "hash"), ("ft_doc", "fulltext"),
                                                          ("by_doc", "btree")]
    outcomes = [(o.line, o.kind, o.status) for o in result.report.outcomes]
    assert outcomes == [(1, "CREATE TABLE", MODELLED), (12, "CREATE TRIGGER", NOT_MODELLED),
                        (16, "CREATE INDEX", MODELLED), (17, "LOCK", NOT_MODELLED)]


def test_create_schema_with_nested_tables() -> None:
    text = "CREATE SCHEMA sales\n  CREATE TABLE a (id INT PRIMARY KEY)\n  CREATE TABLE b (a_id INT REFERENCES a)\n" \
           "  CREATE VIEW v AS SELECT * FROM b;"
    result = import_generic(text, "ansi")
    assert [t.key for t in result.schema.tables] == ["sales.a", "sales.b"]
    assert result.schema.schemas == ("sales",)
    fk = result.schema.table("sales.b").foreign_keys[0]
    assert (fk.ref_schema, fk.ref_table, fk.ref_columns) == ("sales", "a", ("id",))
    assert result.schema.views[0].key == "sales.v"
    assert [(o.line, o.kind) for o in result.report.outcomes] == [
        (1, "CREATE SCHEMA"), (2, "CREATE TABLE"), (3, "CREATE TABLE"), (4, "CREATE VIEW")]


def test_malformed_statement_is_an_error_and_the_rest_imports() -> None:
    text = "CREATE TABLE a (id INT);\n\nCREATE TABLE b (\n  id INT,\n  x INT NOT NOT NULL\n);\nCREATE TABLE c (id INT);"
    result = import_generic(text, "sqlite", file="bad.sql")
    assert [t.name for t in result.schema.tables] == ["a", "c"]
    (error,) = result.report.errors
    assert (error.line, error.kind, error.status) == (5, "CREATE TABLE", ERROR)
    assert error.column == 9 and error.snippet == "x INT NOT NOT NULL" and error.where == "bad.sql:5:9"


def test_unicode_quoted_and_mixed_case_names() -> None:
    text = 'CREATE TABLE "Café Ünïcode" ("Größe" INT NOT NULL, "select" TEXT, MixedCase INT, PRIMARY KEY ("Größe"));'
    for dialect, mixed in (("sqlite", "MixedCase"), ("duckdb", "MixedCase"), ("snowflake", "MIXEDCASE")):
        table = import_generic(text, dialect).schema.table("Café Ünïcode")
        assert [c.name for c in table.columns] == ["Größe", "select", mixed]
    sqlite = import_generic(text, "sqlite").schema.table("Café Ünïcode")
    assert sqlite.column("select").nullable  # SQLite: a non-INTEGER key column is nullable unless NOT NULL
    lone = import_generic("CREATE TABLE t (code TEXT PRIMARY KEY, n INTEGER)", "sqlite").schema.table("t")
    assert lone.column("code").nullable
    rowid = import_generic("CREATE TABLE t (id INTEGER PRIMARY KEY)", "sqlite").schema.table("t")
    assert not rowid.column("id").nullable


def test_unknown_dialect() -> None:
    assert (resolve_dialect("postgresql"), resolve_dialect("MSSQL"), resolve_dialect("ansi")) == (
        "postgres", "tsql", "")
    with pytest.raises(UnknownNameError, match=r"unknown dialect 'mysqll'; did you mean 'mysql'"):
        import_generic("SELECT 1", "mysqll")
