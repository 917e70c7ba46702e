"""What every panel shares: controls that redraw the views, a message line, a static view for stored notebooks.

A panel is a thin layer over functions that exist anyway: a subclass builds its controls and views
(``ipywidgets``), and ``update()`` recomputes the views from the controls' values. Whatever goes wrong
in ``update()`` (a choice with no data, a closed engine) shows as a message inside the panel, never as
a traceback. Displayed, a panel gives the live widget and, for places where widgets are not live (an
untrusted or exported notebook, nbval), an HTML view of what it showed, pictures as PNG.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as widgets
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from workbench.errors import WorkbenchError
from workbench.safe_display import figure_png, img_tag, safe_html

PLOT_SIZE = (7.0, 3.6)  # inches: fits a laptop screen beside nothing, or half of a wide one
STYLES = {"error": "color:#b00020", "note": "color:#8a6d00", "info": "opacity:0.75"}


class NoData(WorkbenchError):
    """A control is set to a value that has nothing to show (the panel says so and what to pick instead)."""


class Panel:
    """Controls on top, a message line, views below; ``refresh()`` runs after every change of a control."""

    title = "panel"

    def __init__(self) -> None:
        self.message = widgets.HTML()
        self.note = ""  # the message line as plain text ("" when all is well)
        self.controls: dict[str, widgets.ValueWidget] = {}
        self.widget: widgets.Box = widgets.VBox()
        self.pictures: dict[str, Callable[[], bytes]] = {}  # each picture shown, as PNG, for the static view
        self.updates = 0  # completed refreshes, for tests and callers waiting on a redraw

    # -- what a subclass supplies --------------------------------------------------------------------

    def update(self) -> str | None:
        """Recompute the views from the controls; return a note to show with them, or raise NoData (nothing
        to show for these values) or WorkbenchError (something failed) to show a message instead."""
        raise NotImplementedError

    def static_html(self) -> str:
        """The current views as HTML (pictures as PNG ``<img>``), for where widgets are not live."""
        raise NotImplementedError

    # -- shared behaviour ----------------------------------------------------------------------------

    def assemble(self, controls: Iterable[widgets.Widget], views: Iterable[widgets.Widget], *,
                 watch: Iterable[str] | None = None) -> None:
        """Lay the panel out (title, rows of controls, the message line, the views) and redraw when a control
        in ``watch`` (default: all) changes."""
        heading = widgets.HTML(f"<b>{html.escape(self.title)}</b>")
        self.widget.children = (heading, *controls, self.message, *views)
        for name in self.controls if watch is None else watch:
            self.controls[name].observe(self._changed, names="value")

    def refresh(self) -> None:
        """Redraw from the controls; a problem becomes the panel's message (the views keep their last state)."""
        try:
            note = self.update()
        except WorkbenchError as problem:
            self.say(str(problem), "note" if isinstance(problem, NoData) else "error")
        except Exception as error:  # a panel never shows a traceback; the message says what failed
            self.say(f"could not update the panel: {type(error).__name__}: {error}", "error")
        else:
            self.say(note or "", "note")
        self.updates += 1

    def say(self, text: str, kind: str = "info") -> None:
        self.note = text
        self.message.value = "" if not text else (
            f"<div style='{STYLES[kind]};white-space:pre-wrap'>{html.escape(text)}</div>")

    def set(self, **values: Any) -> Panel:
        """Set controls by name (as a person would, one after another); returns the panel."""
        for name, value in values.items():
            if name not in self.controls:
                raise WorkbenchError(f"{self.title} has no control {name!r}; it has: {', '.join(self.controls)}")
            self.controls[name].value = value
        return self

    def show(self, name: str, image: widgets.Image, png: bytes | Callable[[], bytes], *,
             svg: str | None = None) -> None:
        """Put a picture in ``image``: the SVG where given (crisp), else the PNG; the PNG (or the function that
        renders it, run only for the static view) is kept as the picture ``name``."""
        self.pictures[name] = png if callable(png) else lambda: png
        if svg is not None:
            image.format, image.value = "svg+xml", svg.encode("utf-8")
        else:
            image.format, image.value = "png", self.pictures[name]()

    def picture_html(self, name: str, alt: str) -> str:
        """The picture ``name`` as an ``<img>`` (empty when none was shown yet)."""
        render = self.pictures.get(name)
        return img_tag(render(), alt) if render else ""

    def _changed(self, _change: dict) -> None:
        self.refresh()

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_() or {}
        bundle["text/html"] = safe_html(type(self).static_html, self)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        state = ", ".join(f"{name}={_shown(getattr(control, 'label', control.value))}"
                          for name, control in self.controls.items())
        return f"<{type(self).__name__} {state}>"


def plot_png(draw: Callable[[Axes], Any], size: tuple[float, float] = PLOT_SIZE) -> bytes:
    """Draw on a fresh figure (not pyplot's, so nothing else shows in the notebook) and return its PNG."""
    figure = Figure(figsize=size)
    draw(figure.subplots())
    return figure_png(figure)


def mark(ax: Axes, x: float, y: float, label: str) -> Axes:
    """Ring the point the controls chose on a curve (and a dotted line through it), with ``label`` in the legend."""
    ax.axvline(x, color="tab:red", linewidth=1, linestyle=":")
    ax.plot([x], [y], marker="o", markersize=10, markerfacecolor="none", color="tab:red", label=label)
    ax.legend(fontsize="small")
    return ax


def image() -> widgets.Image:
    return widgets.Image(layout=widgets.Layout(max_width="100%", height="auto"))


def html_box(width: str | None = None) -> widgets.HTML:
    return widgets.HTML(layout=widgets.Layout(width=width) if width else widgets.Layout())


def _shown(value: Any) -> str:
    return repr(list(value)) if isinstance(value, tuple) else repr(value)
