"""Rich display that never raises, and pictures that show in any notebook: PNG, or PNG inside HTML.

A stored notebook opens *untrusted* in JupyterLab, which then skips SVG and sanitizes HTML (dropping
inline SVG), so every picture carries a PNG: on its own in the display bundle, or as an ``<img>``
inside HTML (the sanitizer keeps ``data:`` images).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from matplotlib.figure import Figure

T = TypeVar("T")
PLOT_DPI = 100


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


def png_base64(png: bytes) -> str:
    """PNG bytes as the base64 text a display bundle's ``image/png`` holds."""
    return base64.b64encode(png).decode("ascii")


def img_tag(png: bytes, alt: str) -> str:
    """An ``<img>`` holding the PNG itself (a ``data:`` URI), for HTML that must show a picture untrusted."""
    return (f'<img src="data:image/png;base64,{png_base64(png)}" alt="{html.escape(alt, quote=True)}" '
            f'style="max-width:100%">')


def figure_png(figure: Figure, *, dpi: int = PLOT_DPI) -> bytes:
    """A matplotlib figure as PNG bytes on a white background (readable in a dark theme), without the
    software stamp, so the same figure gives the same bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white",
                   metadata={"Software": None})
    return buffer.getvalue()
