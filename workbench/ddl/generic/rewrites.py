"""Rewrites of statement shapes sqlglot cannot read into ones it can (the original text stays in the report)."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, TokenType

from workbench.ddl.generic.keywords import SQLITE_CONSTRAINT_WORDS, VIEW_OPTIONS, WORD, created_object
from workbench.ddl.generic.names import Names
from workbench.ddl.split import Statement

_CLUSTERING = re.compile(r"\b(?:PRIMARY\s+KEY|UNIQUE)\s+((?:NON)?CLUSTERED)\b", re.IGNORECASE)


class Rewrites(Names):
    """Re-parses SQLite free-form types, MySQL ``USING BTREE`` and view options, T-SQL key clustering."""

    source: str
    tokens: list[Token] | None
    type_overrides: dict[str, str]
    without_rowid: bool
    rewrite_notes: list[str]  # what a rewrite left out, reported with the statement

    def reparse(self, stmt: Statement, words: list[str]) -> list[exp.Expression] | None:
        """Rewrite known shapes sqlglot cannot read into ones it can, or None."""
        rewritten = None
        if words[:2] == ["CREATE", "TABLE"] and self.dialect == "sqlite":
            rewritten = self.sqlite_free_types(stmt.text)
        elif words[:1] in (["CREATE"], ["ALTER"]) and self.dialect in ("tsql", "fabric"):
            rewritten = self.strip_clustering(stmt.text)
        elif created_object(words) == "INDEX":
            rewritten = self.strip_index_using(stmt.text)
        elif created_object(words) == "VIEW":
            rewritten = VIEW_OPTIONS.sub("", stmt.text, count=1)
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
                while (j < len(tokens) and WORD.fullmatch(tokens[j].text)
                       and tokens[j].text.upper() not in SQLITE_CONSTRAINT_WORDS):
                    j += 1
                if j - i > 2 and token.text.upper() not in SQLITE_CONSTRAINT_WORDS:
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

    def strip_clustering(self, text: str) -> str | None:
        """T-SQL ``PRIMARY KEY NONCLUSTERED (...)`` / ``UNIQUE CLUSTERED``: how a key is stored, not what it is."""
        found = list(_CLUSTERING.finditer(text))
        if not found:
            return None
        self.rewrite_notes.append(f"{found[0].group(1).upper()} (how the key is stored)")
        for match in reversed(found):
            text = text[:match.start(1)] + text[match.end(1):]
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

    def tokenize(self, text: str) -> list[Token]:
        return Dialect.get_or_raise(self.dialect).tokenize(text)
