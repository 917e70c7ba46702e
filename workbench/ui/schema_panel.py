"""``wb.explore(schema)``: the ER diagram around a table, with that table's columns, keys, indexes and lint.

Controls: a table (type to search; empty for the whole schema), foreign-key hops around it, a subject
area, the layout and how much of each table to draw. The diagram redraws on every change; the export
buttons write the current view as SVG, Mermaid or DBML into ``out/exports/`` beside the notebook.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import ipywidgets as widgets

from workbench.advisor import Finding, lint
from workbench.ddl import ImportResult
from workbench.diagram import ERDiagram, er_diagram
from workbench.engines import Engine
from workbench.errors import did_you_mean
from workbench.schema.html import schema_html, table_html
from workbench.schema.model import Schema, Table
from workbench.ui.files import link, output_folder
from workbench.ui.panel import NoData, Panel, html_box, image
from workbench.workload import Workload

WHOLE = ""  # the table control's value for "no focus: the whole schema (or area)"
ALL_AREAS = "(all areas)"
LAYOUTS = {"left to right": ("dot", "LR"), "top to bottom": ("dot", "TB"), "spring (neato)": ("neato", "LR"),
           "force (fdp)": ("fdp", "LR"), "large graphs (sfdp)": ("sfdp", "LR"), "circle": ("circo", "LR"),
           "radial": ("twopi", "LR"), "grid (osage)": ("osage", "LR")}
DETAILS = {"columns and types": {"columns": "all"},
           "columns": {"columns": "all", "show_types": False},
           "columns and indexes": {"columns": "all", "show_indexes": True},
           "key columns": {"columns": "keys"},
           "table names": {"columns": "none"}}
EXPORTS = {"SVG": ".svg", "Mermaid": ".mmd", "DBML": ".dbml"}


class SchemaPanel(Panel):
    """The ER diagram of a schema around a chosen table, redrawn as the controls change."""

    def __init__(self, schema: Schema, *, table: str = WHOLE, depth: int = 1, engine: Engine | None = None,
                 workload: Workload | None = None, folder: str | Path | None = None):
        super().__init__()
        self.schema, self.engine, self.workload = schema, engine, workload
        self.folder = Path(folder) if folder is not None else None
        self.title = f"Explore {schema.name or 'the schema'}: {len(schema.tables)} tables"
        self.diagram: ERDiagram | None = None
        self.findings, lint_problem = self._lint()
        names = [t.key for t in schema.tables]
        areas = [ALL_AREAS, *schema.subject_areas]
        self.controls = {
            "table": widgets.Combobox(value=table, options=names, placeholder="type a table (empty: all)",
                                      description="table", ensure_option=False, continuous_update=False),
            "depth": widgets.IntSlider(value=depth, min=0, max=4, description="hops"),
            "area": widgets.Dropdown(options=areas, value=ALL_AREAS, description="area",
                                     disabled=len(areas) == 1),
            "layout": widgets.Dropdown(options=list(LAYOUTS), description="layout"),
            "detail": widgets.Dropdown(options=list(DETAILS), description="detail"),
        }
        self.picture = image()
        self.caption = html_box()
        self.side = html_box("42%")
        self.exported = html_box()
        buttons = [widgets.Button(description=f"export {kind}", tooltip=f"write the view as {suffix}")
                   for kind, suffix in EXPORTS.items()]
        for button, kind in zip(buttons, EXPORTS, strict=True):
            button.on_click(lambda _, kind=kind: self._export_clicked(kind))
        c = self.controls
        self.assemble([widgets.HBox([c["table"], c["depth"], c["area"]]),
                       widgets.HBox([c["layout"], c["detail"], *buttons]), self.exported],
                      [widgets.HBox([widgets.VBox([self.picture, self.caption], layout=widgets.Layout(width="58%")),
                                     self.side])])
        self.refresh()
        if lint_problem:
            self.say(lint_problem, "note")

    # -- views -----------------------------------------------------------------------------------------

    def update(self) -> None:
        table = self._table()
        self.diagram = self._diagram(table)
        self.show("diagram", self.picture, self.diagram.png, svg=self.diagram.svg())
        self.caption.value = _caption(self.diagram, table, self.controls["depth"].value)
        self.side.value = self._side(table)

    def static_html(self) -> str:
        return (f"<p><b>{html.escape(self.title)}</b> ({html.escape(self._state())})</p>"
                f"{self.picture_html('diagram', 'ER diagram')}{self.side.value}")

    def export(self, kind: str) -> Path:
        """Write the current view as ``SVG``, ``Mermaid`` or ``DBML`` into the export folder; returns the file."""
        if self.diagram is None:
            raise NoData("nothing drawn yet to export: pick a table or clear the table box")
        folder = self.folder or output_folder("exports")
        folder.mkdir(parents=True, exist_ok=True)
        return self.diagram.render(folder / (_stem(f"{self.schema.name or 'schema'} {self._state()}") + EXPORTS[kind]))

    # -- helpers ---------------------------------------------------------------------------------------

    def _table(self) -> Table | None:
        name = self.controls["table"].value.strip()
        if not name:
            return None
        table = self.schema.find_table(name)
        if table is None:
            raise NoData(f"no table {name!r} in this schema{did_you_mean(name, [t.key for t in self.schema.tables])}")
        return table

    def _diagram(self, table: Table | None) -> ERDiagram:
        area = self.controls["area"].value
        engine, rankdir = LAYOUTS[self.controls["layout"].value]
        schema, group_by = self.schema, "area" if self.schema.subject_areas else "schema"
        if area != ALL_AREAS:
            keys = {found.key for name in self.schema.subject_areas[area]
                    if (found := self.schema.find_table(name)) is not None}
            if table is not None and table.key not in keys:
                raise NoData(f"{table.key} is not in subject area {area!r} (it has {', '.join(sorted(keys))}); "
                             f"pick another table or {ALL_AREAS!r}")
            schema, group_by = self.schema.with_tables(tuple(t for t in self.schema.tables if t.key in keys)), None
        return er_diagram(schema, focus=table.key if table else None, depth=self.controls["depth"].value,
                          group_by=group_by, layout=engine, rankdir=rankdir, **DETAILS[self.controls["detail"].value])

    def _side(self, table: Table | None) -> str:
        if table is None:
            found = self.findings
            return schema_html(self.schema) + _findings_html(found, "Lint findings of the design")
        found = [f for f in self.findings if f.object == table.key or f.object.startswith(table.key + " ")]
        return table_html(table) + _findings_html(found, f"Lint findings on {table.key}")

    def _lint(self) -> tuple[list[Finding], str]:
        if self.engine is not None and self.engine.closed:
            return [], (f"{self.engine!r} is closed: lint without its data; reconnect with "
                        "workbench.connect(...) and explore(schema, engine=...) again for the data rules")
        try:
            return list(lint(self.schema, engine=self.engine, workload=self.workload)), ""
        except Exception as error:  # the diagram still works without lint
            return [], f"lint could not run: {type(error).__name__}: {error}"

    def _state(self) -> str:
        c = self.controls
        table = c["table"].value.strip()
        parts = [f"around {table}, {hops(c['depth'].value)}" if table else "whole schema"]
        if c["area"].value != ALL_AREAS:
            parts.append(f"area {c['area'].value}")
        return ", ".join([*parts, c["layout"].value, c["detail"].value])

    def _export_clicked(self, kind: str) -> None:
        try:
            path = self.export(kind)
        except Exception as error:  # a button never raises into the notebook
            self.say(f"could not export {kind}: {type(error).__name__}: {error}", "error")
            return
        self.exported.value = f"<small>wrote {link(path)} ({path.stat().st_size:,} bytes)</small>"


def hops(depth: int) -> str:
    return _count(depth, "hop")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _caption(diagram: ERDiagram, table: Table | None, depth: int) -> str:
    """What the drawing holds and how it was laid out (and what the layout had to give up)."""
    content = diagram.content
    shown = f"{_count(len(content.tables), 'table')}, {_count(len(content.relationships), 'foreign key')}"
    shown += f", {_count(len(content.views), 'view')}" if content.views else ""
    where = f"within {hops(depth)} of {table.key}" if table else "the whole schema"
    fallbacks = "".join(f"<li>{html.escape(f)}</li>" for f in diagram.fallbacks)
    return (f"<small>{html.escape(f'{shown}: {where}; layout {diagram.layout_used}')}</small>"
            + (f"<ul><small>{fallbacks}</small></ul>" if fallbacks else ""))


def _findings_html(findings: list[Finding], title: str) -> str:
    if not findings:
        return f"<p><b>{html.escape(title)}</b>: none</p>"
    rows = "".join(f"<tr><td>{html.escape(f.severity)}</td><td>{html.escape(f.rule)}</td>"
                   f"<td>{html.escape(f.message)}</td><td><code>{html.escape(f.fix_sql or '')}</code></td></tr>"
                   for f in findings)
    return (f"<p><b>{html.escape(title)}</b> ({len(findings)})</p><table><tr><th>severity</th><th>rule</th>"
            f"<th>finding</th><th>fix</th></tr>{rows}</table>")


def _stem(state: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", state).strip("-")[:120] or "diagram"


def panel(subject: Schema | ImportResult, **options: object) -> SchemaPanel:
    """``explore(schema)`` (or an import result: its schema)."""
    schema = subject.schema if isinstance(subject, ImportResult) else subject
    return SchemaPanel(schema, **options)
