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

import re
from dataclasses import replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.tokens import Token, TokenType

from workbench.ddl.generic.dialects import DATABASE_IS_SCHEMA, folding, resolve_dialect
from workbench.ddl.generic.keywords import (
    CODE,
    DATA,
    MODELLED_KINDS,
    SESSION,
    SNIPPET,
    TABLE_MODIFIERS,
    created_object,
    head,
    statement_kind,
)
from workbench.ddl.generic.objects import Objects
from workbench.ddl.report import (
    ERROR,
    MODELLED,
    NESTED_TOO_DEEPLY,
    NOT_MODELLED,
    NOTHING_READ,
    NUL_BYTE,
    ImportReport,
    ImportResult,
)
from workbench.ddl.split import Statement, split_statements
from workbench.errors import WorkbenchError
from workbench.schema.builder import SchemaBuilder
from workbench.schema.model import qualified


def import_generic(text: str, dialect: str, *, file: str | None = None) -> ImportResult:
    """The schema declared by ``text`` in ``dialect``, with one report outcome per statement."""
    dialect = resolve_dialect(dialect)
    importer = _Importer(dialect, file)
    for statement in split_statements(text, dialect):
        importer.statement(statement)
    return importer.result()


class _Importer(Objects):
    """Fills one SchemaBuilder and ImportReport, statement by statement."""

    def __init__(self, dialect: str, file: str | None):
        self.dialect = dialect
        self.builder = SchemaBuilder(dialect=dialect)
        self.report = ImportReport(file=file, dialect=dialect)
        self.fold = folding(dialect)
        self.default_db: str | None = None  # from USE, where a database is a schema
        self.nested_schema: str | None = None  # inside CREATE SCHEMA s CREATE TABLE ...
        self.source = ""  # the text being parsed: identifier offsets point into it
        self.tokens: list[Token] | None = None
        self.type_overrides: dict[str, str] = {}
        self.ignored: list[str] = []
        self.without_rowid = False  # SQLite WITHOUT ROWID: its primary key is NOT NULL
        self.rewrite_notes: list[str] = []

    def result(self) -> ImportResult:
        for draft in self.builder.tables.values():  # REFERENCES t without columns means t's primary key
            for i, fk in enumerate(draft.foreign_keys):
                target = self.builder.find(fk.ref_table, fk.ref_schema)
                if not fk.ref_columns and target is not None and target.primary_key is not None:
                    draft.foreign_keys[i] = replace(fk, ref_columns=target.primary_key.columns)
        return ImportResult(self.builder.build(), self.report)

    # -- statements -------------------------------------------------------------------------------

    def statement(self, stmt: Statement) -> None:
        """Give ``stmt`` its outcome(s) in the report: at least one, whatever happens."""
        before = len(self.report.outcomes)
        words = head(stmt.text)
        kind = statement_kind(words)
        if "\x00" in stmt.text:  # binary data in a text file: do not guess what the statement meant
            where = stmt.text.index("\x00")
            line = stmt.line + stmt.text.count("\n", 0, where)
            column = where - stmt.text.rfind("\n", 0, where) if line > stmt.line else stmt.column + where
            self.add(Statement(line, column, stmt.text, stmt.offset), kind, ERROR, NUL_BYTE)
            return
        try:
            self.dispatch(stmt, words)
            failure = NOTHING_READ if len(self.report.outcomes) == before else None  # never dropped silently
        except RecursionError:
            del self.report.outcomes[before:]
            failure = NESTED_TOO_DEEPLY
        except WorkbenchError as error:
            failure = str(error)
        if failure:
            self.add(stmt, kind, ERROR, failure)

    def dispatch(self, stmt: Statement, words: list[str]) -> None:
        first = words[0] if words else ""
        if first in DATA:
            self.add(stmt, first, NOT_MODELLED, f"data ({first}) is not modelled")
        elif first == "USE":
            self.use(stmt)
        elif words[:2] in (["DROP", "TABLE"], ["DROP", "VIEW"]):
            self.drop(stmt, words[1])
        elif first in SESSION:
            kind = " ".join(words[:2]) if first == "DROP" else first
            self.add(stmt, kind, NOT_MODELLED, SESSION[first])
        elif first == "CREATE" and created_object(words) in CODE | {"DATABASE"}:
            created = created_object(words)
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
        if self.dialect in DATABASE_IS_SCHEMA:
            reason += "; names qualified with it are read as unqualified"
        self.add(stmt, "USE", NOT_MODELLED, reason)

    def parse_and_model(self, stmt: Statement, words: list[str]) -> None:
        kind = statement_kind(words)
        self.source, self.tokens, self.type_overrides, self.without_rowid = stmt.text, None, {}, False
        self.rewrite_notes = []
        try:
            parsed = [e for e in sqlglot.parse(stmt.text, read=self.dialect)
                      if e is not None and not isinstance(e, exp.EndStatement)]
        except ParseError as error:
            parsed = self.reparse(stmt, words)
            if parsed is None:
                self.parse_error(stmt, kind, error)
                return
        except TokenError as error:
            self.token_error(stmt, kind, error)
            return
        except SqlglotError as error:
            self.add(stmt, kind, ERROR, f"cannot be read: {error}")
            return
        if len(parsed) == 1 and isinstance(parsed[0], exp.Command):
            retried = self.reparse(stmt, words)
            if retried is None:
                if words[:2] == ["CREATE", "SCHEMA"]:
                    self.create_schema_command(stmt)
                elif kind in MODELLED_KINDS:  # the model has a place for it, but it was not read: a failure
                    self.add(stmt, kind, ERROR, f"could not be read as {self.dialect or 'generic SQL'} (sqlglot "
                                                f"returned it as an opaque command): not imported; is the dialect "
                                                f"right?")
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

    def token_error(self, stmt: Statement, kind: str, error: TokenError) -> None:
        """An unterminated string, quoted name or comment: located where it opens when sqlglot says."""
        opened = re.match(r"Missing (.+) from (\d+):(\d+)", str(error.__cause__ or ""))
        if opened is None:
            self.add(stmt, kind, ERROR, f"cannot be split into tokens as {self.dialect or 'generic SQL'} (an "
                                        f"unterminated comment or string?): not imported; close it")
            return
        quote, line, column = opened.group(1), int(opened.group(2)), int(opened.group(3))
        where = Statement(stmt.line + line - 1, stmt.column + column - 1 if line == 1 else column, stmt.text,
                          stmt.offset)
        self.add(where, kind, ERROR, f"a string or quoted name opened with {quote} here is never closed: the "
                                     f"statement is not imported; close it")

    def drop(self, stmt: Statement, what: str) -> None:
        """DROP TABLE / VIEW of objects the file created: the model holds what the file leaves."""
        try:
            node = sqlglot.parse_one(stmt.text, read=self.dialect)
        except SqlglotError:
            node = None
        store = self.builder.tables if what == "TABLE" else self.builder.views
        targets = [qualified(*self.table_ref(t)) for t in node.find_all(exp.Table)] if isinstance(node, exp.Drop) \
            else []
        dropped = [key for key in targets if store.pop(key, None) is not None]
        if dropped:
            self.add(stmt, f"DROP {what}", MODELLED, f"dropped {', '.join(dropped)}")
        else:
            self.add(stmt, f"DROP {what}", NOT_MODELLED, f"nothing to drop: the file has not created "
                                                         f"{', '.join(targets) or 'it'} (yet)")

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
        words = head(stmt.text, 40)
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
            while j < len(tokens) and tokens[j].text.upper() in TABLE_MODIFIERS:
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
                            stmt.text[:SNIPPET], token.col if token.line > 1 else stmt.column + token.col - 1)

    # -- expressions ------------------------------------------------------------------------------

    def expression(self, node: exp.Expression, stmt: Statement, kind: str) -> None:
        self.ignored = list(self.rewrite_notes)
        try:
            self.model(node, stmt, kind)
        except WorkbenchError as error:  # e.g. a table or column declared twice: the engine refuses it too
            self.add(stmt, kind, ERROR, str(error))
        self.ignored = []

    def model(self, node: exp.Expression, stmt: Statement, kind: str) -> None:
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
            words = head(located.text)
            kind = statement_kind(words)
            if words[:1] and words[0] in DATA | set(SESSION) - {"USE"}:
                self.add(located, kind if words[0] == "DROP" else words[0], NOT_MODELLED,
                         SESSION.get(words[0], f"data ({words[0]}) is not modelled"))
            else:
                self.expression(part, located, kind)

    def locate(self, node: exp.Expression, stmt: Statement) -> Statement:
        ident = next((i for i in node.find_all(exp.Identifier) if "line" in i.meta), None)
        text = self.render(node)
        if ident is None:
            return Statement(stmt.line, stmt.column, text, stmt.offset)
        line, col = ident.meta["line"], ident.meta["col"]
        return Statement(stmt.line + line - 1, stmt.column + col - 1 if line == 1 else col, text, stmt.offset)
