"""Write a schema by hand in a notebook: one line per table, foreign keys as ``-> table``.

>>> s = sketch("shop")
>>> _ = s.table("customers", id="serial pk", email="text unique not null")
>>> _ = s.table("orders", id="bigserial pk", customer_id="-> customers", total="numeric(10,2)")
>>> s.build().table("orders").column("customer_id").type
'integer'

Column text is a type followed by modifiers: ``pk``, ``unique``, ``not null`` / ``null``,
``default <expr>``, ``check <expr>`` (``check in (...)`` and ``check > 0`` apply to the column),
``-> table[.column]`` (type taken from the referenced column, NOT NULL unless ``-> table?`` or
``null``), ``on delete|on update <action>``, ``comment '...'``. Names are resolved at ``build``,
so a table may point at one declared later. Declaring a table or index again replaces it, so a
notebook cell can be re-run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from workbench.errors import WorkbenchError, did_you_mean
from workbench.schema.builder import SchemaBuilder
from workbench.schema.model import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    IndexElement,
    PrimaryKey,
    Schema,
    UniqueConstraint,
)

DIALECT = "postgres"
SERIAL_TYPES = {"smallserial": "smallint", "serial": "integer", "bigserial": "bigint",
                "serial2": "smallint", "serial4": "integer", "serial8": "bigint"}
ACTIONS = ("cascade", "set null", "set default", "restrict", "no action")
EXAMPLE = "text not null default 'x' check (length(x) > 0) | -> customers on delete cascade | int pk"
MODIFIERS = ("pk", "primary key", "unique", "not null", "null", "default", "check", "->", "on delete",
             "on update", "comment")
_SHORT_CHECK = {"in", "between", "like", "ilike", ">", "<", ">=", "<=", "=", "<>", "!="}

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<arrow>->)
  | (?P<word>[^\W\d][\w$]*)
  | (?P<number>\d+(?:\.\d*)?)
  | (?P<open>[(\[])
  | (?P<close>[)\]])
  | (?P<op>::|[<>!=]=|<>|[^\s\w'"()\[\]])
""", re.VERBOSE)


class SketchError(WorkbenchError):
    """Shorthand that cannot be read, or a name that does not resolve at build time."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    depth: int  # parenthesis depth: modifiers count only at depth 0

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind in ("word", "arrow") else ""


@dataclass
class ColumnSpec:
    """One column's shorthand, read but not yet resolved against other tables."""

    type: str | None = None
    pk: bool = False
    unique: bool = False
    nullable: bool | None = None
    default: str | None = None
    checks: list[str] = field(default_factory=list)
    ref: tuple[str, str | None] | None = None  # (table, column or None for its primary key)
    on_delete: str | None = None
    on_update: str | None = None
    comment: str | None = None


@dataclass
class _ForeignKeySpec:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...] | None
    on_delete: str | None
    on_update: str | None
    name: str | None


def sketch(name: str | None = None) -> Sketch:
    """Start a hand-written PostgreSQL schema; see the module docstring for the column shorthand."""
    return Sketch(name)


