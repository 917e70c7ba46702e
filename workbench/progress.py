"""Progress bars: ``tqdm.auto`` (a live widget in Jupyter, text in a terminal), stored in their final state.

A notebook bar is a widget; what a saved notebook keeps of it is the text shown when the bar appeared
(``0%``), which is all an untrusted notebook or an exported page shows. Here a notebook bar is
displayed with a display id and updated once more when it closes, so the stored text is the bar's
final state (``100%``, or where an interruption stopped it).
"""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm as _auto

if any(kind.__module__ == "tqdm.notebook" for kind in _auto.__mro__):  # a Jupyter kernel with ipywidgets
    from IPython.display import display

    class tqdm(_auto):
        """A notebook bar whose stored output ends in the bar's final state."""

        def __init__(self, *args: Any, **kwargs: Any):
            kwargs["display"] = False
            super().__init__(*args, **kwargs)
            self._handle = None if self.disable else display(self.container, display_id=True)

        def close(self) -> None:
            super().close()
            handle, self._handle = getattr(self, "_handle", None), None
            if handle is not None:
                handle.update(self.container)
else:
    tqdm = _auto

__all__ = ["tqdm"]
