"""HTML views of a table and a schema for notebooks: compact, every value escaped, never raising.

The notebook layer attaches these as ``_repr_html_``; a display that raises hides the object, so
any failure falls back to the escaped ``repr`` with the error named.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from workbench.safe_display import safe_html
from workbench.schema.model import Index, IndexElement, Schema, Table

# notebooks right-align table cells; names and types read better left-aligned
_STYLE = "<style>.wb-table td,.wb-table th,.wb-schema td,.wb-schema th{text-align:left}</style>"


def table_html(table: Table) -> str:
    """A table: its columns with keys and comments, then constraints, indexes and partitions."""
    return safe_html(_table_html, table)


def schema_html(schema: Schema) -> str:
    """A schema: summary counts, then its tables, views and enums one row each."""
    return safe_html(_schema_html, schema)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _row(cells: Iterable[object], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{_e(c)}</{tag}>" for c in cells) + "</tr>"


def _grid(header: tuple[str, ...], rows: Iterable[Iterable[object]]) -> str:
    return "<table>" + _row(header, "th") + "".join(_row(r) for r in rows) + "</table>"


def _count(n: int, word: str, plural: str = "") -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _names(columns: Iterable[str]) -> str:
    return "(" + ", ".join(columns) + ")"


def _table_html(table: Table) -> str:
    pk = set(table.primary_key.columns) if table.primary_key else set()
    fk = {c for f in table.foreign_keys for c in f.columns}
    uq = {u.columns[0] for u in table.uniques if len(u.columns) == 1}
    uq |= {i.columns[0] for i in table.indexes if i.unique and len(i.elements) == 1 and i.where is None}
    rows = [(c.name, c.type, "" if c.nullable else "not null", _default(c),
             " ".join(m for m, on in (("PK", c.name in pk), ("FK", c.name in fk), ("UQ", c.name in uq)) if on),
             c.comment or "") for c in table.columns]
    title = f"<b>{_e(table.key)}</b>" + (f" <i>{_e(table.comment)}</i>" if table.comment else "")
    grid = _grid(("column", "type", "null", "default", "key", "comment"), rows) if rows else "<p>(no columns)</p>"
    items = "".join(f"<li>{_e(item)}</li>" for item in _details(table))
    return f'{_STYLE}<div class="wb-table"><p>{title}</p>{grid}' + (f"<ul>{items}</ul>" if items else "") + "</div>"


def _default(column: Any) -> str:
    if column.identity:
        return f"identity {column.identity}"
    if column.generated:
        return f"generated as ({column.generated})"
    return column.default or ("autoincrement" if column.autoincrement else "")


def _named(name: str | None) -> str:
    return f"{name}: " if name else ""


def _details(table: Table) -> list[str]:
    """One line per constraint, index and partition, in that order."""
    lines = []
    if table.primary_key:
        lines.append(f"{_named(table.primary_key.name)}primary key {_names(table.primary_key.columns)}")
    for u in table.uniques:
        nulls = " nulls not distinct" if u.nulls_not_distinct else ""
        lines.append(f"{_named(u.name)}unique {_names(u.columns)}{nulls}")
    for f in table.foreign_keys:
        actions = "".join(f" on {event} {action.lower()}"
                          for event, action in (("delete", f.on_delete), ("update", f.on_update)) if action)
        deferred = " deferrable" * f.deferrable + " initially deferred" * f.initially_deferred
        lines.append(f"{_named(f.name)}foreign key {_names(f.columns)} → {f.ref_key} "
                     f"{_names(f.ref_columns)}{actions}{deferred}")
    lines += [f"{_named(c.name)}check ({c.expression})" for c in table.checks]
    lines += [_index(i) for i in table.indexes]
    if table.partitioning:
        lines.append(f"partitioned by {table.partitioning.strategy} {_names(table.partitioning.key)}")
    lines += _partitions(table.partitions, 0)
    return lines


def _index(index: Index) -> str:
    kind = ("unique " if index.unique else "") + index.method
    text = f"{_named(index.name)}{kind} index {_names(_element(e) for e in index.elements)}"
    if index.include:
        text += f" include {_names(index.include)}"
    if index.nulls_not_distinct:
        text += " nulls not distinct"
    return text + (f" where {index.where}" if index.where else "")


def _element(element: IndexElement) -> str:
    parts = [f"({element.expression})" if element.is_expression else element.expression]
    parts += [f"collate {element.collation}"] if element.collation else []
    parts += [element.opclass] if element.opclass else []
    parts += ["desc"] if element.descending else []
    if element.nulls_first is not None:
        parts.append("nulls first" if element.nulls_first else "nulls last")
    return " ".join(parts)


def _partitions(partitions: Iterable[Table], depth: int) -> list[str]:
    lines = []
    for p in partitions:
        sub = f", partitioned by {p.partitioning.strategy} {_names(p.partitioning.key)}" if p.partitioning else ""
        lines.append(f"{'↳ ' * depth}partition {p.key} {p.bound or '(no bound)'}{sub}")
        lines += _partitions(p.partitions, depth + 1)
    return lines


def _schema_html(schema: Schema) -> str:
    counts = [_count(len(schema.tables), "table"),
              _count(sum(len(t.columns) for t in schema.tables), "column"),
              _count(sum(len(t.foreign_keys) for t in schema.tables), "foreign key"),
              _count(sum(len(t.indexes) for t in schema.tables), "index", "indexes")]
    counts += [_count(len(items), word) for items, word in ((schema.views, "view"), (schema.enums, "enum"),
               (schema.domains, "domain"), (schema.sequences, "sequence")) if items]
    title = f"Schema {schema.name!r}" if schema.name else "Schema"
    dialect = f" ({schema.dialect})" if schema.dialect else ""
    parts = [f"<p><b>{_e(title)}</b>{_e(dialect)}: {_e(', '.join(counts))}</p>"]
    if schema.tables:
        parts.append(_grid(("table", "columns", "primary key", "foreign keys", "indexes", "partitions", "comment"), (
            (t.key, len(t.columns), ", ".join(t.primary_key.columns) if t.primary_key else "",
             ", ".join(f.ref_key for f in t.foreign_keys), len(t.indexes), len(t.partitions) or "",
             t.comment or "") for t in schema.tables)))
    if schema.views:
        parts.append(_grid(("view", "kind", "reads"), (
            (v.key, "materialized view" if v.materialized else "view", ", ".join(v.depends_on))
            for v in schema.views)))
    if schema.enums:
        parts.append(_grid(("enum", "values"), ((e.key, ", ".join(e.values)) for e in schema.enums)))
    if schema.subject_areas:
        parts.append(_grid(("subject area", "tables"),
                           ((area, ", ".join(tables)) for area, tables in schema.subject_areas.items())))
    return f'{_STYLE}<div class="wb-schema">' + "".join(parts) + "</div>"
