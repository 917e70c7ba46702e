"""Rich display that never raises: a notebook cell must show something, even when rendering fails."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def safe_html(render: Callable[[T], str], obj: T) -> str:
    """``render(obj)``, or the object's repr and the reason when rendering raised."""
    try:
        return render(obj)
    except Exception as error:  # display must never raise: show what there is and why
        try:
            shown = repr(obj)
        except Exception:
            shown = object.__repr__(obj)
        return (f"<pre>{html.escape(shown)}</pre><p><i>could not render as HTML: "
                f"{html.escape(type(error).__name__)}: {html.escape(str(error))}</i></p>")
