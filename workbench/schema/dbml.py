"""Read DBML (the dbdiagram.io text form) into a Schema, using the pydbml parser.

pydbml understands the whole DBML grammar; this module only maps its objects onto the model:
Table blocks with column settings, indexes, Ref lines (``<>`` becomes a junction table, as DBML's
own SQL export does), Enum blocks and TableGroups (subject areas). Project and sticky notes are not
part of a schema and are left out; tables in DBML's default ``public`` schema get no schema.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyparsing
from sqlglot import exp

from workbench.errors import DDLSyntaxError, WorkbenchError, did_you_mean
from workbench.schema.builder import SchemaBuilder
from workbench.schema.model import (
    Column,
    Enum,
    ForeignKey,
    Index,
    IndexElement,
    PrimaryKey,
    UniqueConstraint,
    qualified,
)
from workbench.schema.model import Schema as SchemaModel

DIALECT = "postgres"
SERIAL_TYPES = ("smallserial", "serial", "bigserial", "serial2", "serial4", "serial8")


class DBMLError(WorkbenchError):
    """DBML that parses but does not describe a consistent schema (unknown table, duplicate...)."""


@contextmanager
def _pydbml_parsing() -> Iterator[None]:
    """pydbml sets pyparsing's *global* default whitespace on import and builds grammar with it while
    parsing: set it for the parse only, so other pyparsing grammars (matplotlib's) keep theirs. pydbml
    also calls pyparsing names deprecated in 3.3, warnings meant for its authors, not for our users."""
    saved = pyparsing.ParserElement.DEFAULT_WHITE_CHARS
    pyparsing.ParserElement.set_default_whitespace_chars(" \t\r")  # pydbml's, newlines are significant
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pyparsing.PyparsingDeprecationWarning)
            yield
    finally:
        pyparsing.ParserElement.set_default_whitespace_chars(saved)


def from_dbml(text: str, *, name: str | None = None, file: str | None = None) -> SchemaModel:
    """A Schema from DBML text; syntax errors carry the line and column, name errors the line."""
    with _pydbml_parsing():
        from pydbml import PyDBML
        from pydbml import exceptions as pydbml_errors

        try:
            database = PyDBML(text)
        except pyparsing.ParseBaseException as error:
            found = re.match(r"\w+|\S*", error.line[error.col - 1:].lstrip()).group() or "end of line"
            raise DDLSyntaxError(f"DBML: unexpected {found!r}; {_expected(error.msg)}", file=file,
                                 line=error.lineno, column=error.col, snippet=error.line) from None
        except (pydbml_errors.TableNotFoundError, pydbml_errors.ColumnNotFoundError,
                pydbml_errors.DatabaseValidationError, pydbml_errors.ValidationError) as error:
            raise _located(text, file, str(error).rstrip(".")) from None
    builder = SchemaBuilder(name, dialect=DIALECT)
    for enum in database.enums:
        builder.add_enum(Enum(enum.name, tuple(i.name for i in enum.items), _schema(enum.schema)))
    for table in database.tables:
        _add_table(builder, table, text, file)
    for ref in database.refs:
        _add_ref(builder, ref)
    builder.subject_areas = {g.name: tuple(_key(t) for t in g.items) for g in database.table_groups}
    return builder.build()


def _add_table(builder: SchemaBuilder, table: Any, text: str, file: str | None) -> None:
    draft = builder.add_table(table.name, _schema(table.schema), comment=_note(table.note))
    pk = [c.name for c in table.columns if c.pk]
    for column in table.columns:
        if any(c.name == column.name for c in draft.columns):
            raise _located(text, file, f"column {column.name!r} of {_key(table)} is declared twice", column.name)
        type_ = _type(column.type)
        draft.columns.append(Column(column.name, type_, nullable=not (column.not_null or column.pk),
                                    default=_default(column.default),
                                    autoincrement=column.autoinc or type_.lower() in SERIAL_TYPES,
                                    comment=_note(column.note)))
        if column.unique:
            draft.uniques.append(UniqueConstraint((column.name,), None))
    for index in table.indexes:
        columns = tuple(s.name if hasattr(s, "table") else s.text for s in index.subjects)
        if index.pk:
            if pk and list(columns) != pk:
                raise _located(text, file, f"{_key(table)} has two primary keys, {pk} and {list(columns)}; "
                               "keep one", table.name)
            pk = list(columns)
            continue
        elements = tuple(IndexElement(c, is_expression=not hasattr(s, "table"))
                         for c, s in zip(columns, index.subjects, strict=True))
        draft.indexes.append(Index(index.name, elements, unique=index.unique, method=index.type or "btree"))
    if pk:
        draft.primary_key = PrimaryKey(tuple(pk))
        for name in pk:
            draft.update_column(name, nullable=False)


def _add_ref(builder: SchemaBuilder, ref: Any) -> None:
    """``a > b`` and ``a - b``: a references b; ``a < b``: b references a; ``a <> b``: a junction table."""
    if ref.type == "<>":
        join = ref.join_table
        draft = builder.add_table(join.name, _schema(join.schema))
        draft.columns += [Column(c.name, _type(c.type), nullable=False) for c in join.columns]
        draft.primary_key = PrimaryKey(tuple(c.name for c in join.columns))
        half = len(ref.col1)
        for part, targets in ((join.columns[:half], ref.col1), (join.columns[half:], ref.col2)):
            draft.foreign_keys.append(_foreign_key(part, targets, ref, None))
        return
    source, target = (ref.col2, ref.col1) if ref.type == "<" else (ref.col1, ref.col2)
    builder.table(source[0].table.name, _schema(source[0].table.schema)).foreign_keys.append(
        _foreign_key(source, target, ref, ref.name))


def _foreign_key(source: list[Any], target: list[Any], ref: Any, name: str | None) -> ForeignKey:
    table = target[0].table
    return ForeignKey(tuple(c.name for c in source), table.name, tuple(c.name for c in target),
                      _schema(table.schema), name, _action(ref.on_delete), _action(ref.on_update))


def _action(action: str | None) -> str | None:
    return " ".join(action.upper().split()) if action else None


def _type(type_: Any) -> str:
    """A column type as written; an enum type is the enum's (qualified) name."""
    if hasattr(type_, "items"):
        return qualified(_schema(type_.schema), type_.name)
    return str(type_)


def _default(value: Any) -> str | None:
    """The SQL text of a DBML default: `expression` as written, literals rendered by sqlglot.

    pydbml reads ``default: null`` as the string ``'NULL'``; both mean "no default" here."""
    if value is None or value == "NULL":
        return None
    if hasattr(value, "text"):
        return value.text
    if isinstance(value, bool):
        return exp.Boolean(this=value).sql(DIALECT)
    if isinstance(value, int | float):
        return exp.Literal.number(value).sql(DIALECT)
    return exp.Literal.string(str(value)).sql(DIALECT)


def _note(note: Any) -> str | None:
    return (getattr(note, "text", None) or None) if note is not None else None


def _schema(schema: str | None) -> str | None:
    return None if schema in (None, "public") else schema


def _key(table: Any) -> str:
    return qualified(_schema(table.schema), table.name)


_EXPECTED = {
    "'}'": "a closing '}' (each column and setting goes on its own line)",
    "NOT NULL": "a column setting: pk, not null, null, unique, increment, default: ..., note: '...', "
                "ref: > table.column",
}
# the unknown or duplicated name in pydbml's messages ("Table public.b not present", "public.a(id) is already")
_NAMED = re.compile(r'(?:Table|Column|column) "?(?:public\.)?([^\s"(]+)"? not|^(?:public\.)?([^\s"(<]+)\(.* is already')
_TABLE = re.compile(r'^\s*Table\s+"?([\w.]+)', re.MULTILINE | re.IGNORECASE)


def _expected(message: str) -> str:
    """pyparsing's message lists the whole grammar; say what was expected in a few words."""
    for needle, wanted in _EXPECTED.items():
        if needle in message:
            return f"expected {wanted}"
    return message.split(", found")[0][:160]


def _line(text: str, name: str, last: bool = False) -> int | None:
    """The first (or last) line mentioning ``name`` as a whole word."""
    word = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    numbers = [n for n, line in enumerate(text.splitlines(), 1) if word.search(line)]
    return (numbers[-1] if last else numbers[0]) if numbers else None


def _located(text: str, file: str | None, message: str, name: str | None = None) -> DBMLError:
    """A DBMLError located at the line naming the bad thing (the last one for a duplicate)."""
    match = _NAMED.search(message)
    name = name or (match and (match.group(1) or match.group(2)))
    line = _line(text, name.split(".")[-1], last="already" in message or "twice" in message) if name else None
    hint = did_you_mean(name, _TABLE.findall(text)) if name and "Table" in message else ""
    return DBMLError(f"{file or '<text>'}:{line or '?'}: {message}{hint}; fix the name or declare it once")
