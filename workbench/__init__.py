"""The data design workbench: one schema model, many views, measured answers.

The curated API a notebook needs: sketch or import a schema (``sketch``, ``from_ddl``), see it
(``er_diagram``), translate it (``to_ddl``), fill it with data (``generate``, or a sample ``domain``),
load it into DuckDB or PostgreSQL (``connect``), compare designs (``Study``), read plans (``explain``),
get advice (``lint``, ``advise``), evolve a design (``diff``, ``plan_migration``), measure a cache in front
of it (``cache.trace``, ``cache.simulate``, ``cache.replay``) and isolate tenants (``security``);
``explore`` opens an interactive panel on any of them.
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
from workbench.migrate import diff, plan_migration
from workbench.plans import explain
from workbench.schema.dbml import from_dbml
from workbench.schema.model import Schema, Table
from workbench.schema.sketch import sketch
from workbench.sqlglot_log import install as _quiet_sqlglot_fallbacks
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
    "cache",
    "connect",
    "diff",
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
    "plan_migration",
    "security",
    "sketch",
    "to_dbml",
    "to_ddl",
    "to_mermaid",
]

_register_display()
_quiet_sqlglot_fallbacks()


def __getattr__(name: str) -> object:
    """``wb.cache`` (libCacheSim, the Redis client) and ``wb.security`` load on first use only."""
    if name in ("cache", "security"):
        import importlib

        return importlib.import_module(f"workbench.{name}")
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
