"""Rich display in Jupyter: a Schema shows its ER diagram, a Table its columns, keys and indexes.

The model sits at the bottom of the package and knows nothing of diagrams or HTML, so the
formatters are attached here, at the top, through IPython's display-formatter registry.
Display never raises: a failure falls back to the plain repr with a warning that says why.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from workbench.diagram import er_diagram
from workbench.schema.html import table_html
from workbench.schema.model import Schema, Table


def _never_raise(render: Callable[[Any], str]) -> Callable[[Any], str | None]:
    def safe(obj: Any) -> str | None:
        try:
            return render(obj)
        except Exception as error:  # display must never raise; the plain repr still shows
            warnings.warn(f"could not display {type(obj).__name__}: {error}", stacklevel=2)
            return None

    return safe


def _schema_svg(schema: Schema) -> str:
    return er_diagram(schema).svg()


def register(shell: Any | None = None) -> bool:
    """Attach the workbench's rich displays to the running IPython shell; False outside IPython."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    formatters = shell.display_formatter.formatters
    formatters["image/svg+xml"].for_type(Schema, _never_raise(_schema_svg))
    formatters["text/html"].for_type(Table, _never_raise(table_html))
    return True
