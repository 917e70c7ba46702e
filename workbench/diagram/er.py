"""ER diagrams of a schema: choose what to draw, then lay it out within a time limit.

A layout that runs past its share of the time limit, or that comes back missing edges (graphviz-pure
drops some column-port edges with ``rankdir=LR``), is retried in simpler steps, each one recorded in
``ERDiagram.fallbacks``, so a large or hub-heavy schema always yields a drawing and says what it gave up.
"""

from __future__ import annotations

import re
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

from workbench.diagram import renderer
from workbench.diagram.dbml import to_dbml
from workbench.diagram.dot import Content, Style, build
from workbench.diagram.labels import COLUMN_MODES
from workbench.diagram.mermaid import to_mermaid
from workbench.diagram.relations import neighbourhood, relationships
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.safe_display import png_base64
from workbench.schema.model import Schema, Table, View

GROUPINGS = ("schema", "area")
RANKDIRS = ("LR", "TB", "RL", "BT")
SUFFIXES = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid",
            ".dbml": "dbml"}
LIMITS = ("-Gmclimit=0.1", "-Gnslimit=0.5", "-Gnslimit1=0.5", "-Gsearchsize=10", "-Gsplines=line")
BIG = 60  # tables above which the "key columns only" step is worth taking
LAST_RESORT_FLOOR = 15.0  # seconds the final, trivial layout always gets
RASTER_FLOOR = 120.0  # seconds a PNG or PDF of an already working layout may take
DISPLAY_INCHES = "40,40"  # a displayed PNG is scaled down to fit (a file written by render() is not)
SVG_NS = "{http://www.w3.org/2000/svg}"


class DiagramError(WorkbenchError):
    """A diagram that could not be drawn even with the simplest layout."""


@dataclass(frozen=True)
class Attempt:
    """One way of laying out the diagram, and the simplification it stands for."""

    step: str
    style: Style
    engine: str
    args: tuple[str, ...] = ()
    missing_edges_only: bool = False  # worth trying after missing edges, pointless after a timeout


@dataclass(frozen=True)
class Layout:
    attempt: Attempt
    svg: str
    fallbacks: tuple[str, ...]


