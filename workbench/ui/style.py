"""How the lessons' notebooks show figures and tables: readable in a dark theme, sized for a laptop, stable.

``notebook_style()`` sets, for this kernel only: white figure backgrounds (a transparent one lets
black labels vanish on a dark theme), a figure size that fits a laptop screen, SVG output that is
the same on every run (``svg.hashsalt``), and floats in tables with three significant digits and
thousands separators instead of six decimals.
"""

from __future__ import annotations

import math

import matplotlib
import pandas as pd

FIGSIZE = (8.0, 3.6)  # inches at 100 dpi: 800 pixels, the width of a notebook cell on a laptop


def significant(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits, thousands separated, never in exponent form."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


def notebook_style() -> None:
    """Apply the lessons' display settings to this kernel (see the module docstring)."""
    matplotlib.rcParams.update({
        "figure.facecolor": "white", "savefig.facecolor": "white", "figure.figsize": FIGSIZE, "figure.dpi": 100,
        "svg.hashsalt": "workbench", "axes.titlesize": "medium",
    })
    pd.set_option("display.float_format", significant)
