"""Where notebooks and panels write files: ``out/`` beside the notebook, which JupyterLab's file browser shows.

A kernel started by JupyterLab (and by nbval or nbconvert) runs in the notebook's folder, so paths
relative to the working directory are both reachable in the file browser and links that open there.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

OUT = "out"


def output_folder(*parts: str) -> Path:
    """``out/<parts>`` under the working directory, created; e.g. ``output_folder("search")`` for a study."""
    folder = Path.cwd().joinpath(OUT, *parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def link(path: Path, text: str | None = None) -> str:
    """An HTML link to ``path``, relative to the working directory when inside it (opens in JupyterLab)."""
    try:
        target = Path(os.path.relpath(path, Path.cwd())).as_posix()
    except ValueError:  # another drive (Windows)
        target = path.as_posix()
    if target.startswith(".."):
        target = path.resolve().as_uri()
    return f"<a href='{html.escape(target, quote=True)}' target='_blank'>{html.escape(text or path.name)}</a>"
