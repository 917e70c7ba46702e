"""Import DDL of any dialect sqlglot reads (MySQL, SQLite, DuckDB, T-SQL, Snowflake...) into the model.

The file is cut into statements first (:mod:`workbench.ddl.split`), so every statement gets exactly
one outcome in the report with its own line. Data and session statements are recognised from
their leading keywords without a parse, so files full of INSERT rows import quickly. sqlglot's
opaque ``exp.Command`` results are never taken as success: known shapes are re-parsed in pieces
(nested ``CREATE SCHEMA``, MySQL ``USING BTREE``, SQLite free-form type names), the rest reported.
The number of ``CREATE TABLE`` a statement declares (counted from tokens) is checked against what
the parser returned, because sqlglot can swallow tables in an ``IF`` block without an error.

Identifiers keep the case the engine would store: folded only where sqlglot says the dialect
folds unquoted names (Snowflake, Oracle: upper; PostgreSQL-like: lower), as written elsewhere.
Column types are kept as written in the file (whitespace collapsed); when the written text cannot
be isolated, sqlglot's rendering in the source dialect is used.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, Dialects, NormalizationStrategy
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.tokens import Token, TokenType

from workbench.ddl.report import ERROR, MODELLED, NOT_MODELLED, ImportReport, ImportResult
from workbench.ddl.split import Statement, split_statements
from workbench.errors import UnknownNameError
from workbench.schema.builder import SchemaBuilder, TableDraft
from workbench.schema.model import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    IndexElement,
    PrimaryKey,
    Sequence,
    UniqueConstraint,
    View,
    qualified,
)

ALIASES = {"postgresql": "postgres", "pg": "postgres", "sqlserver": "tsql", "mssql": "tsql",
           "ansi": "", "generic": ""}
# Dialects where a database is a schema: ``USE db`` makes ``db.t`` the same table as ``t``.
_DATABASE_IS_SCHEMA = frozenset({"mysql", "doris", "starrocks", "singlestore", "clickhouse", "hive",
                                 "spark", "spark2", "databricks"})
_DATA = {"INSERT", "REPLACE", "UPDATE", "DELETE", "MERGE", "COPY", "TRUNCATE", "UPSERT"}
_SESSION = {
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
_OBJECTS = {"TABLE", "VIEW", "INDEX", "SEQUENCE", "SCHEMA", "DATABASE", "TRIGGER", "PROCEDURE", "PROC",
            "FUNCTION", "EVENT", "TYPE", "DOMAIN", "EXTENSION", "ROLE", "USER", "MACRO", "STAGE", "STREAM",
            "TASK", "PIPE", "SYNONYM", "LOGIN", "SECRET"}
_CODE = {"TRIGGER", "PROCEDURE", "FUNCTION", "EVENT", "MACRO", "TASK"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
# Words that end a SQLite type name and start a column constraint.
_SQLITE_CONSTRAINT_WORDS = {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE",
                            "REFERENCES", "GENERATED", "AS", "AUTOINCREMENT", "FOREIGN", "ON"}
_TABLE_MODIFIERS = {"OR", "REPLACE", "TEMP", "TEMPORARY", "GLOBAL", "LOCAL", "UNLOGGED", "TRANSIENT",
                    "VOLATILE", "EXTERNAL", "VIRTUAL", "MULTISET", "SET", "ICEBERG", "DYNAMIC", "HYBRID"}
_SNIPPET = 400
# MySQL view options sqlglot does not read; they say who runs the view, not what it is.
_VIEW_OPTIONS = re.compile(r"(?<=CREATE)((?:\s+OR\s+REPLACE)?)(?:\s+ALGORITHM\s*=\s*\w+|\s+DEFINER\s*=\s*\S+"
                           r"|\s+SQL\s+SECURITY\s+\w+)+(?=\s+VIEW\b)", re.IGNORECASE)


def resolve_dialect(name: str) -> str:
    """The sqlglot dialect name for ``name`` (aliases accepted); unknown names raise with suggestions."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    valid = {d.value for d in Dialects}
    if key not in valid:
        raise UnknownNameError("dialect", name, sorted((valid - {""}) | set(ALIASES)))
    return key


def import_generic(text: str, dialect: str, *, file: str | None = None) -> ImportResult:
    """The schema declared by ``text`` in ``dialect``, with one report outcome per statement."""
    dialect = resolve_dialect(dialect)
    importer = _Importer(dialect, file)
    with _quiet_sqlglot():
        for statement in split_statements(text, dialect):
            importer.statement(statement)
    return importer.result()


@contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    """sqlglot logs a warning for every statement it falls back on; the report says it instead."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _head(text: str, n: int = 8) -> list[str]:
    return [w.upper() for w in _WORD.findall(text[:300])[:n]]


def _created_object(words: list[str]) -> str | None:
    found = next((w for w in words[1:] if w in _OBJECTS), None)
    return "PROCEDURE" if found == "PROC" else found


def _key_of(node: exp.Expression) -> exp.Identifier | None:
    """The identifier naming a plain column in a key list (Ordered, Column or Identifier)."""
    if isinstance(node, exp.Ordered):
        node = node.this
    if isinstance(node, exp.Column) and isinstance(node.this, exp.Identifier):
        return node.this
    return node if isinstance(node, exp.Identifier) else None


class _Importer:
    """Fills one SchemaBuilder and ImportReport, statement by statement."""

    def __init__(self, dialect: str, file: str | None):
        self.dialect = dialect
        self.builder = SchemaBuilder(dialect=dialect)
        self.report = ImportReport(file=file, dialect=dialect)
        self.fold = self._folding(dialect)
        self.default_db: str | None = None  # from USE, where a database is a schema
        self.nested_schema: str | None = None  # inside CREATE SCHEMA s CREATE TABLE ...
        self.source = ""  # the text being parsed: identifier offsets point into it
        self.tokens: list[Token] | None = None
        self.type_overrides: dict[str, str] = {}
        self.ignored: list[str] = []
        self.without_rowid = False  # SQLite WITHOUT ROWID: its primary key is NOT NULL

    @staticmethod
    def _folding(dialect: str) -> Callable[[str], str]:
        strategy = Dialect.get_or_raise(dialect).NORMALIZATION_STRATEGY
        if strategy is NormalizationStrategy.UPPERCASE:
            return str.upper
        if strategy is NormalizationStrategy.LOWERCASE and dialect:
            return str.lower
        return str

    def result(self) -> ImportResult:
        for draft in self.builder.tables.values():  # REFERENCES t without columns means t's primary key
            for i, fk in enumerate(draft.foreign_keys):
                target = self.builder.find(fk.ref_table, fk.ref_schema)
                if not fk.ref_columns and target is not None and target.primary_key is not None:
                    draft.foreign_keys[i] = replace(fk, ref_columns=target.primary_key.columns)
        return ImportResult(self.builder.build(), self.report)

    # -- statements -------------------------------------------------------------------------------

    def add(self, where: Statement, kind: str, status: str, reason: str = "") -> None:
        self.report.add(where.line, kind, status, reason, where.text[:_SNIPPET], where.column)

    def statement(self, stmt: Statement) -> None:
        words = _head(stmt.text)
        first = words[0] if words else ""
        if first in _DATA:
            self.add(stmt, first, NOT_MODELLED, f"data ({first}) is not modelled")
        elif first == "USE":
            self.use(stmt)
        elif first in _SESSION:
            kind = " ".join(words[:2]) if first == "DROP" else first
            self.add(stmt, kind, NOT_MODELLED, _SESSION[first])
        elif first == "CREATE" and _created_object(words) in _CODE | {"DATABASE"}:
            created = _created_object(words)
            reason = ("a database is not modelled; unqualified tables have no schema" if created == "DATABASE"
                      else "triggers and routines are code, not schema: not modelled")
            self.add(stmt, f"CREATE {created}", NOT_MODELLED, reason)
        else:
            before = len(self.report.outcomes)
            self.parse_and_model(stmt, words)
            self.check_table_count(stmt, before)

    def use(self, stmt: Statement) -> None:
        try:
            used = sqlglot.parse_one(stmt.text, read=self.dialect)
        except SqlglotError:
            used = None
        if isinstance(used, exp.Use) and isinstance(used.this, exp.Table):
            self.default_db = self.name(used.this.this)
        reason = "sets the default database"
        if self.dialect in _DATABASE_IS_SCHEMA:
            reason += "; names qualified with it are read as unqualified"
        self.add(stmt, "USE", NOT_MODELLED, reason)

    def parse_and_model(self, stmt: Statement, words: list[str]) -> None:
        kind = f"CREATE {_created_object(words)}" if words[:1] == ["CREATE"] else " ".join(words[:2])
        self.source, self.tokens, self.type_overrides, self.without_rowid = stmt.text, None, {}, False
        try:
            parsed = [e for e in sqlglot.parse(stmt.text, read=self.dialect)
                      if e is not None and not isinstance(e, exp.EndStatement)]
        except ParseError as error:
            parsed = self.reparse(stmt, words)
            if parsed is None:
                self.parse_error(stmt, kind, error)
                return
        except SqlglotError as error:
            self.add(stmt, kind, ERROR, f"cannot be read: {error}")
            return
        if len(parsed) == 1 and isinstance(parsed[0], exp.Command):
            retried = self.reparse(stmt, words)
            if retried is None:
                if words[:2] == ["CREATE", "SCHEMA"]:
                    self.create_schema_command(stmt)
                else:
                    self.add(stmt, kind, NOT_MODELLED,
                             "sqlglot returned it as an opaque command, so its content is not modelled")
                return
            parsed = retried
        for expression in parsed:
            self.expression(expression, stmt, kind)

    def parse_error(self, stmt: Statement, kind: str, error: ParseError) -> None:
        detail = error.errors[0] if error.errors else {}
        line = detail.get("line") or 1
        col = max(1, (detail.get("col") or 1) - len(detail.get("highlight") or "x") + 1)  # sqlglot: token end
        lines = stmt.text.splitlines() or [""]
        snippet = lines[min(line, len(lines)) - 1].strip()
        self.report.add(stmt.line + line - 1, kind, ERROR, str(detail.get("description", error)), snippet,
                        stmt.column + col - 1 if line == 1 else col)

    def reparse(self, stmt: Statement, words: list[str]) -> list[exp.Expression] | None:
        """Rewrite known shapes sqlglot cannot read into ones it can, or None."""
        rewritten = None
        if words[:2] == ["CREATE", "TABLE"] and self.dialect == "sqlite":
            rewritten = self.sqlite_free_types(stmt.text)
        elif _created_object(words) == "INDEX":
            rewritten = self.strip_index_using(stmt.text)
        elif _created_object(words) == "VIEW":
            rewritten = _VIEW_OPTIONS.sub("", stmt.text, count=1)
        if rewritten is None:
            return None
        try:
            parsed = [e for e in sqlglot.parse(rewritten, read=self.dialect) if e is not None]
        except SqlglotError:
            return None
        if len(parsed) != 1 or isinstance(parsed[0], exp.Command):
            return None
        self.source, self.tokens = rewritten, None
        return parsed

    def sqlite_free_types(self, text: str) -> str | None:
        """SQLite takes any words as a type (``BLOB SUB_TYPE TEXT``): keep them aside, parse ``TEXT``."""
        tokens = self.tokenize(text)
        edits: list[tuple[int, int, str]] = []
        depth, expect_name, i = 0, False, 0
        while i < len(tokens):
            token = tokens[i]
            if token.token_type == TokenType.L_PAREN:
                depth += 1
                expect_name = depth == 1
            elif token.token_type == TokenType.R_PAREN:
                depth -= 1
            elif token.token_type == TokenType.COMMA and depth == 1:
                expect_name = True
            elif expect_name and depth == 1:
                expect_name = False
                j = i + 1
                while (j < len(tokens) and _WORD.fullmatch(tokens[j].text)
                       and tokens[j].text.upper() not in _SQLITE_CONSTRAINT_WORDS):
                    j += 1
                if j - i > 2 and token.text.upper() not in _SQLITE_CONSTRAINT_WORDS:
                    start, end = tokens[i + 1].start, tokens[j - 1].end + 1
                    self.type_overrides[self.name(exp.to_identifier(token.text.strip('"`[]')))] = \
                        " ".join(text[start:end].split())
                    edits.append((start, end, "TEXT"))
                i = j - 1
            i += 1
        if "WITHOUT" in text.upper():
            found = re.search(r"\)\s*WITHOUT\s+ROWID\s*$", text, re.IGNORECASE)
            if found:
                self.without_rowid = True
                edits.append((found.start() + 1, found.end(), ""))
        if not edits:
            return None
        for start, end, new in reversed(edits):
            text = text[:start] + new + text[end:]
        return text

    def strip_index_using(self, text: str) -> str | None:
        """MySQL ``USING BTREE|HASH`` before or after the key list: remove it, keep it as the method."""
        found = list(re.finditer(r"\bUSING\s+(BTREE|HASH|RTREE)\b", text, re.IGNORECASE))
        if not found:
            return None
        self.type_overrides["<method>"] = found[0].group(1).lower()
        for match in reversed(found):
            text = text[:match.start()] + text[match.end():]
        return text

    def create_schema_command(self, stmt: Statement) -> None:
        """``CREATE SCHEMA s CREATE TABLE ... CREATE VIEW ...``: cut at each nested CREATE, import each."""
        tokens = self.tokenize(stmt.text)
        depth, cuts = 0, []
        for token in tokens[1:]:
            depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
            if depth == 0 and token.token_type == TokenType.CREATE:
                cuts.append(token.start)
        head = stmt.text[:cuts[0]] if cuts else stmt.text
        names = [t for t in self.tokenize(head)[2:] if t.text.upper() != "AUTHORIZATION"]
        schema = self.name(exp.to_identifier(names[0].text.strip('"`[]'), quoted=names[0].token_type
                                             != TokenType.VAR)) if names else None
        self.builder.add_namespace(schema)
        self.add(stmt, "CREATE SCHEMA", MODELLED,
                 f"namespace {schema}; its {len(cuts)} nested statements are reported on their own lines"
                 if cuts else "")
        outer, self.nested_schema = self.nested_schema, schema
        try:
            for start, end in zip(cuts, [*cuts[1:], len(stmt.text)], strict=True):
                piece = stmt.text[start:end].rstrip()
                line = stmt.line + stmt.text.count("\n", 0, start)
                column = start - stmt.text.rfind("\n", 0, start) if "\n" in stmt.text[:start] \
                    else stmt.column + start
                self.statement(Statement(line, column, piece, stmt.offset + start))
        finally:
            self.nested_schema = outer

    def check_table_count(self, stmt: Statement, before: int) -> None:
        """Report any table the statement declares (by tokens) that the parser did not hand back."""
        words = _head(stmt.text, 40)
        if "TABLE" not in words or not any(w in ("CREATE", "IF", "BEGIN") for w in words):
            return
        try:
            tokens = self.tokenize(stmt.text)
        except SqlglotError:
            return
        declared: list[tuple[Token, str]] = []
        for i, token in enumerate(tokens):
            if token.token_type != TokenType.CREATE:
                continue
            j = i + 1
            while j < len(tokens) and tokens[j].text.upper() in _TABLE_MODIFIERS:
                j += 1
            if j + 1 < len(tokens) and tokens[j].token_type == TokenType.TABLE:
                j += 1
                while j < len(tokens) and tokens[j].text.upper() in ("IF", "NOT", "EXISTS"):
                    j += 1
                name = tokens[j].text if j < len(tokens) else "?"
                while j + 2 < len(tokens) and tokens[j + 1].token_type == TokenType.DOT:
                    j += 2
                    name += "." + tokens[j].text
                declared.append((token, name))
        got = sum(1 for o in self.report.outcomes[before:] if o.kind == "CREATE TABLE")
        for token, name in declared[got:]:
            self.report.add(stmt.line + token.line - 1, "CREATE TABLE", ERROR,
                            f"the file declares table {name} here, but the parser did not return it "
                            f"({len(declared)} declared, {got} returned): not modelled",
                            stmt.text[:_SNIPPET], token.col if token.line > 1 else stmt.column + token.col - 1)

    def tokenize(self, text: str) -> list[Token]:
        return Dialect.get_or_raise(self.dialect).tokenize(text)

    # -- expressions ------------------------------------------------------------------------------

    def expression(self, node: exp.Expression, stmt: Statement, kind: str) -> None:
        self.ignored = []
        if isinstance(node, exp.Create):
            self.create(node, stmt)
        elif isinstance(node, exp.Alter):
            self.alter(node, stmt)
        elif isinstance(node, exp.Comment):
            self.comment(node, stmt)
        elif isinstance(node, exp.IfBlock | exp.Block):
            self.block(node, stmt)
        elif isinstance(node, exp.Command):
            self.add(stmt, kind, NOT_MODELLED, "sqlglot returned it as an opaque command: not modelled")
        else:
            name = node.key.upper()
            self.add(stmt, kind or name, NOT_MODELLED, f"{name} statements are not modelled")
        self.ignored = []

    def block(self, node: exp.Expression, stmt: Statement) -> None:
        """An IF or BEGIN block: its condition is not modelled, its statements each are on their own."""
        inner = []
        for arg in ("true", "false", "expressions"):
            value = node.args.get(arg)
            for part in value if isinstance(value, list) else [value]:
                if isinstance(part, exp.Block):  # sqlglot keeps the closing END as an EndStatement
                    inner.extend(e for e in part.expressions if not isinstance(e, exp.EndStatement))
                elif isinstance(part, exp.Expression) and arg != "this":
                    inner.append(part)
        kind = "IF" if isinstance(node, exp.IfBlock) else "BEGIN"
        self.add(stmt, kind, NOT_MODELLED,
                 f"the {kind} condition is not modelled; its {len(inner)} statements are reported on their "
                 "own lines, modelled as if it held")
        for part in inner:
            located = self.locate(part, stmt)
            words = _head(located.text)
            kind = f"CREATE {_created_object(words)}" if words[:1] == ["CREATE"] else " ".join(words[:2])
            if words[:1] and words[0] in _DATA | set(_SESSION) - {"USE"}:
                self.add(located, kind if words[0] == "DROP" else words[0], NOT_MODELLED,
                         _SESSION.get(words[0], f"data ({words[0]}) is not modelled"))
            else:
                self.expression(part, located, kind)

    def locate(self, node: exp.Expression, stmt: Statement) -> Statement:
        ident = next((i for i in node.find_all(exp.Identifier) if "line" in i.meta), None)
        text = node.sql(dialect=self.dialect)
        if ident is None:
            return Statement(stmt.line, stmt.column, text, stmt.offset)
        line, col = ident.meta["line"], ident.meta["col"]
        return Statement(stmt.line + line - 1, stmt.column + col - 1 if line == 1 else col, text, stmt.offset)

    def create(self, node: exp.Create, stmt: Statement) -> None:
        created = str(node.args.get("kind") or "").upper()
        kind = f"CREATE {created}"
        if created == "TABLE":
            self.create_table(node, stmt)
        elif created == "VIEW":
            self.create_view(node, stmt)
        elif created == "INDEX":
            self.create_index(node, stmt)
        elif created == "SEQUENCE":
            self.create_sequence(node, stmt)
        elif created == "SCHEMA" and self.dialect in _DATABASE_IS_SCHEMA:
            self.add(stmt, kind, NOT_MODELLED, f"in {self.dialect} a schema is a database: tables qualified "
                     "with it get it as their schema, unqualified ones have none")
        elif created == "SCHEMA":
            table = node.this
            if isinstance(table, exp.Table):
                self.builder.add_namespace(self.name(table.args.get("db") or table.this))
            self.add(stmt, kind, MODELLED)
        else:
            self.add(stmt, kind, NOT_MODELLED, f"CREATE {created} is not modelled")

    def create_table(self, node: exp.Create, stmt: Statement) -> None:
        properties = node.args.get("properties")
        props = properties.expressions if properties else []
        if not isinstance(node.this, exp.Schema):
            self.add(stmt, "CREATE TABLE", NOT_MODELLED,
                     "CREATE TABLE ... AS/LIKE: the columns come from elsewhere and are not modelled")
            return
        if any(isinstance(p, exp.TemporaryProperty) for p in props):
            self.add(stmt, "CREATE TABLE", NOT_MODELLED, "a temporary table lives for one session: not modelled")
            return
        schema, name = self.table_ref(node.this.this)
        draft = self.builder.add_table(name, schema)
        for prop in props:
            if isinstance(prop, exp.SchemaCommentProperty):
                draft.comment = prop.this.name
        for element in node.this.expressions:
            self.table_element(draft, element)
        if self.without_rowid and draft.primary_key is not None:
            for column in draft.primary_key.columns:  # a WITHOUT ROWID table enforces NOT NULL on its key
                self.set_nullable(draft, column)
        self.add(stmt, "CREATE TABLE", MODELLED, self.ignored_reason())

    def ignored_reason(self) -> str:
        return "ignored: " + "; ".join(self.ignored) if self.ignored else ""

    def table_element(self, draft: TableDraft, node: exp.Expression, name: str | None = None) -> bool:
        """Add one column or table constraint to ``draft``; False (and noted) when not modelled."""
        if isinstance(node, exp.ColumnDef):
            self.column(draft, node)
        elif isinstance(node, exp.Constraint):
            parts = node.expressions
            keyed = next((p.this for p in parts if isinstance(p, exp.ClusteredColumnConstraint |
                                                            exp.NonClusteredColumnConstraint)), None)
            for part in parts:
                if isinstance(part, exp.PrimaryKeyColumnConstraint) and keyed:
                    self.primary_key(draft, self.keys(keyed), self.name(node.this))
                elif isinstance(part, exp.UniqueColumnConstraint) and keyed and part.this is None:
                    draft.uniques.append(UniqueConstraint(self.keys(keyed), self.name(node.this)))
                elif not isinstance(part, exp.ClusteredColumnConstraint | exp.NonClusteredColumnConstraint
                                    | exp.Properties | exp.OnProperty):
                    self.table_element(draft, part, self.name(node.this))
        elif isinstance(node, exp.PrimaryKey):
            self.primary_key(draft, self.keys(node.expressions), name)
        elif isinstance(node, exp.ForeignKey):
            draft.foreign_keys.append(self.foreign_key(node.expressions, node.args.get("reference"), name,
                                                       node))
        elif isinstance(node, exp.UniqueColumnConstraint):
            target = node.this
            if isinstance(target, exp.Schema):
                name = name or self.name(target.this)
                draft.uniques.append(UniqueConstraint(self.keys(target.expressions), name,
                                                      bool(node.args.get("nulls"))))
            else:
                self.ignored.append(f"unique constraint without columns: {node.sql(dialect=self.dialect)}")
                return False
        elif isinstance(node, exp.CheckColumnConstraint):
            draft.checks.append(CheckConstraint(node.this.sql(dialect=self.dialect), name))
        elif isinstance(node, exp.IndexColumnConstraint):
            draft.indexes.append(self.inline_index(node))
        else:
            self.ignored.append(node.sql(dialect=self.dialect))
            return False
        return True

    def column(self, draft: TableDraft, node: exp.ColumnDef) -> None:
        name = self.name(node.this)
        column = Column(name=name, type=self.written_type(node, name))
        draft.columns.append(column)
        for constraint in node.constraints:
            self.column_constraint(draft, name, constraint.kind, self.name(constraint.this))

    def column_constraint(self, draft: TableDraft, column: str, kind: exp.Expression, name: str | None) -> None:
        dialect = self.dialect
        if isinstance(kind, exp.NotNullColumnConstraint):
            draft.update_column(column, nullable=bool(kind.args.get("allow_null")))
        elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
            self.primary_key(draft, (column,), name)
        elif isinstance(kind, exp.UniqueColumnConstraint):
            draft.uniques.append(UniqueConstraint((column,), name))
        elif isinstance(kind, exp.AutoIncrementColumnConstraint):
            draft.update_column(column, autoincrement=True)
        elif isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
            if kind.args.get("expression") is not None:
                draft.update_column(column, generated=kind.args["expression"].sql(dialect=dialect))
            else:
                draft.update_column(column, identity="always" if kind.this else "by default")
        elif isinstance(kind, exp.ComputedColumnConstraint):
            expression = kind.this.unnest() if isinstance(kind.this, exp.Paren) else kind.this
            draft.update_column(column, generated=expression.sql(dialect=dialect))
        elif isinstance(kind, exp.DefaultColumnConstraint):  # DEFAULT NULL is no default
            draft.update_column(column, default=None if isinstance(kind.this, exp.Null)
                                else kind.this.sql(dialect=dialect))
        elif isinstance(kind, exp.CommentColumnConstraint):
            draft.update_column(column, comment=kind.this.name)
        elif isinstance(kind, exp.CheckColumnConstraint):
            draft.checks.append(CheckConstraint(kind.this.sql(dialect=dialect), name))
        elif isinstance(kind, exp.Reference):
            draft.foreign_keys.append(self.foreign_key([exp.to_identifier(column)], kind, name, None))
        else:
            self.ignored.append(f"{kind.sql(dialect=dialect)} on {column}")

    def written_type(self, node: exp.ColumnDef, name: str) -> str:
        """The column's type as written in the file, or sqlglot's rendering when it cannot be isolated."""
        if name in self.type_overrides:
            return self.type_overrides[name]
        kind = node.args.get("kind")
        if kind is None:
            return ""
        end = node.this.meta.get("end")
        if end is not None:
            if self.tokens is None:
                self.tokens = self.tokenize(self.source)
            tokens = self.tokens
            i = next((k for k, t in enumerate(tokens) if t.start > end), len(tokens))
            j, depth = i, 0
            while j < len(tokens) and j - i < 12:
                token = tokens[j]
                if token.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.LT):
                    depth += 1
                elif token.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.GT):
                    depth -= 1
                if depth < 0 or (depth == 0 and token.token_type == TokenType.COMMA):
                    break
                if token.token_type == TokenType.IDENTIFIER:  # a quoted type name: use sqlglot's text
                    break
                if depth == 0:
                    raw = self.source[tokens[i].start:token.end + 1]
                    try:
                        if exp.DataType.build(raw, dialect=self.dialect) == kind:
                            return " ".join(raw.split())
                    except SqlglotError:
                        pass
                j += 1
        return kind.sql(dialect=self.dialect)

    def keys(self, nodes: list[exp.Expression] | exp.Expression) -> tuple[str, ...]:
        items = nodes if isinstance(nodes, list) else [nodes]
        if len(items) == 1 and isinstance(items[0], exp.Tuple | exp.Schema):
            items = items[0].expressions
        names = []
        for item in items:
            ident = _key_of(item)
            names.append(self.name(ident) if ident is not None else item.sql(dialect=self.dialect))
        return tuple(names)

    def primary_key(self, draft: TableDraft, columns: tuple[str, ...], name: str | None) -> None:
        draft.primary_key = PrimaryKey(columns, name)
        for column in columns:
            if self.dialect != "sqlite" or self.is_rowid_alias(draft, columns):
                self.set_nullable(draft, column)

    def set_nullable(self, draft: TableDraft, column: str) -> None:
        if any(c.name == column for c in draft.columns):
            draft.update_column(column, nullable=False)

    @staticmethod
    def is_rowid_alias(draft: TableDraft, columns: tuple[str, ...]) -> bool:
        """SQLite lets a primary key column hold NULL, except ``INTEGER PRIMARY KEY`` (the rowid)."""
        return len(columns) == 1 and any(c.name == columns[0] and c.type.upper() == "INTEGER"
                                         for c in draft.columns)

    def foreign_key(self, columns: list[exp.Expression], reference: exp.Reference | None, name: str | None,
                    node: exp.ForeignKey | None) -> ForeignKey:
        target = reference.this if reference is not None else None
        table = target.this if isinstance(target, exp.Schema) else target
        ref_schema, ref_table = self.table_ref(table) if isinstance(table, exp.Table) else (None, "?")
        ref_columns = self.keys(target.expressions) if isinstance(target, exp.Schema) else ()
        actions: dict[str, str | None] = {"delete": None, "update": None}
        deferrable = deferred = False
        for option in reference.args.get("options") or [] if reference is not None else []:
            text = " ".join(str(option).upper().split())
            for action in actions:
                if text.startswith(f"ON {action.upper()} "):
                    actions[action] = text[len(action) + 4:]
            deferrable = deferrable or text == "DEFERRABLE"
            deferred = deferred or text == "INITIALLY DEFERRED"
        for action in actions:
            if node is not None and node.args.get(action):
                actions[action] = str(node.args[action]).upper()
        return ForeignKey(self.keys(columns), ref_table, ref_columns, ref_schema, name, actions["delete"],
                          actions["update"], deferrable, deferred)

    def inline_index(self, node: exp.IndexColumnConstraint) -> Index:
        kind = str(node.args.get("kind") or "").lower()
        using = next((str(o.args["using"]).lower() for o in node.args.get("options") or []
                      if o.args.get("using")), None) or str(node.args.get("index_type") or "").lower()
        method = kind if kind in ("fulltext", "spatial") else using or "btree"
        return Index(self.name(node.this), self.elements(node.expressions), unique=kind == "unique",
                     method=method)

    def elements(self, nodes: list[exp.Expression]) -> tuple[IndexElement, ...]:
        elements = []
        for node in nodes:
            ordered = node if isinstance(node, exp.Ordered) else None
            ident = _key_of(node)
            inner = ordered.this if ordered is not None else node
            elements.append(IndexElement(
                expression=self.name(ident) if ident is not None else inner.sql(dialect=self.dialect),
                is_expression=ident is None,
                descending=bool(ordered and ordered.args.get("desc")),
            ))
        return tuple(elements)

    def create_index(self, node: exp.Create, stmt: Statement) -> None:
        index = node.this
        params = index.args.get("params") if isinstance(index, exp.Index) else None
        table = index.args.get("table") if isinstance(index, exp.Index) else None
        draft = self.builder.find(*reversed(self.table_ref(table))) if isinstance(table, exp.Table) else None
        if draft is None or params is None:
            self.add(stmt, "CREATE INDEX", NOT_MODELLED,
                     "the index is on a table this file does not declare" if params else "no key columns")
            return
        using = params.args.get("using")
        where = params.args.get("where")
        draft.indexes.append(Index(
            name=self.name(index.this),
            elements=self.elements(params.args.get("columns") or []),
            unique=bool(node.args.get("unique")),
            method=self.type_overrides.get("<method>") or (using.name.lower() if using else "btree"),
            include=self.keys(params.args.get("include") or []),
            where=where.this.sql(dialect=self.dialect) if where is not None else None,
        ))
        self.add(stmt, "CREATE INDEX", MODELLED)

    def create_sequence(self, node: exp.Create, stmt: Statement) -> None:
        schema, name = self.table_ref(node.this)
        settings = node.find(exp.SequenceProperties)

        def number(key: str) -> int | None:
            value = settings.args.get(key) if settings else None
            text = value.sql() if value is not None else ""
            return int(text) if re.fullmatch(r"-?\d+", text) else None

        self.builder.add_namespace(schema)
        self.builder.add_sequence(Sequence(name, schema, start=number("start"), increment=number("increment")))
        self.add(stmt, "CREATE SEQUENCE", MODELLED)

    def create_view(self, node: exp.Create, stmt: Statement) -> None:
        target = node.this
        table = target.this if isinstance(target, exp.Schema) else target
        schema, name = self.table_ref(table)
        query = node.expression
        if query is None:
            self.add(stmt, "CREATE VIEW", NOT_MODELLED, "a view without a query is not modelled")
            return
        ctes = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
        depends: list[str] = []
        for read in query.find_all(exp.Table):
            if not isinstance(read.this, exp.Identifier) or (read.args.get("db") is None and read.name in ctes):
                continue
            key = qualified(*self.table_ref(read))
            if key not in depends:
                depends.append(key)
        properties = node.args.get("properties")
        materialized = bool(properties and any(isinstance(p, exp.MaterializedProperty)
                                               for p in properties.expressions))
        columns = self.keys(target.expressions) if isinstance(target, exp.Schema) else ()
        self.builder.add_view(View(name, schema, query.sql(dialect=self.dialect), tuple(depends), materialized,
                                   columns))
        self.add(stmt, "CREATE VIEW", MODELLED)

    def alter(self, node: exp.Alter, stmt: Statement) -> None:
        actions = node.args.get("actions") or []
        kind = "ALTER TABLE"
        if actions and isinstance(actions[0], exp.AddConstraint):
            kind = "ALTER TABLE ADD CONSTRAINT"
        elif actions and isinstance(actions[0], exp.ColumnDef):
            kind = "ALTER TABLE ADD COLUMN"
        table = node.this
        draft = (self.builder.find(*reversed(self.table_ref(table)))
                 if str(node.args.get("kind") or "").upper() == "TABLE" and isinstance(table, exp.Table) else None)
        if draft is None:
            self.add(stmt, kind, NOT_MODELLED, "it alters an object this file does not declare as a table")
            return
        done, skipped = 0, []
        for action in actions:
            parts = action.expressions if isinstance(action, exp.AddConstraint) else [action]
            for part in parts:
                if isinstance(part, exp.ColumnDef | exp.Constraint | exp.PrimaryKey | exp.ForeignKey
                              | exp.UniqueColumnConstraint | exp.CheckColumnConstraint):
                    done += self.table_element(draft, part)
                else:
                    skipped.append(part.sql(dialect=self.dialect))
        skipped += self.ignored
        if skipped:
            self.add(stmt, kind, NOT_MODELLED, f"{done} parts modelled; not modelled: " + "; ".join(skipped))
        else:
            self.add(stmt, kind, MODELLED)

    def comment(self, node: exp.Comment, stmt: Statement) -> None:
        kind = str(node.args.get("kind") or "").upper()
        text = node.expression.name if node.expression is not None else None
        target = node.this
        if kind == "TABLE" and isinstance(target, exp.Table):
            draft = self.builder.find(*reversed(self.table_ref(target)))
            if draft is not None:
                draft.comment = text
                self.add(stmt, "COMMENT ON TABLE", MODELLED)
                return
        if kind == "COLUMN" and isinstance(target, exp.Column):
            table = exp.Table(this=target.args.get("table"), db=target.args.get("db"))
            draft = self.builder.find(*reversed(self.table_ref(table))) if table.this else None
            column = self.name(target.this)
            if draft is not None and any(c.name == column for c in draft.columns):
                draft.update_column(column, comment=text)
                self.add(stmt, "COMMENT ON COLUMN", MODELLED)
                return
        self.add(stmt, f"COMMENT ON {kind}", NOT_MODELLED, "the commented object is not in the model")

    # -- names ------------------------------------------------------------------------------------

    def name(self, node: exp.Expression | None) -> str | None:
        """An identifier as the engine stores it: quoted as written, unquoted folded like the dialect."""
        if node is None:
            return None
        if isinstance(node, exp.Identifier):
            return node.this if node.quoted else self.fold(node.this)
        return self.fold(node.name) if node.name else None

    def table_ref(self, table: exp.Table) -> tuple[str | None, str]:
        """(schema, name) of a table reference; the USE'd database reads as no schema."""
        schema = self.name(table.args.get("db"))
        if schema is not None and schema == self.default_db and self.dialect in _DATABASE_IS_SCHEMA:
            schema = None
        return schema or self.nested_schema, self.name(table.this) or table.name
