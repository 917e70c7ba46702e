"""The data design workbench: one schema model, many views, measured answers.

The curated API a notebook needs: sketch or import a schema (``sketch``, ``from_ddl``), see it
(``er_diagram``), translate it (``to_ddl``), fill it with data (``generate``, or a sample ``domain``),
load it into DuckDB or PostgreSQL (``connect``), compare designs (``Study``), read plans (``explain``),
and get advice (``lint``, ``advise``); ``explore`` opens an interactive panel on any of them.
``__all__`` stays sorted.
"""

from workbench.advisor import advise, lint, lint_workload
from workbench.bench import IndexSpec, Study, Variant
from workbench.datagen import generate
from workbench.ddl import ImportResult, import_ddl
from workbench.ddl.export import to_ddl
from workbench.diagram import er_diagram, to_dbml, to_mermaid
from workbench.domains import domain, domains
from workbench.engines import connect
from workbench.errors import WorkbenchError
from workbench.plans import explain
from workbench.schema.dbml import from_dbml
from workbench.schema.model import Schema, Table
from workbench.schema.sketch import sketch
from workbench.ui import explore
from workbench.ui.display import register as _register_display
from workbench.workload import Workload

from_ddl = import_ddl

__all__ = [
    "ImportResult",
    "IndexSpec",
    "Schema",
    "Study",
    "Table",
    "Variant",
    "WorkbenchError",
    "Workload",
    "advise",
    "connect",
    "domain",
    "domains",
    "er_diagram",
    "explain",
    "explore",
    "from_dbml",
    "from_ddl",
    "generate",
    "import_ddl",
    "lint",
    "lint_workload",
    "sketch",
    "to_dbml",
    "to_ddl",
    "to_mermaid",
]

_register_display()