class Sketch:
    """Tables, foreign keys, indexes and subject areas written by hand; ``build`` makes a Schema."""

    def __init__(self, name: str | None = None):
        self.name = name
        self._tables: dict[str, tuple[dict[str, ColumnSpec], tuple[str, ...]]] = {}
        self._fks: dict[tuple[str, tuple[str, ...]], _ForeignKeySpec] = {}
        self._indexes: dict[tuple[str, str], tuple[Index, tuple[str, ...]]] = {}
        self._areas: dict[str, tuple[str, ...]] = {}

    def __repr__(self) -> str:
        return f"<Sketch {self.name!r}: {len(self._tables)} tables>"

    def table(self, name: str, columns: Mapping[str, str] | None = None, /, *,
              pk: str | tuple[str, ...] | None = None, **more: str) -> Sketch:
        """Declare a table: ``column="type modifiers..."``; a dict holds names Python cannot take."""
        specs = {col: parse_column(name, col, text) for col, text in {**(columns or {}), **more}.items()}
        if not specs:
            raise SketchError(f"sketch table {name!r} has no columns; write e.g. "
                              f"s.table({name!r}, id='serial pk', label='text not null')")
        self._tables[name] = (specs, (pk,) if isinstance(pk, str) else tuple(pk or ()))
        return self

    def fk(self, table: str, columns: str | tuple[str, ...], ref_table: str,
           ref_columns: str | tuple[str, ...] | None = None, *, on_delete: str | None = None,
           on_update: str | None = None, name: str | None = None) -> Sketch:
        """A (composite) foreign key between declared columns; ``ref_columns`` defaults to the PK."""
        cols = (columns,) if isinstance(columns, str) else tuple(columns)
        refs = (ref_columns,) if isinstance(ref_columns, str) else ref_columns
        actions = [_action(table, ", ".join(cols), a) for a in (on_delete, on_update)]
        self._fks[(table, cols)] = _ForeignKeySpec(cols, ref_table, refs and tuple(refs), *actions, name)
        return self

    def index(self, table: str, *elements: str, unique: bool = False, where: str | None = None,
              method: str = "btree", include: str | tuple[str, ...] = (), name: str | None = None) -> Sketch:
        """An index; each element is ``column [asc|desc] [nulls first|last] [opclass]`` or an expression."""
        if not elements:
            raise SketchError(f"index on {table!r} needs at least one column, e.g. s.index({table!r}, 'id')")
        parsed = tuple(_index_element(table, e) for e in elements)
        if where is not None:
            _validate_sql(table, "index", where, where, "where")
        label = "_".join("expr" if e.is_expression else e.expression for e in parsed)
        name = name or f"{table.rsplit('.', 1)[-1]}_{label}_idx"[:63]
        include = (include,) if isinstance(include, str) else tuple(include)
        index = Index(name, parsed, unique=unique, method=method.lower(), include=include, where=where)
        self._indexes[(table, name)] = (index, tuple(e.expression for e in parsed if not e.is_expression))
        return self

    def area(self, name: str, *tables: str) -> Sketch:
        """A subject area (a group of tables drawn together in diagrams)."""
        self._areas[name] = tables
        return self

    @property
    def schema(self) -> Schema:
        return self.build()

    def build(self) -> Schema:
        """Resolve references and freeze; unknown names raise with a did-you-mean."""
        builder = SchemaBuilder(self.name, dialect=DIALECT)
        for table, (specs, _) in self._tables.items():
            draft = builder.add_table(*_split(table))
            for col, spec in specs.items():
                draft.columns.append(self._column(table, col, spec))
                draft.uniques += [UniqueConstraint((col,))] if spec.unique else []
                draft.checks += [CheckConstraint(c) for c in spec.checks]
                if spec.ref:
                    target, ref_col = self._target(table, col, *spec.ref)
                    draft.foreign_keys.append(_foreign_key((col,), target, (ref_col,), spec))
            if pk_cols := self._primary_key(table):
                draft.primary_key = PrimaryKey(pk_cols)
                for col in pk_cols:
                    draft.update_column(col, nullable=False)
        for (table, cols), fk in self._fks.items():
            self._require_columns(self._table_name(table, "foreign key", table), cols, "foreign key")
            target = self._table_name(table, ", ".join(cols), fk.ref_table)
            ref_cols = fk.ref_columns or self._primary_key(target)
            self._require_columns(target, ref_cols, f"foreign key from {table}")
            if len(ref_cols) != len(cols):
                raise SketchError(f"foreign key {table}({', '.join(cols)}) -> {target}({', '.join(ref_cols)}): "
                                  f"{len(cols)} columns point at {len(ref_cols)}; list as many on each side")
            builder.table(*_split(table)).foreign_keys.append(_foreign_key(cols, target, ref_cols, fk))
        for (table, _), (index, columns) in self._indexes.items():
            self._require_columns(self._table_name(table, "index", table), columns + index.include, "index")
            builder.table(*_split(table)).indexes.append(index)
        builder.subject_areas = {area: tuple(self._table_name(t, f"area {area}", t) for t in tables)
                                 for area, tables in self._areas.items()}
        return builder.build()

    def _column(self, table: str, col: str, spec: ColumnSpec) -> Column:
        type_ = spec.type or self._resolved_type(table, col, set())
        serial = type_.lower() in SERIAL_TYPES
        nullable = spec.nullable if spec.nullable is not None else not (spec.pk or serial or spec.ref)
        return Column(col, type_, nullable, spec.default, autoincrement=serial, comment=spec.comment)

    def _resolved_type(self, table: str, col: str, seen: set[tuple[str, str]]) -> str:
        """The type of a column; a ``->`` column takes its target's type (serial becomes integer)."""
        spec = self._tables[table][0][col]
        if spec.type:
            return SERIAL_TYPES.get(spec.type.lower(), spec.type)
        if (table, col) in seen:
            raise SketchError(f"{table}.{col}: the references loop back to it and no column in the loop has "
                              f"a type; give one of them a type, e.g. {col}='integer -> ...'")
        assert spec.ref is not None  # parse_column guarantees a type or a reference
        target, ref_col = self._target(table, col, *spec.ref)
        return self._resolved_type(target, ref_col, seen | {(table, col)})

    def _target(self, table: str, col: str, ref_table: str, ref_col: str | None) -> tuple[str, str]:
        """(table, column) a ``->`` points at; ``a.b`` is a table when one is named so, else table.column."""
        if ref_col is not None and f"{ref_table}.{ref_col}" in self._tables:
            ref_table, ref_col = f"{ref_table}.{ref_col}", None
        target = self._table_name(table, col, ref_table)
        if ref_col is None:
            pk = self._primary_key(target)
            if len(pk) != 1:
                raise SketchError(f"{table}.{col}: '-> {target}' needs a single-column primary key, but "
                                  f"{target} has {pk or 'none'}; write '-> {target}.<column>' or use s.fk(...)")
            return target, pk[0]
        self._require_columns(target, (ref_col,), f"reference from {table}.{col}")
        return target, ref_col

    def _table_name(self, table: str, where: str, name: str) -> str:
        if name in self._tables:
            return name
        raise SketchError(f"{table} ({where}): unknown table {name!r}{did_you_mean(name, self._tables)}; "
                          f"declare it with s.table({name!r}, ...)")

    def _primary_key(self, table: str) -> tuple[str, ...]:
        specs, pk = self._tables[table]
        marked = tuple(c for c, s in specs.items() if s.pk)
        if pk and marked and set(pk) != set(marked):
            raise SketchError(f"{table}: pk={pk} and columns marked pk {marked} disagree; keep one of them")
        self._require_columns(table, pk, "primary key")
        return pk or marked

    def _require_columns(self, table: str, columns: tuple[str, ...], what: str) -> None:
        specs = self._tables[table][0]
        for col in columns:
            if col not in specs:
                raise SketchError(f"{table}: {what} names unknown column {col!r}{did_you_mean(col, specs)}")


