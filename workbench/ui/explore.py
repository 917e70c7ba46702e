"""``explore(thing)``: the interactive panel for a schema, a loaded domain, study results, index advice, a
migration plan, cache simulation results or a tenancy proof.

Each kind of panel is one module with a ``panel(subject, **options)`` function, named here against
the class it explores; a new capability gets its panel by adding a module and a line (the modules are
imported on first use, so ``import workbench`` does not load ipywidgets).
"""

from __future__ import annotations

import importlib
from typing import Any

from workbench.errors import WorkbenchError

PANELS = {  # "module.Class" of what is explored -> the module of its panel
    "workbench.schema.model.Schema": "workbench.ui.schema_panel",
    "workbench.ddl.report.ImportResult": "workbench.ui.schema_panel",
    "workbench.domains.Domain": "workbench.ui.data_panel",
    "workbench.bench.results.Results": "workbench.ui.results_panel",
    "workbench.advisor.advice.Advice": "workbench.ui.advice_panel",
    "workbench.migrate.plan.Migration": "workbench.ui.migration_panel",
    "workbench.cache.results.CacheResults": "workbench.ui.cache_panel",
    "workbench.security.prove.Proof": "workbench.ui.tenancy_panel",
}


def explore(subject: Any, **options: Any) -> Any:
    """An interactive panel for ``subject``: a Schema (or ImportResult), a Domain (``engine=...``), study
    Results, index Advice, a Migration, CacheResults or a Proof; ``options`` go to the panel (e.g.
    ``table="orders"``)."""
    for kind in type(subject).__mro__:
        module = PANELS.get(f"{kind.__module__}.{kind.__qualname__}")
        if module is not None:
            return importlib.import_module(module).panel(subject, **options)
    kinds = ", ".join(name.rsplit(".", 1)[1] for name in PANELS)
    raise WorkbenchError(f"explore() has no panel for a {type(subject).__name__}; it takes a {kinds}")
