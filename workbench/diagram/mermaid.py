"""Mermaid ``erDiagram`` text: entities with typed attributes and crow's-foot relationships.

Mermaid reads attribute types and names as plain words, so other characters become ``_`` and the
name as written goes into the attribute's comment; entity names that are not plain words are quoted.
"""

from __future__ import annotations

import re

from workbench.diagram.labels import display_name
from workbench.diagram.relations import Relationship, relationships
from workbench.schema.model import Schema, Table

WORD = re.compile(r"[A-Za-z_][\w-]*")
ATTRIBUTE = re.compile(r"[A-Za-z][\w\-()\[\]]*")


def _entity(name: str) -> str:
    return name if WORD.fullmatch(name) else '"' + name.replace('"', "'") + '"'


def _word(text: str) -> str:
    """A Mermaid attribute word: unsupported characters become ``_``, a leading non-letter gets ``x``."""
    word = re.sub(r"[^\w\-()\[\]]", "_", text)
    return word if ATTRIBUTE.fullmatch(word) else f"x{word}"


def _comment(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


def _attribute(table: Table, name: str, type_: str, comment: str | None) -> str:
    pk = table.primary_key.columns if table.primary_key else ()
    keys = ["PK"] if name in pk else []
    keys += ["FK"] if any(name in fk.columns for fk in table.foreign_keys) else []
    keys += ["UK"] if name not in pk and table.is_unique_on((name,)) else []
    notes = [f"column {name}"] if _word(name) != name else []
    notes += [comment] if comment else []
    parts = [_word(type_), _word(name)]
    parts += [", ".join(keys)] if keys else []
    parts += [_comment("; ".join(notes))] if notes else []
    return "        " + " ".join(parts)


def _cardinality(rel: Relationship) -> str:
    parent = "|o" if rel.optional else "||"
    child = ("o" if rel.optional else "|") + ("{" if rel.child_many else "|")
    return f"{parent}{'--' if rel.identifying else '..'}{child}"


def to_mermaid(schema: Schema) -> str:
    """The schema as a Mermaid ``erDiagram`` (tables, typed columns with PK/FK/UK, cardinalities)."""
    lines = ["erDiagram"]
    for table in schema.tables:
        entity = _entity(display_name(table.schema, table.name))
        if not table.columns:
            lines.append(f"    {entity}")
            continue
        lines.append(f"    {entity} {{")
        lines += [_attribute(table, c.name, c.type, c.comment) for c in table.columns]
        lines.append("    }")
    for rel in relationships(schema):
        parent = rel.parent
        parent_name = display_name(parent.schema, parent.name) if parent is not None else rel.fk.ref_key
        child_name = display_name(rel.child.schema, rel.child.name)
        label = _comment(", ".join(rel.fk.columns))
        lines.append(f"    {_entity(parent_name)} {_cardinality(rel)} {_entity(child_name)} : {label}")
    return "\n".join(lines) + "\n"
