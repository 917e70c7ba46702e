"""Build the DOT graph of an ER diagram: one node per table, one crow's-foot edge per foreign key."""

from __future__ import annotations

from dataclasses import dataclass, field

import graphviz

from workbench.diagram.labels import HEADER_PORT, missing_label, table_label, view_label
from workbench.diagram.relations import Relationship
from workbench.schema.model import Schema, Table, View


@dataclass(frozen=True)
class Style:
    """How to draw: what each table shows, direction, and whether edges attach to column ports."""

    columns: str = "all"
    show_types: bool = True
    show_indexes: bool = False
    rankdir: str = "LR"
    ports: bool = True


@dataclass(frozen=True)
class Content:
    """What to draw: the tables, their relationships, views, and the cluster of each table key."""

    schema: Schema
    tables: tuple[Table, ...]
    relationships: tuple[Relationship, ...]
    views: tuple[View, ...] = ()
    clusters: dict[str, str] = field(default_factory=dict)

    @property
    def edge_count(self) -> int:
        return len(self.relationships) + sum(len(self.view_targets(v)) for v in self.views)

    def view_targets(self, view: View) -> list[str]:
        """Keys of the drawn tables and views that ``view`` reads."""
        drawn = {t.key for t in self.tables} | {v.key for v in self.views}
        targets = []
        for name in view.depends_on:
            table = self.schema.find_table(name)
            key = table.key if table is not None else name
            if key in drawn and key not in targets:
                targets.append(key)
        return targets


def arrows(rel: Relationship) -> tuple[str, str]:
    """(child end, parent end) arrow shapes; the first shape of a name sits next to the node."""
    child = ("crow" if rel.child_many else "tee") + ("odot" if rel.optional else "tee")
    parent = "tee" + ("odot" if rel.optional else "tee")
    return child, parent


def build(content: Content, style: Style, name: str = "er") -> graphviz.Digraph:
    """The DOT graph; node ids are generated (``t0``, ``v0``, ``x0``) and every edge has an ``id``."""
    graph = graphviz.Digraph(name, graph_attr={"rankdir": style.rankdir, "nodesep": "0.3", "ranksep": "0.7"},
                             node_attr={"shape": "plain", "fontname": "Helvetica", "fontsize": "11"},
                             edge_attr={"fontname": "Helvetica", "dir": "both", "arrowsize": "0.8"})
    ids = {t.key: f"t{i}" for i, t in enumerate(content.tables)}
    ids |= {v.key: f"v{i}" for i, v in enumerate(content.views)}
    ports: dict[str, dict[str, str]] = {}
    nodes: dict[str | None, list[tuple[str, dict[str, str]]]] = {}
    for table in content.tables:
        label = table_label(table, columns=style.columns, show_types=style.show_types,
                            show_indexes=style.show_indexes)
        ports[table.key] = label.ports
        nodes.setdefault(content.clusters.get(table.key), []).append(
            (ids[table.key], {"label": label.html, "tooltip": _plain(table.key)}))
    for view in content.views:
        nodes.setdefault(content.clusters.get(view.key), []).append(
            (ids[view.key], {"label": view_label(view), "tooltip": _plain(view.key)}))
    for missing in dict.fromkeys(r.parent_key for r in content.relationships if r.parent is None):
        ids[missing] = f"x{len(ids)}"
        nodes.setdefault(None, []).append((ids[missing], {"label": missing_label(missing), "tooltip": _plain(missing)}))
    for number, (cluster, members) in enumerate(nodes.items()):
        if cluster is None:
            for node_id, attrs in members:
                graph.node(node_id, **attrs)
            continue
        with graph.subgraph(name=f"cluster_{number}") as sub:
            sub.attr(label=_plain(cluster), style="rounded", color="#9aa7b5", fontname="Helvetica")
            for node_id, attrs in members:
                sub.node(node_id, **attrs)
    for n, rel in enumerate(content.relationships):
        child_end, parent_end = arrows(rel)
        tail = _endpoint(ids[rel.child.key], ports.get(rel.child.key, {}), rel.fk.columns, style.ports)
        head = _endpoint(ids[rel.parent_key], ports.get(rel.parent_key, {}), rel.fk.ref_columns, style.ports)
        graph.edge(tail, head, id=f"fk{n}", arrowtail=child_end, arrowhead=parent_end,
                   style="dashed" if rel.parent is None else "solid",
                   tooltip=_plain(f"{rel.child.key}({', '.join(rel.fk.columns)}) -> "
                                  f"{rel.parent_key}({', '.join(rel.fk.ref_columns)})"))
    for n, view in enumerate(content.views):
        for m, target in enumerate(content.view_targets(view)):
            graph.edge(ids[view.key], ids[target], id=f"view{n}_{m}", style="dashed", dir="forward",
                       arrowhead="vee", color="#888888")
    return graph


def _endpoint(node_id: str, ports: dict[str, str], columns: tuple[str, ...], use_ports: bool) -> str:
    if not use_ports:
        return node_id
    port = next((ports[c] for c in columns if c in ports), HEADER_PORT)
    return f"{node_id}:{port}"


def _plain(text: str) -> str:
    """A plain (non-HTML) DOT string: backslashes and quotes escaped so Graphviz reads them literally."""
    return graphviz.nohtml(text.replace("\\", "\\\\").replace('"', '\\"'))