def _split(table: str) -> tuple[str, str | None]:
    """(name, schema) of a sketched table name, ``sales.orders`` or ``orders``."""
    schema, _, name = table.rpartition(".")
    return name, schema or None


def _foreign_key(columns: tuple[str, ...], target: str, ref_columns: tuple[str, ...],
                 spec: ColumnSpec | _ForeignKeySpec) -> ForeignKey:
    ref_table, ref_schema = _split(target)
    name = spec.name if isinstance(spec, _ForeignKeySpec) else None
    return ForeignKey(columns, ref_table, ref_columns, ref_schema, name, spec.on_delete, spec.on_update)


def parse_column(table: str, column: str, text: str) -> ColumnSpec:
    """Read one column's shorthand (see the module docstring) into a ColumnSpec."""
    tokens = _tokenize(table, column, text)
    spec, i = ColumnSpec(), _expression_end(tokens, 0)
    if i:
        spec.type = _type_text(table, column, text, tokens[0].start, _end(text, tokens, i))

    def fail(problem: str, at: int) -> SketchError:
        pos = tokens[at].start if at < len(tokens) else len(text)
        return SketchError(f"sketch {table}.{column}: {problem} in {text!r}\n    {text}\n    {' ' * pos}^\n"
                           f"  write e.g. {EXAMPLE}")

    while i < len(tokens):
        word, nxt = tokens[i].word, tokens[i + 1].word if i + 1 < len(tokens) else ""
        if word == "unique":
            spec.unique, i = True, i + 1
        elif word == "pk" or (word, nxt) == ("primary", "key"):
            spec.pk, i = True, i + (2 if word == "primary" else 1)
        elif (word, nxt) == ("not", "null") or word == "null":
            spec.nullable, i = word == "null", i + (2 if word == "not" else 1)
        elif word in ("default", "check"):
            end = _expression_end(tokens, i + 1, first_free=True)
            if end == i + 1:
                raise fail(f"{word} needs an expression", i + 1)
            sql = text[tokens[i + 1].start:_end(text, tokens, end)].strip()
            if word == "default":
                _validate_sql(table, column, text, sql, word)
                spec.default = sql
            else:
                if tokens[i + 1].text.lower() in _SHORT_CHECK:  # "check in (...)": about this column
                    sql = f"{exp.to_identifier(column).sql(DIALECT)} {sql}"
                spec.checks.append(_validate_sql(table, column, text, sql, word).sql(DIALECT))
            i = end
        elif word == "->":
            names, i = _reference(tokens, i + 1)
            if not 1 <= len(names) <= 3:
                raise fail("'->' needs a table name, e.g. '-> customers' or '-> customers.id'", i)
            spec.ref = (".".join(names[:-1]), names[-1]) if len(names) > 1 else (names[0], None)
            if i < len(tokens) and tokens[i].text == "?":
                spec.nullable, i = True, i + 1
        elif word == "on" and nxt in ("delete", "update"):
            action = next((a for a in ACTIONS if [t.word for t in tokens[i + 2:i + 2 + len(a.split())]]
                           == a.split()), None)
            if action is None:
                raise fail(f"'on {nxt}' takes one of {', '.join(ACTIONS)}", i + 2)
            setattr(spec, f"on_{nxt}", action.upper())
            i += 2 + len(action.split())
        elif word == "comment" and i + 1 < len(tokens) and tokens[i + 1].kind == "string":
            spec.comment, i = tokens[i + 1].text[1:-1].replace("''", "'"), i + 2
        else:
            raise fail(f"unexpected {tokens[i].text!r}; expected one of {', '.join(MODIFIERS)} (comment '...')", i)
    if spec.type is None and spec.ref is None:
        raise fail("no type", 0)
    if (spec.on_delete or spec.on_update) and spec.ref is None:
        raise fail("'on delete' / 'on update' need a '-> table' reference", 0)
    return spec


