"""What a statement is, read from its leading keywords without a parse (fast on files full of INSERTs)."""

from __future__ import annotations

import re

DATA = {"INSERT", "REPLACE", "UPDATE", "DELETE", "MERGE", "COPY", "TRUNCATE", "UPSERT"}
SESSION = {
    "SET": "a session setting is not modelled", "USE": "", "LOCK": "locking is not modelled",
    "UNLOCK": "locking is not modelled", "BEGIN": "a transaction is not modelled",
    "START": "a transaction is not modelled", "COMMIT": "a transaction is not modelled",
    "ROLLBACK": "a transaction is not modelled", "END": "a transaction is not modelled",
    "SAVEPOINT": "a transaction is not modelled", "RELEASE": "a transaction is not modelled",
    "PRAGMA": "an engine setting is not modelled", "GRANT": "privileges are not modelled",
    "REVOKE": "privileges are not modelled", "ANALYZE": "statistics are not modelled",
    "VACUUM": "maintenance is not modelled", "EXEC": "running code is not modelled",
    "EXECUTE": "running code is not modelled", "CALL": "running code is not modelled",
    "PRINT": "output is not modelled", "DECLARE": "a variable is not modelled",
    "SELECT": "a query is not modelled", "WITH": "a query is not modelled", "SHOW": "a query is not modelled",
    "EXPLAIN": "a query is not modelled", "DESCRIBE": "a query is not modelled",
    "ATTACH": "attaching a database is not modelled", "DETACH": "attaching a database is not modelled",
    "INSTALL": "extensions are not modelled", "LOAD": "extensions are not modelled",
    "CHECKPOINT": "maintenance is not modelled", "DROP": "drops are not applied: the model holds what "
    "the file creates",
}
OBJECTS = {"TABLE", "VIEW", "INDEX", "SEQUENCE", "SCHEMA", "DATABASE", "TRIGGER", "PROCEDURE", "PROC",
            "FUNCTION", "EVENT", "TYPE", "DOMAIN", "EXTENSION", "ROLE", "USER", "MACRO", "STAGE", "STREAM",
            "TASK", "PIPE", "SYNONYM", "LOGIN", "SECRET"}
MODELLED_KINDS = {"CREATE TABLE", "CREATE VIEW", "CREATE INDEX", "CREATE SEQUENCE"}  # a failure if not read
CODE = {"TRIGGER", "PROCEDURE", "FUNCTION", "EVENT", "MACRO", "TASK"}
WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
# Words that end a SQLite type name and start a column constraint.
SQLITE_CONSTRAINT_WORDS = {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE",
                            "REFERENCES", "GENERATED", "AS", "AUTOINCREMENT", "FOREIGN", "ON"}
TABLE_MODIFIERS = {"OR", "REPLACE", "TEMP", "TEMPORARY", "GLOBAL", "LOCAL", "UNLOGGED", "TRANSIENT",
                    "VOLATILE", "EXTERNAL", "VIRTUAL", "MULTISET", "SET", "ICEBERG", "DYNAMIC", "HYBRID"}
SNIPPET = 400
# MySQL view options sqlglot does not read; they say who runs the view, not what it is.
VIEW_OPTIONS = re.compile(r"(?<=CREATE)((?:\s+OR\s+REPLACE)?)(?:\s+ALGORITHM\s*=\s*\w+|\s+DEFINER\s*=\s*\S+"
                           r"|\s+SQL\s+SECURITY\s+\w+)+(?=\s+VIEW\b)", re.IGNORECASE)


LEADING_COMMENTS = re.compile(r"(?:\s+|--[^\n]*|#[^\n]*|/\*.*?(?:\*/|$))*", re.DOTALL)


def head(text: str, n: int = 8) -> list[str]:
    """The first ``n`` words of a statement, upper-cased, after any leading comments."""
    start = LEADING_COMMENTS.match(text).end()
    return [w.upper() for w in WORD.findall(text[start:start + 300])[:n]]


def statement_kind(words: list[str]) -> str:
    """What the report calls a statement: ``CREATE TABLE``, ``ALTER TABLE``, ``INSERT INTO``..."""
    if words[:1] == ["CREATE"]:
        return f"CREATE {created_object(words)}"
    return " ".join(words[:2]) or "UNKNOWN"


def created_object(words: list[str]) -> str | None:
    found = next((w for w in words[1:] if w in OBJECTS), None)
    return "PROCEDURE" if found == "PROC" else found
