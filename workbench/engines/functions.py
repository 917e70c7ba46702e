"""Functions a schema calls from an extension the server may lack (AdventureWorks' ``uuid_generate_v4()``
from ``uuid-ossp``, which the embedded server does not ship).

Where the extension is installed (or may be created) its functions are named with its schema (a sandbox's
search_path holds the sandbox alone); where it is not, a built-in that gives the same kind of value takes
their place, with a note; a function without such a built-in is refused, saying what to install.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.ddl.export.context import ExportNote
from workbench.engines.sandbox import map_sql
from workbench.errors import WorkbenchError
from workbench.schema.model import Schema


@dataclass(frozen=True)
class Replacement:
    """A built-in that stands in for an extension's function, and what changes for the values."""

    function: str
    difference: str


# extension function -> (extension, built-in replacement or None when nothing gives the same values)
FROM_EXTENSIONS: dict[str, tuple[str, Replacement | None]] = {
    "uuid_generate_v4": ("uuid-ossp", Replacement("gen_random_uuid", "the same kind of value: a random "
                                                                     "version-4 UUID")),
    "uuid_generate_v1": ("uuid-ossp", Replacement("gen_random_uuid", "random UUIDs instead of time-based ones "
                                                                     "(creation order is not kept)")),
    "uuid_generate_v1mc": ("uuid-ossp", Replacement("gen_random_uuid", "random UUIDs instead of time-based ones "
                                                                       "(creation order is not kept)")),
    "uuid_generate_v3": ("uuid-ossp", None),
    "uuid_generate_v5": ("uuid-ossp", None),
}


def called(schema: Schema) -> list[str]:
    """The extension functions of :data:`FROM_EXTENSIONS` the model's SQL calls, in order of appearance."""
    found: dict[str, None] = {}

    def collect(text: str) -> str:
        for name in _calls(text, schema.dialect):
            found[name] = None
        return text

    map_sql(schema, collect)
    return list(found)


Call = tuple[str | None, str]  # (schema or None, function name)


def rewrite(schema: Schema, calls: Mapping[str, Call]) -> Schema:
    """The model with each call of a function in ``calls`` (qualified or not) made to ``(schema, name)``,
    its arguments kept."""
    dialect = schema.dialect or "postgres"

    def replace_call(node: exp.Expression) -> exp.Expression:
        call = node.expression if isinstance(node, exp.Dot) else node
        if not isinstance(call, exp.Anonymous) or call.name.lower() not in calls:
            return node
        namespace, function = calls[call.name.lower()]
        new = exp.Anonymous(this=function, expressions=[argument.copy() for argument in call.expressions])
        return exp.Dot(this=exp.to_identifier(namespace, quoted=True), expression=new) if namespace else new

    def moved(text: str) -> str:
        if not set(_calls(text, dialect)) & set(calls):
            return text
        return sqlglot.parse_one(text, read=dialect).transform(replace_call).sql(dialect)

    return map_sql(schema, moved)


def resolve(names: list[str], schema_of: Callable[[str], str]) -> tuple[dict[str, Call], list[ExportNote]]:
    """For each called function: itself in its extension's schema where ``schema_of(extension)`` finds it,
    else its built-in replacement with a note; raises for a function without one."""
    calls: dict[str, Call] = {}
    notes = []
    for name in names:
        extension, replacement = FROM_EXTENSIONS[name]
        try:
            calls[name] = (schema_of(extension), name)
            continue
        except WorkbenchError as missing:
            if replacement is None:
                raise WorkbenchError(f"the schema calls {name}() from extension {extension}, which is missing here "
                                     f"and has no built-in equivalent: {missing}") from None
        calls[name] = (None, replacement.function)
        notes.append(ExportNote(f"{name}()", "extension function",
                                f"extension {extension} is not available here; {name}() is replaced by "
                                f"{replacement.function}(), which gives {replacement.difference}"))
    return calls, notes


def _calls(text: str, dialect: str | None) -> list[str]:
    if not any(name in text.lower() for name in FROM_EXTENSIONS):
        return []
    try:
        tree = sqlglot.parse_one(text, read=dialect or "postgres")
    except SqlglotError:
        return []
    return [node.name.lower() for node in tree.find_all(exp.Anonymous) if node.name.lower() in FROM_EXTENSIONS]