def _tokenize(table: str, column: str, text: str) -> list[Token]:
    tokens, depth, pos = [], 0, 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or (match.lastgroup == "close" and depth == 0):
            raise SketchError(f"sketch {table}.{column}: cannot read {text[pos:]!r} in {text!r}; "
                              "check quotes and parentheses")
        kind = match.lastgroup or ""
        depth -= kind == "close"
        if kind != "space":
            tokens.append(Token(kind, match.group(), pos, depth))
        depth += kind == "open"
        pos = match.end()
    if depth:
        raise SketchError(f"sketch {table}.{column}: unclosed parenthesis in {text!r}")
    return tokens


def _is_modifier(tokens: list[Token], i: int) -> bool:
    """Whether token ``i`` starts a modifier; ``is [not] null`` inside an expression does not."""
    token = tokens[i]
    if token.depth:
        return False
    word, nxt = token.word, tokens[i + 1].word if i + 1 < len(tokens) else ""
    before = [t.word for t in tokens[max(0, i - 2):i]]
    if word == "null" or (word, nxt) == ("not", "null"):
        return not (before[-1:] == ["is"] or before == ["is", "not"])
    return (word in ("pk", "unique", "default", "check", "->", "comment") or (word, nxt) == ("primary", "key")
            or (word == "on" and nxt in ("delete", "update")))


