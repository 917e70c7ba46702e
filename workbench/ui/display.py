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


def _never_raise(render: Callable[..., Any]) -> Callable[..., Any]:
    def safe(obj: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return render(obj, *args, **kwargs)
        except Exception as error:  # display must never raise; the plain repr still shows
            warnings.warn(f"could not display {type(obj).__name__}: {error}", stacklevel=2)
            return None

    return safe


def _schema_bundle(schema: Schema, include: object = None, exclude: object = None) -> dict[str, str]:
    """The schema's ER diagram: SVG and PNG (see ``ERDiagram._repr_mimebundle_``)."""
    bundle = er_diagram(schema)._repr_mimebundle_()
    bundle.pop("text/plain", None)  # the schema's own repr stays the text
    return bundle


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
    shell.display_formatter.mimebundle_formatter.for_type(Schema, _never_raise(_schema_bundle))
    shell.display_formatter.formatters["text/html"].for_type(Table, _never_raise(table_html))
    return True
