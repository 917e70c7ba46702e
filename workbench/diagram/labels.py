"""Graphviz HTML-like labels for tables, views and missing tables, with every name escaped.

Each shown column gets a port (``c0``, ``c1``...) so that an edge can leave from the foreign-key
column; port names are generated, never taken from identifiers, so no name can break the DOT.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from workbench.schema.model import Column, Table, View

DEFAULT_SCHEMAS = (None, "public", "main", "dbo")
HEADER_PORT = "h"
COLUMN_MODES = ("all", "keys", "none")
GREY = "#6b6b6b"


@dataclass(frozen=True)
class TableLabel:
    """The label text and the port of each column it shows."""

    html: str
    ports: dict[str, str]


def esc(text: str) -> str:
    """Escape text for an HTML-like label (``&``, ``<``, ``>`` and quotes)."""
    return html.escape(text, quote=True)


def display_name(schema: str | None, name: str) -> str:
    """``schema.name``, or ``name`` alone in a default schema."""
    return name if schema in DEFAULT_SCHEMAS else f"{schema}.{name}"


def _markers(table: Table, column: Column, fk_columns: set[str]) -> list[str]:
    pk = table.primary_key.columns if table.primary_key else ()
    marks = ["PK"] if column.name in pk else []
    marks += ["FK"] if column.name in fk_columns else []
    if column.name not in pk and table.is_unique_on((column.name,)):
        marks.append("UQ")
    if not column.nullable and column.name not in pk:
        marks.append("NN")
    return marks


def _key_columns(table: Table, fk_columns: set[str]) -> set[str]:
    keys = set(table.primary_key.columns) if table.primary_key else set()
    keys |= fk_columns
    keys |= {c for u in table.uniques for c in u.columns}
    return keys


def _column_row(table: Table, column: Column, port: str, fk_columns: set[str], show_types: bool) -> str:
    marks = _markers(table, column, fk_columns)
    name = esc(column.name)
    name = f"<B>{name}</B>" if "PK" in marks else name
    parts = [name]
    if show_types:
        parts.append(f'<FONT COLOR="{GREY}">{esc(column.type)}</FONT>')
    if marks:
        parts.append(f'<FONT COLOR="#1f5fa6" POINT-SIZE="9">{" ".join(marks)}</FONT>')
    return f'<TR><TD ALIGN="LEFT" PORT="{port}">{"  ".join(parts)}</TD></TR>'


def _note_row(text: str) -> str:
    return f'<TR><TD ALIGN="LEFT"><FONT COLOR="{GREY}" POINT-SIZE="9"><I>{esc(text)}</I></FONT></TD></TR>'


def _index_text(index_name: str | None, columns: tuple[str, ...], unique: bool, method: str,
                where: str | None) -> str:
    text = f"{'unique ' if unique else ''}index {index_name or ''} ({', '.join(columns)})"
    text += f" using {method}" if method != "btree" else ""
    return text + (f" where {where}" if where else "")


def partition_text(table: Table) -> str:
    assert table.partitioning is not None
    count = len(table.partitions)
    key = ", ".join(table.partitioning.key)
    return f"partitioned by {table.partitioning.strategy} ({key}), {count} partition{'s' * (count != 1)}"


def _header(title: str, color: str, extra: str = "") -> str:
    return (f'<TR><TD PORT="{HEADER_PORT}" BGCOLOR="{color}"><B>{esc(title)}</B>{extra}</TD></TR>')


def _wrap(rows: list[str], style: str = "") -> str:
    return f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3"{style}>{"".join(rows)}</TABLE>>'


def table_label(table: Table, *, columns: str, show_types: bool, show_indexes: bool) -> TableLabel:
    """The label of a table: header, columns (all, keys only or none), partitioning and indexes."""
    fk_columns = {c for fk in table.foreign_keys for c in fk.columns}
    shown = list(table.columns)
    if columns == "keys":
        keys = _key_columns(table, fk_columns)
        shown = [c for c in table.columns if c.name in keys]
    elif columns == "none":
        shown = []
    ports = {c.name: f"c{i}" for i, c in enumerate(shown)}
    rows = [_header(display_name(table.schema, table.name), "#dbe8f6")]
    rows += [_column_row(table, c, ports[c.name], fk_columns, show_types) for c in shown]
    hidden = len(table.columns) - len(shown)
    if hidden:
        rows.append(_note_row(f"{'+' if shown else ''}{hidden} column{'s' * (hidden != 1)}"))
    if table.partitioning is not None:
        rows.append(_note_row(partition_text(table)))
    if show_indexes:
        rows += [_note_row(_index_text(i.name, i.columns, i.unique, i.method, i.where)) for i in table.indexes]
    return TableLabel(_wrap(rows), ports)


def view_label(view: View) -> str:
    """A view: its name and columns, drawn dashed."""
    kind = "materialized view" if view.materialized else "view"
    rows = [_header(display_name(view.schema, view.name), "#eeeeee", f' <FONT POINT-SIZE="9">({kind})</FONT>')]
    rows += [f'<TR><TD ALIGN="LEFT">{esc(c)}</TD></TR>' for c in view.columns]
    return _wrap(rows, ' STYLE="DASHED"')


def missing_label(key: str) -> str:
    """A table referenced by a foreign key but absent from the schema."""
    return _wrap([_header(key, "#f6e3db"), _note_row("not in this schema")], ' STYLE="DASHED"')
