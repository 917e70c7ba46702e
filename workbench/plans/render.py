"""Draw a plan as a tree: each operator shaded by its share of the time, misestimates outlined in red.

The drawing is a ``graphviz.Digraph`` laid out top-down (the root on top, rows flowing up the edges).
Rendering goes through :mod:`workbench.diagram.renderer`, which finds the system ``dot`` or the
``graphviz-pure`` port, so the Digraph's own Jupyter display works without a system Graphviz too.
Labels stay ASCII (graphviz-pure has no metrics for other characters).
"""

from __future__ import annotations

import contextlib
import html
from typing import TYPE_CHECKING

import graphviz

from workbench.diagram import renderer
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.plans.model import Plan, PlanNode

SHADES = ("#ffffff", "#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913")  # light to dark orange
FLAG = "#d00000"
FONT = "Helvetica"
RENDER_SECONDS = 60.0
DETAIL_KEYS = ("Filter", "Index Cond", "Recheck Cond", "Hash Cond", "Join Filter", "Merge Cond", "Sort Key",
               "Group Key", "Filters", "Conditions", "Join Type")


def diagram(plan: Plan, factor: float) -> graphviz.Digraph:
    """The plan tree; nodes whose row estimate is off by ``factor`` or more get a red border and a note."""
    with contextlib.suppress(renderer.RendererNotFoundError):  # drawing it later says what is missing
        renderer.find_renderer()  # points the graphviz package at the renderer we have
    graph = graphviz.Digraph("plan", graph_attr={
        "rankdir": "TB", "fontname": FONT, "fontsize": "11", "labelloc": "t",
        "label": _title(plan, factor),
    }, node_attr={"shape": "box", "style": "rounded,filled", "fontname": FONT, "fontsize": "10"},
        edge_attr={"dir": "back", "fontname": FONT, "fontsize": "9", "color": "#666666"})
    ids = {id(node): f"n{number}" for number, node in enumerate(plan.nodes())}
    flagged = {id(node) for node in plan.misestimates(factor)}
    for node, parent, _ in plan.root.walk():
        share = plan.share(node)
        off = id(node) in flagged
        attrs = {"fillcolor": _shade(share), "tooltip": _tooltip(node)}
        if off:
            attrs.update(color=FLAG, penwidth="2.5")
        graph.node(ids[id(node)], f"<{_label(node, share, off)}>", **attrs)
        if parent is not None:
            rows = node.actual_rows if node.actual_rows is not None else node.estimated_rows
            graph.edge(ids[id(parent)], ids[id(node)], label=_count(rows) if rows is not None else "")
    return graph


def svg(graph: graphviz.Digraph) -> str:
    """Render the diagram to SVG text; raises WorkbenchError with the renderer's message on failure."""
    return _render(graph, "svg").decode("utf-8")


def png(graph: graphviz.Digraph) -> bytes:
    """Render the diagram to PNG bytes; raises WorkbenchError with the renderer's message on failure."""
    return _render(graph, "png")


def _render(graph: graphviz.Digraph, fmt: str) -> bytes:
    output = renderer.run(graph.source, fmt, timeout=RENDER_SECONDS)
    if output.returncode != 0 or not output.data:
        raise WorkbenchError(f"{renderer.find_renderer().name} could not draw the plan "
                             f"(exit code {output.returncode}): {output.stderr.strip()[:500]}")
    return output.data


def _title(plan: Plan, factor: float) -> str:
    if not plan.analyzed:
        return f"{plan.engine} plan (not executed): rows are the planner's estimates"
    elapsed = plan.execution_ms if plan.execution_ms is not None else plan.total_ms or 0.0
    return (f"{plan.engine} plan, {elapsed:.1f} ms. Shading: share of time spent in the node itself; "
            f"red border: row estimate off {factor:g}x or more")


def _label(node: PlanNode, share: float | None, off: bool) -> str:
    lines = [f"<b>{_esc(node.operator)}</b>"]
    if node.relation:
        alias = f" {node.alias}" if node.alias and node.alias != node.relation else ""
        lines.append(f"on {_esc(node.relation + alias)}")
    if node.index:
        lines.append(f"using {_esc(node.index)}")
    if node.actual_rows is not None:
        loops = f" x{node.loops} loops" if node.loops and node.loops > 1 else ""
        lines.append(f"rows: est {_count(node.estimated_rows)}, actual {_count(node.actual_rows)}{loops}")
    elif node.estimated_rows is not None:
        lines.append(f"rows: est {_count(node.estimated_rows)}")
    if node.self_ms is not None:
        percent = f" ({share:.0%})" if share is not None else ""
        lines.append(f"self {node.self_ms:.2f} ms{percent}, total {node.total_ms:.2f} ms")
    elif node.total_cost is not None:
        lines.append(f"cost {node.total_cost:,.1f}")
    if off:
        direction = "under" if node.underestimated else "over"
        lines.append(f'<font color="{FLAG}"><b>estimate off {node.estimate_factor:,.0f}x ({direction})</b></font>')
    return "<br/>".join(lines)


def _tooltip(node: PlanNode) -> str:
    shown = [f"{key}: {node.details[key]}" for key in DETAIL_KEYS if key in node.details]
    return _ascii("\n".join([node.label, *shown]))


def _shade(share: float | None) -> str:
    if share is None or share < 0.01:
        return SHADES[0]
    return SHADES[min(1 + int(share * (len(SHADES) - 1)), len(SHADES) - 1)]


def _count(value: float | None) -> str:
    if value is None:
        return "?"
    for limit, unit, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if abs(value) >= limit:
            return f"{value / unit:.1f}{suffix}"
    return f"{value:,.0f}"


def _esc(text: str) -> str:
    return html.escape(_ascii(text))


def _ascii(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii")