def _expression_end(tokens: list[Token], start: int, first_free: bool = False) -> int:
    """Index of the first modifier at or after ``start``; ``first_free`` lets ``default null`` through."""
    i = start + (first_free and start < len(tokens) and tokens[start].word == "null")
    while i < len(tokens) and not _is_modifier(tokens, i):
        i += 1
    return i


def _end(text: str, tokens: list[Token], i: int) -> int:
    return tokens[i].start if i < len(tokens) else len(text)


def _type_text(table: str, column: str, text: str, start: int, end: int) -> str:
    """The type as written, checked by sqlglot (a cast is where a type is strictly parsed)."""
    type_ = " ".join(text[start:end].split())
    try:
        sqlglot.parse_one(f"CAST(NULL AS {type_})", read=DIALECT)
    except ParseError:
        last = type_.split()[-1]
        raise SketchError(f"sketch {table}.{column}: {type_!r} is not a type in {text!r}"
                          f"{did_you_mean(last, MODIFIERS) if ' ' in type_ else ''}; "
                          "write e.g. 'text', 'integer', 'numeric(10,2)', 'timestamptz'") from None
    return type_


def _validate_sql(table: str, column: str, text: str, sql: str, what: str) -> exp.Expression:
    try:
        parsed = sqlglot.parse_one(sql, read=DIALECT)
    except ParseError as error:
        problem = str(error).splitlines()[0]
    else:
        if not isinstance(parsed, exp.Alias | exp.Command):
            return parsed
        problem = "more than one expression"
    raise SketchError(f"sketch {table}.{column}: {what} {sql!r} is not a SQL expression ({problem}) in "
                      f"{text!r}; wrap it in parentheses, e.g. check (price > 0 and price < 1000)")


def _reference(tokens: list[Token], i: int) -> tuple[list[str], int]:
    """Dotted name after ``->``: ``table``, ``table.column``, ``schema.table.column`` (quotes allowed)."""
    names = []
    while i < len(tokens) and tokens[i].kind in ("word", "quoted"):
        token = tokens[i]
        names.append(token.text[1:-1].replace('""', '"') if token.kind == "quoted" else token.text)
        if i + 1 < len(tokens) and tokens[i + 1].text == ".":
            i += 2
        else:
            i += 1
            break
    return names, i


def _action(table: str, columns: str, action: str | None) -> str | None:
    if action is None or action.lower() in ACTIONS:
        return action and action.upper()
    raise SketchError(f"foreign key {table}({columns}): unknown action {action!r}{did_you_mean(action, ACTIONS)}")


def _index_element(table: str, text: str) -> IndexElement:
    """``created_at desc nulls last``, ``email text_pattern_ops`` or an expression like ``lower(email)``."""
    tokens = _tokenize(table, "index", text)
    words = [t.word for t in tokens]
    nulls_first = {"first": True, "last": False}.get(words[-1]) if words[-2:-1] == ["nulls"] else None
    end = len(tokens) - (2 if nulls_first is not None else 0)
    descending = words[end - 1] == "desc" if end and words[end - 1] in ("asc", "desc") else False
    end -= bool(end and words[end - 1] in ("asc", "desc"))
    opclass = tokens[end - 1].text if end > 1 and words[end - 1].endswith("_ops") else None
    end -= opclass is not None
    if end == 0:
        raise SketchError(f"index on {table!r}: {text!r} names no column; write e.g. 'created_at desc'")
    sql = text[:_end(text, tokens, end)].strip()
    parsed = _validate_sql(table, "index", text, sql, "index element")
    is_column = isinstance(parsed, exp.Column) and not parsed.table
    return IndexElement(parsed.name if is_column else sql, not is_column, descending, nulls_first, opclass)
