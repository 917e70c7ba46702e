"""State shared by the export steps: the target, the name map, the notes, and fragment parsing.

Text fragments of the model (defaults, checks, index keys, bounds, view SQL) are in the source
dialect ``schema.dialect``; they are parsed here with ``read=`` that dialect so the steps only ever
handle sqlglot trees. A fragment that cannot be parsed becomes a note, never broken SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from workbench.ddl.export.names import NameMap
from workbench.ddl.export.target import Target
from workbench.schema.model import Domain, Enum, Schema


@dataclass(frozen=True)
class ExportNote:
    """One construct the target could not express as the model has it, and what was done instead."""

    object: str
    construct: str
    message: str


class Context:
    """Everything one export run shares; steps add statements' notes through :meth:`note`."""

    def __init__(self, schema: Schema, target: Target, *, keys_apart: bool = False):
        self.schema, self.target, self.read = schema, target, schema.dialect
        self.keys_apart = keys_apart  # primary and unique keys as ALTER TABLE ... ADD after the table
        self.names = NameMap(schema, target)
        self.notes: list[ExportNote] = []
        self.extra_sequences: list[exp.Table] = []  # sequences invented for auto-increment columns
        self._relations: dict[str | None, set[str]] | None = None
        self._user_types: dict[str, Enum | Domain] = {}
        for item in (*schema.enums, *schema.domains):
            self._user_types[item.key.lower()] = item
            self._user_types.setdefault(item.name.lower(), item)

    @property
    def label(self) -> str:
        return self.target.label

    def note(self, obj: str, construct: str, message: str) -> None:
        self.notes.append(ExportNote(obj, construct, message))

    def ident(self, name: str) -> exp.Identifier:
        return self.names.ident(name)

    def relation_names(self, schema: str | None) -> set[str]:
        """Lower-cased names of tables, views and indexes already in a target schema (indexes share it)."""
        if self._relations is None:
            self._relations = {}
            for place_schema, name in self.names.places.values():
                self._relations.setdefault(place_schema, set()).add(name.lower())
        return self._relations.setdefault(schema, set())

    def user_type(self, text: str) -> Enum | Domain | None:
        """The enum or domain a type name refers to, with or without schema and quotes."""
        return self._user_types.get(text.replace('"', "").strip().lower())

    def parse(self, text: str, obj: str, construct: str, *, statement: bool = False) -> exp.Expression | None:
        """A fragment of the model parsed in the source dialect, tables re-pointed; None + note if not.

        Expressions are parsed as such, falling back to a ``SELECT <expr>`` scaffold for a column named
        like a statement keyword (``lock = 'X'``), which a statement parse would take for a command.
        """
        try:
            tree = sqlglot.parse_one(text, read=self.read) if statement else self._expression(text)
        except SqlglotError as error:
            self.note(obj, construct, f"cannot parse {text!r} in the source dialect "
                                      f"({self.read or 'sqlglot base'}): {_first_line(error)}; omitted")
            return None
        if isinstance(tree, exp.Command):
            self.note(obj, construct, f"sqlglot does not understand {text!r}; omitted")
            return None
        if self.target.dialect != self.read:  # MySQL charset introducers (_utf8'x'): plain strings elsewhere
            tree = tree.transform(lambda n: n.expression if isinstance(n, exp.Introducer) else n)
        return self._retype_casts(self.names.rewrite_tables(tree))

    def _expression(self, text: str) -> exp.Expression:
        try:
            return sqlglot.parse_one(text, read=self.read, into=exp.Condition)
        except SqlglotError:
            select = sqlglot.parse_one(f"SELECT {text}", read=self.read)
            if not isinstance(select, exp.Select) or len(select.expressions) != 1:
                raise
            return select.expressions[0]

    def type_ref(self, key: str) -> exp.DataType:
        """A reference to an enum or domain the export creates (CREATE TYPE / CREATE DOMAIN)."""
        table = self.names.table(key)
        kind = exp.Dot(this=table.args["db"], expression=table.this) if table.args.get("db") else table.this
        return exp.DataType(this=exp.DataType.Type.USERDEFINED, kind=kind)

    def has_type(self, user: Enum | Domain) -> bool:
        """True when the target creates the enum or domain as a named type."""
        return self.target.enums == "type" if isinstance(user, Enum) else self.target.domains

    def _retype_casts(self, tree: exp.Expression) -> exp.Expression:
        """Casts to an enum or domain: to the created type, or dropped where the target has none."""
        for cast in list(tree.find_all(exp.Cast)):
            to = cast.args.get("to")
            if not isinstance(to, exp.DataType) or to.this != exp.DataType.Type.USERDEFINED:
                continue
            kind = to.args.get("kind")
            user = self.user_type(kind.sql(self.read) if isinstance(kind, exp.Expression) else str(kind))
            if user is None:
                continue
            if self.has_type(user):
                cast.set("to", self.type_ref(user.key))
            else:
                replaced = cast.replace(cast.this)
                tree = replaced if cast is tree else tree
        return tree

    def renders(self, tree: exp.Expression, obj: str, construct: str) -> bool:
        """True when the target renders the tree without dropping anything; else a note."""
        try:
            tree.sql(dialect=self.target.dialect, unsupported_level=ErrorLevel.RAISE)
        except SqlglotError as error:
            self.note(obj, construct, f"{self.label} cannot express it: {_first_line(error)}; omitted")
            return False
        return True


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