class ERDiagram:
    """An ER diagram: ``.source`` is its DOT, ``.svg()`` draws it, ``.render(path)`` writes a file."""

    def __init__(self, content: Content, style: Style, engine: str, time_limit: float, title: str):
        self.content, self.style, self.engine, self.time_limit, self.title = content, style, engine, time_limit, title
        self._layout: Layout | None = None
        self.render_notes: tuple[str, ...] = ()  # what the last render gave up (e.g. a PNG drawn smaller)
        self._png: bytes | None = None

    @property
    def source(self) -> str:
        """DOT text of the diagram as requested (before any fallback)."""
        return build(self.content, self.style).source

    @property
    def layout_used(self) -> str:
        """The engine and options of the drawing actually produced, e.g. ``dot`` or ``sfdp, key columns``."""
        attempt = self.layout().attempt
        return attempt.engine if attempt.step == "as requested" else f"{attempt.engine} ({attempt.step})"

    @property
    def fallbacks(self) -> tuple[str, ...]:
        """Why each simplification was needed, in order; empty when the requested layout worked."""
        return self.layout().fallbacks

    def svg(self) -> str:
        return self.layout().svg

    def png(self) -> bytes:
        """The drawing as PNG for display (rendered once, then kept), scaled down to fit 40 x 40 inches."""
        if self._png is None:
            self._png = self._raster("png", (f"-Gsize={DISPLAY_INCHES}",))
        return self._png

    def layout(self) -> Layout:
        """Lay out once (cached), stepping down the fallback ladder while attempts fail."""
        if self._layout is None:
            self._layout = _lay_out(self.content, self._ladder(), self.time_limit)
        return self._layout

    def _ladder(self) -> list[Attempt]:
        style, engine = self.style, self.engine
        steps = [Attempt("as requested", style, engine)]
        if style.ports and style.rankdir in ("LR", "RL"):
            steps.append(Attempt("rankdir=TB", replace(style, rankdir="TB"), engine, missing_edges_only=True))
        style = replace(style, ports=False)
        args = LIMITS if engine == "dot" else ()
        steps.append(Attempt("no column ports" + (", layout limits" if args else ""), style, engine, args))
        if style.columns == "all" and len(self.content.tables) > BIG:
            steps.append(Attempt("key columns only", replace(style, columns="keys"), engine, args))
        steps.append(Attempt("osage grid", style, "osage", ("-Gsplines=line",)))
        return steps

    def render(self, path: str | Path) -> Path:
        """Write the diagram; the format comes from the suffix (.svg .png .pdf .dot .mmd .dbml)."""
        path = Path(path)
        kind = output_format(path)
        if kind in ("mermaid", "dbml"):
            schema = self.content.schema.with_tables(self.content.tables)
            path.write_text(to_mermaid(schema) if kind == "mermaid" else to_dbml(schema), encoding="utf-8")
            return path
        attempt = self.layout().attempt
        if kind == "svg":
            path.write_text(self.svg(), encoding="utf-8")
        elif kind == "dot":
            path.write_text(build(self.content, attempt.style).source, encoding="utf-8")
        else:
            try:
                dpi, note = renderer.raster_dpi(kind, *svg_size(self.svg()))
            except renderer.TooLargeError as error:
                raise renderer.TooLargeError(f"{path}: {error}") from None
            path.write_bytes(self._raster(kind, dpi=dpi))
            self.render_notes = (note,) if note else ()
        return path

    def _raster(self, kind: str, extra: tuple[str, ...] = (), dpi: float | None = None) -> bytes:
        attempt = self.layout().attempt
        return renderer.convert(build(self.content, attempt.style).source, kind, engine=attempt.engine,
                                args=(*attempt.args, *extra), timeout=max(self.time_limit, RASTER_FLOOR), dpi=dpi)

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        """SVG for a trusted notebook, PNG for an untrusted one (which refuses SVG); never raises."""
        try:
            bundle = {"image/svg+xml": self.svg(), "text/plain": repr(self)}
        except Exception as error:  # display never raises: explain instead
            return {"text/plain": f"could not draw the ER diagram: {type(error).__name__}: {error}"}
        try:
            bundle["image/png"] = png_base64(self.png())
        except Exception as error:  # the SVG still shows where the notebook is trusted
            bundle["text/plain"] += f" (no PNG: {type(error).__name__}: {error})"
        return bundle

    def __repr__(self) -> str:
        shown = f"{len(self.content.tables)} tables, {len(self.content.relationships)} foreign keys"
        views = f", {len(self.content.views)} views" if self.content.views else ""
        state = "" if self._layout is None else f", layout {self.layout_used}"
        return f"<ERDiagram {self.title}: {shown}{views}{state}>"


