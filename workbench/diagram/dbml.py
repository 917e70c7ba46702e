"""DBML text (dbdiagram.io): enums, tables with column settings and indexes, refs with cardinalities.

What DBML cannot express (checks, views, partial or non-btree/hash index details, references to
tables outside the schema) is kept as ``//`` comments or notes, never left out.
"""

from __future__ import annotations

import re

from workbench.diagram.labels import DEFAULT_SCHEMAS, partition_text
from workbench.diagram.relations import Relationship, relationships
from workbench.schema.model import Column, Index, Schema, Table

NAME = re.compile(r"[A-Za-z_]\w*")
SIMPLE_TYPE = re.compile(r"\w+(\([\d, ]*\))?(\[\])*")
NUMBER = re.compile(r"-?\d+(\.\d+)?")
SQL_STRING = re.compile(r"'((?:[^']|'')*)'")
INDEX_TYPES = ("btree", "hash")


def _name(name: str) -> str:
    return name if NAME.fullmatch(name) else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _qualified(schema: str | None, name: str) -> str:
    return _name(name) if schema in DEFAULT_SCHEMAS else f"{_name(schema)}.{_name(name)}"  # type: ignore[arg-type]


def _string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def _type(type_: str) -> str:
    return type_ if SIMPLE_TYPE.fullmatch(type_) else '"' + type_.replace('"', '\\"') + '"'


def _default(sql: str) -> str:
    """A SQL default as DBML: numbers, strings and true/false/null as values, anything else as `expression`."""
    text = sql.strip()
    if NUMBER.fullmatch(text) or text.lower() in ("true", "false", "null"):
        return text.lower()
    if (literal := SQL_STRING.fullmatch(text)) is not None:
        return _string(literal.group(1).replace("''", "'"))
    return f"`{text}`"


def _column(table: Table, column: Column) -> str:
    pk = table.primary_key.columns if table.primary_key else ()
    settings = ["pk"] if pk == (column.name,) else []
    settings += ["increment"] if column.autoincrement or column.identity else []
    settings += ["unique"] if any(u.columns == (column.name,) for u in table.uniques) else []
    settings += ["not null"] if not column.nullable and column.name not in pk else []
    settings += [f"default: {_default(column.default)}"] if column.default is not None else []
    notes = [column.comment] if column.comment else []
    notes += [f"generated as ({column.generated})"] if column.generated else []
    settings += [f"note: {_string('; '.join(notes))}"] if notes else []
    suffix = f" [{', '.join(settings)}]" if settings else ""
    return f"  {_name(column.name)} {_type(column.type)}{suffix}"


def _columns(names: tuple[str, ...]) -> str:
    return _name(names[0]) if len(names) == 1 else "(" + ", ".join(_name(n) for n in names) + ")"


def _index(index: Index) -> str:
    elements = [f"`{e.expression}`" if e.is_expression else _name(e.expression) for e in index.elements]
    keys = elements[0] if len(elements) == 1 else "(" + ", ".join(elements) + ")"
    settings = [f"name: {_string(index.name)}"] if index.name else []
    settings += ["unique"] if index.unique else []
    settings += [f"type: {index.method}"] if index.method in INDEX_TYPES and index.method != "btree" else []
    notes = [f"using {index.method}"] if index.method not in INDEX_TYPES else []
    notes += [f"{e.expression} desc" for e in index.elements if e.descending]
    notes += [f"include ({', '.join(index.include)})"] if index.include else []
    notes += [f"where {index.where}"] if index.where else []
    settings += [f"note: {_string('; '.join(notes))}"] if notes else []
    return f"    {keys}" + (f" [{', '.join(settings)}]" if settings else "")


def _table(table: Table) -> list[str]:
    lines = [f"Table {_qualified(table.schema, table.name)} {{"]
    lines += [_column(table, c) for c in table.columns]
    entries = []
    if table.primary_key and len(table.primary_key.columns) > 1:
        entries.append(f"    {_columns(table.primary_key.columns)} [pk]")
    entries += [f"    {_columns(u.columns)} [unique]" for u in table.uniques if len(u.columns) > 1]
    entries += [_index(i) for i in table.indexes]
    if entries:
        lines += ["", "  indexes {", *entries, "  }"]
    lines += [f"  // check ({c.expression})" + (f" named {c.name}" if c.name else "") for c in table.checks]
    notes = [table.comment] if table.comment else []
    notes += [partition_text(table)] if table.partitioning else []
    if notes:
        lines.append(f"  Note: {_string('; '.join(notes))}")
    return [*lines, "}"]


def _ref(rel: Relationship) -> str:
    child = f"{_qualified(rel.child.schema, rel.child.name)}.{_columns(rel.fk.columns)}"
    parent_schema, parent_name = (rel.parent.schema, rel.parent.name) if rel.parent else (rel.fk.ref_schema,
                                                                                          rel.fk.ref_table)
    parent = f"{_qualified(parent_schema, parent_name)}.{_columns(rel.fk.ref_columns)}"
    settings = [f"{event}: {action.lower()}" for event, action in (("delete", rel.fk.on_delete),
                                                                   ("update", rel.fk.on_update)) if action]
    name = f" {_name(rel.fk.name)}" if rel.fk.name else ""
    line = f"Ref{name}: {child} {'>' if rel.child_many else '-'} {parent}"
    line += f" [{', '.join(settings)}]" if settings else ""
    return line if rel.parent is not None else f"// {line}  (a comment: {rel.fk.ref_key} is not in this schema)"


def to_dbml(schema: Schema) -> str:
    """The schema as DBML: Enum blocks, Table blocks (settings, indexes, notes) and Ref lines."""
    blocks: list[list[str]] = []
    for enum in schema.enums:
        values = [f"  {_name(v)}" for v in enum.values]
        blocks.append([f"Enum {_qualified(enum.schema, enum.name)} {{", *values, "}"])
    blocks += [_table(t) for t in schema.tables]
    refs = [_ref(r) for r in relationships(schema)]
    if refs:
        blocks.append(refs)
    views = [f"// view {v.key} (DBML has no views): reads {', '.join(v.depends_on) or 'nothing'}" for v in schema.views]
    if views:
        blocks.append(views)
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"
