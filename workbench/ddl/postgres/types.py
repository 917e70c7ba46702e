"""PostgreSQL type names written the way ``format_type()`` prints them.

Rule for schemas: ``pg_catalog`` is always dropped (format_type never prints it); ``type_text``
keeps any other schema as written in the source (``public.mpaa_rating``), while
:func:`canonical_type` also drops ``public``, as format_type does under the default search_path
(``"$user", public``). Types in other schemas stay qualified in both.
"""

from __future__ import annotations

from pglast import ast, parse_sql
from pglast.parser import ParseError
from pglast.printers.dml import interval_ranges

from workbench.ddl.postgres.deparse import deparse, names_of, quote_ident
from workbench.errors import DDLSyntaxError

_SIMPLE = {
    "int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
    "float8": "double precision", "bool": "boolean",
}
_WITH_LENGTH = {"bpchar": "character", "varchar": "character varying", "bit": "bit", "varbit": "bit varying"}
_ZONED = {
    "timestamp": ("timestamp", "without"), "timestamptz": ("timestamp", "with"),
    "time": ("time", "without"), "timetz": ("time", "with"),
}
_INTERNAL = {*_SIMPLE, *_WITH_LENGTH, *_ZONED, "numeric", "interval"}
SERIALS = {"serial": "integer", "serial4": "integer", "bigserial": "bigint", "serial8": "bigint",
           "smallserial": "smallint", "serial2": "smallint"}


def type_text(type_name: ast.TypeName, *, drop_schemas: tuple[str, ...] = ("pg_catalog",)) -> str:
    """The type of a pglast TypeName as format_type prints it, keeping schemas not in ``drop_schemas``."""
    names = names_of(type_name.names)
    mods = tuple(_modifier(m) for m in type_name.typmods or ())
    if (len(names) == 2 and names[0] == "pg_catalog") or (len(names) == 1 and names[0] in _INTERNAL):
        text = _builtin(names[-1], mods)
    else:
        if len(names) > 1 and names[0] in drop_schemas:
            names = names[1:]
        text = ".".join('"char"' if n == "char" and len(names) == 1 else quote_ident(n) for n in names)
        text += f"({','.join(mods)})" if mods else ""
    if type_name.pct_type:
        text += "%TYPE"
    return text + ("[]" if type_name.arrayBounds else "")


def serial_base(type_name: ast.TypeName) -> str | None:
    """``integer``/``bigint``/``smallint`` when the type is a serial pseudo-type, else None."""
    names = names_of(type_name.names)
    if len(names) == 1 and not type_name.arrayBounds and not type_name.typmods:
        return SERIALS.get(names[0])
    return None


def canonical_type(text: str) -> str:
    """``text`` as PostgreSQL's format_type() prints the type: ``int4`` -> ``integer``, ``serial`` -> ``integer``,
    ``varchar(45)`` -> ``character varying(45)``, ``public.mpaa_rating`` -> ``mpaa_rating``."""
    try:
        statement = parse_sql(f"SELECT NULL::{text}")
        type_name = statement[0].stmt.targetList[0].val.typeName
    except (ParseError, AttributeError, IndexError) as error:
        raise DDLSyntaxError(f"not a PostgreSQL type: {text!r} ({error}); write it as in CREATE TABLE, "
                             "e.g. 'varchar(45)'", file=None, line=1, column=1, snippet=text) from error
    serial = serial_base(type_name)
    return serial if serial else type_text(type_name, drop_schemas=("pg_catalog", "public"))


def _modifier(node: ast.Node) -> str:
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.Integer):
        return str(node.val.ival)
    return deparse(node)


def _builtin(name: str, mods: tuple[str, ...]) -> str:
    if name in _SIMPLE:
        return _SIMPLE[name]
    if name in _WITH_LENGTH:
        if not mods and name == "bpchar":
            return "bpchar"  # bpchar without length is not character(1)
        return _WITH_LENGTH[name] + (f"({mods[0]})" if mods else "")
    if name in _ZONED:
        base, zone = _ZONED[name]
        return f"{base}{f'({mods[0]})' if mods else ''} {zone} time zone"
    if name == "numeric":
        return f"numeric({mods[0]},{mods[1] if len(mods) > 1 else 0})" if mods else "numeric"
    if name == "interval":
        return _interval(mods)
    return name + (f"({','.join(mods)})" if mods else "")


def _interval(mods: tuple[str, ...]) -> str:
    if not mods:
        return "interval"
    fields = interval_ranges.get(int(mods[0])) if mods[0].lstrip("-").isdigit() else None
    text = "interval" + (f" {fields}" if fields else "")
    return text + (f"({mods[1]})" if len(mods) > 1 else "")