def output_format(path: Path) -> str:
    """The format a diagram file is written in, from its suffix; unknown suffixes raise with the valid ones."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UnknownNameError("diagram file suffix", path.suffix or "(none)", SUFFIXES)
    return kind


def _lay_out(content: Content, ladder: list[Attempt], time_limit: float) -> Layout:
    deadline = time.monotonic() + time_limit
    fallbacks: list[str] = []
    timed_out = False
    for number, attempt in enumerate(ladder):
        if timed_out and attempt.missing_edges_only:
            continue
        last = number == len(ladder) - 1
        remaining = deadline - time.monotonic()
        timeout = max(remaining, LAST_RESORT_FLOOR) if last else max(remaining / 2, 0.01)
        source = build(content, attempt.style).source
        try:
            output = renderer.run(source, "svg", engine=attempt.engine, args=attempt.args, timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            problem = f"{attempt.engine} ({attempt.step}) timed out after {timeout:.2f} s"
        else:
            svg = output.data.decode("utf-8", "replace")
            drawn = count_edges(svg)
            if drawn == content.edge_count:
                return Layout(attempt, svg, tuple(fallbacks))
            timed_out = False
            problem = (f"{attempt.engine} ({attempt.step}) drew {drawn} of {content.edge_count} edges "
                       f"(exit code {output.returncode}: {output.stderr.strip()[:200]})")
        fallbacks.append(problem)
    raise DiagramError(f"could not draw the diagram: {'; '.join(fallbacks)}; fix: draw less, e.g. "
                       f"focus='<table>', depth=1, or raise time_limit (was {time_limit} s)")


def svg_size(svg: str) -> tuple[float, float]:
    """Width and height of a Graphviz SVG in points (its ``width="123pt"`` attributes); 0 when unreadable."""
    try:
        root = ET.fromstring(svg)
    except ET.ParseError:
        return 0.0, 0.0
    sizes = [re.match(r"[\d.]+", root.get(name) or "") for name in ("width", "height")]
    return tuple(float(m.group()) if m else 0.0 for m in sizes)  # type: ignore[return-value]


def count_edges(svg: str) -> int:
    """Edges that Graphviz actually drew (an edge group holding a path) in an SVG; 0 if it does not parse."""
    try:
        root = ET.fromstring(svg)
    except ET.ParseError:
        return 0
    return sum(1 for g in root.iter(f"{SVG_NS}g")
               if g.get("class") == "edge" and g.find(f".//{SVG_NS}path") is not None)


def _check_choice(kind: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UnknownNameError(kind, str(value), choices)


def _clusters(schema: Schema, tables: tuple[Table, ...], views: tuple[View, ...], group_by: str | None,
              areas: dict[str, list[str]] | None) -> dict[str, str]:
    if group_by == "schema":
        keys = {t.key: t.schema or "(default)" for t in tables} | {v.key: v.schema or "(default)" for v in views}
        return keys if len(set(keys.values())) > 1 else {}
    if group_by != "area":
        return {}
    chosen = areas if areas is not None else schema.subject_areas
    drawn = {t.key for t in tables}
    clusters: dict[str, str] = {}
    for area, names in chosen.items():
        for name in names:
            table = schema.find_table(name)
            if table is None:
                raise UnknownNameError(f"table in subject area {area!r}", name, [t.key for t in schema.tables])
            if table.key in drawn:
                clusters.setdefault(table.key, area)
    return clusters


def er_diagram(schema: Schema, *, focus: str | None = None, depth: int = 1, group_by: str | None = "schema",
               areas: dict[str, list[str]] | None = None, columns: str = "all", show_types: bool = True,
               show_indexes: bool = False, show_views: bool = True, layout: str = "dot", rankdir: str = "LR",
               time_limit: float = 20.0) -> ERDiagram:
    """An ER diagram of ``schema``, or of ``focus`` and its neighbours within ``depth`` foreign-key hops."""
    _check_choice("group_by", group_by, (*GROUPINGS, None))  # type: ignore[arg-type]
    _check_choice("columns mode", columns, COLUMN_MODES)
    _check_choice("layout engine", layout, renderer.ENGINES)
    _check_choice("rankdir", rankdir, RANKDIRS)
    if depth < 0:
        raise WorkbenchError(f"depth must be 0 or more, got {depth}; fix: depth=1 draws the direct neighbours")
    tables = schema.tables if focus is None else neighbourhood(schema, focus, depth)
    drawn = {t.key for t in tables}
    rels = tuple(r for r in relationships(schema, tables) if r.parent is None or r.parent.key in drawn)
    views: tuple[View, ...] = ()
    if show_views:
        views = tuple(v for v in schema.views if focus is None or any(
            (t := schema.find_table(d)) is not None and t.key in drawn for d in v.depends_on))
    content = Content(schema, tables, rels, views, _clusters(schema, tables, views, group_by, areas))
    title = repr(schema.name) if schema.name else "schema"
    if focus is not None:
        title += f" around {focus!r} (depth {depth})"
    style = Style(columns=columns, show_types=show_types, show_indexes=show_indexes, rankdir=rankdir)
    return ERDiagram(content, style, layout, time_limit, title)
