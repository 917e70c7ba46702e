"""ER diagrams of the schema model (Graphviz: SVG, PNG, PDF) and its Mermaid and DBML text."""

from workbench.diagram.dbml import to_dbml
from workbench.diagram.er import ERDiagram, er_diagram
from workbench.diagram.mermaid import to_mermaid

__all__ = ["ERDiagram", "er_diagram", "to_dbml", "to_mermaid"]
