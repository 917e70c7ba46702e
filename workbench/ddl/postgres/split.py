"""Split a PostgreSQL script into statements the way psql does, before pglast parses each one.

Parsing statement by statement lets one bad statement fail alone. Like psql, a ``;`` ends a
statement only outside quotes, comments, parentheses and ``BEGIN ATOMIC ... END`` bodies; a
backslash starts a psql meta-command that runs to the end of the line; the data of
``COPY ... FROM stdin`` runs to a line holding ``\\.``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pglast import parser

SQL, META = "sql", "meta"

_TOKEN = re.compile(
    r"""--[^\n]*
    | /\*
    | (?<![\w$])[eE]'(?:[^'\\]|\\.|'')*'
    | '[^']*(?:''[^']*)*'
    | "[^"]*(?:""[^"]*)*"
    | (?<![\w$])\$(?:[^\W\d]\w*)?\$
    | ['"]
    | [;\\()]""",
    re.VERBOSE | re.DOTALL,
)
_BLANK = re.compile(r"(?:\s+|--[^\n]*)*")
_ROUTINE = re.compile(r"\s*create\s+(?:or\s+replace\s+)?(?:function|procedure)\b", re.IGNORECASE)
_COPY_STDIN = re.compile(r"\s*copy\b.*\bfrom\s+stdin\b", re.IGNORECASE | re.DOTALL)
_COPY_END = re.compile(r"^\\\.[ \t\r]*$", re.MULTILINE)


@dataclass(frozen=True)
class Piece:
    """A statement (``SQL``) or a psql meta-command (``META``) at character offset ``start``."""

    kind: str
    text: str
    start: int
    copy_rows: int = 0  # lines of COPY data that followed the statement


def split_script(text: str) -> Iterator[Piece]:
    """Yield the statements and meta-commands of ``text`` in order, with their offsets."""
    pos, size = 0, len(text)
    while True:
        pos = _skip_blank(text, pos)
        if pos >= size:
            return
        if text[pos] == "\\":
            end = _line_end(text, pos)
            yield Piece(META, text[pos:end].rstrip(), pos)
            pos = end
            continue
        end, after = _statement_end(text, pos)
        statement = text[pos:end]
        if _COPY_STDIN.match(statement):
            data = _line_end(text, after)
            data_end = _COPY_END.search(text, data)
            stop = data_end.start() if data_end else size
            yield Piece(SQL, statement, pos, copy_rows=text.count("\n", data, stop))
            pos = data_end.end() if data_end else size
            continue
        yield Piece(SQL, statement, pos)
        pos = after


def _skip_blank(text: str, pos: int) -> int:
    """Skip whitespace and comments (``/* */`` comments nest in PostgreSQL).

    A comment that is never closed is not skipped: it becomes a statement of its own, which the
    parser reports as unterminated, instead of swallowing the rest of the file unseen.
    """
    while True:
        pos = _BLANK.match(text, pos).end()
        if not text.startswith("/*", pos) or (end := _comment_end(text, pos)) is None:
            return pos
        pos = end


def _comment_end(text: str, pos: int) -> int | None:
    """Where the (nested) comment opening at ``pos`` ends, or None when it is never closed."""
    depth = 0
    while pos < len(text):
        opening, closing = text.find("/*", pos), text.find("*/", pos)
        if closing < 0:
            return None
        if 0 <= opening < closing:
            depth, pos = depth + 1, opening + 2
        else:
            depth, pos = depth - 1, closing + 2
            if depth == 0:
                return pos
    return None


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end + 1


def _statement_end(text: str, start: int) -> tuple[int, int]:
    """(end of the statement text, where scanning resumes) for the statement at ``start``."""
    depth, pos = 0, start
    routine = _ROUTINE.match(text, start) is not None
    while (match := _TOKEN.search(text, pos)) is not None:
        token, pos = match.group(), match.end()
        if token == "/*":
            pos = _comment_end(text, match.start()) or len(text)
        elif token[0] == "$":
            close = text.find(token, pos)
            pos = len(text) if close < 0 else close + len(token)
        elif token in "'\"":  # unterminated quote: psql reads on to the end of the file
            return len(text), len(text)
        elif token == "(":
            depth += 1
        elif token == ")":
            depth = max(depth - 1, 0)
        elif token == "\\":  # a meta-command interrupts the statement
            return match.start(), match.start()
        elif token == ";" and depth == 0 and not (routine and _inside_atomic(text[start:match.start()])):
            return match.start(), pos
    return len(text), len(text)


def _inside_atomic(statement: str) -> bool:
    """psql's rule: inside CREATE FUNCTION/PROCEDURE, BEGIN ... END (and CASE within) nest."""
    depth = parens = 0
    try:
        tokens = parser.scan(statement)
    except parser.Error:
        return False
    for token in tokens:
        if token.name == "ASCII_40":
            parens += 1
        elif token.name == "ASCII_41":
            parens -= 1
        elif parens == 0 and (token.name == "BEGIN_P" or (token.name == "CASE" and depth > 0)):
            depth += 1
        elif parens == 0 and token.name == "END_P" and depth > 0:
            depth -= 1
    return depth > 0
