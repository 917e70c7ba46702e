"""Find a ``dot`` renderer and run it in a subprocess with a time limit.

The system Graphviz ``dot`` is preferred; without it the ``graphviz-pure`` wheel (a port of dot
installed next to the Python interpreter) does the work. Rendering runs in a subprocess so that a
layout that takes too long can be stopped, which the ``graphviz`` package's ``pipe`` cannot do.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import graphviz

from workbench.errors import WorkbenchError

ENGINES = ("dot", "neato", "fdp", "sfdp", "circo", "twopi", "osage")
NATIVE_FORMATS = ("svg", "png", "dot", "json")
PDF_DPI = 150


class RendererNotFoundError(WorkbenchError):
    """Neither a system ``dot`` nor the ``graphviz-pure`` executable could be found."""


class RenderError(WorkbenchError):
    """The renderer failed on a graph; the message carries its own error output."""


@dataclass(frozen=True)
class Renderer:
    """A dot executable: its path and whether it is the pure port (which needs workarounds)."""

    path: Path
    pure: bool

    @property
    def name(self) -> str:
        return "graphviz-pure" if self.pure else "graphviz dot"


@dataclass(frozen=True)
class Output:
    """What one renderer run produced: bytes on stdout, its exit code, its warnings and its time."""

    data: bytes
    returncode: int
    stderr: str
    seconds: float


@functools.cache
def find_renderer() -> Renderer:
    """The system ``dot`` if installed, else ``graphviz-pure``; also points the graphviz package at it."""
    system = shutil.which("dot")
    if system:
        found = Renderer(Path(system), pure=False)
    else:
        beside = Path(sys.executable).parent / "graphviz-pure"
        pure = str(beside) if beside.exists() else shutil.which("graphviz-pure")
        if pure is None:
            raise RendererNotFoundError(
                "no Graphviz renderer: neither `dot` on PATH nor `graphviz-pure` next to "
                f"{sys.executable}; fix: pip install graphviz-pure (or apt-get install graphviz)")
        found = Renderer(Path(pure), pure=True)
    graphviz.backend.dot_command.DOT_BINARY = found.path
    return found


def run(source: str, fmt: str, *, engine: str = "dot", args: tuple[str, ...] = (),
        timeout: float | None = None) -> Output:
    """Run the renderer on DOT ``source``; raises ``subprocess.TimeoutExpired`` past ``timeout``."""
    renderer = find_renderer()
    command = [str(renderer.path), f"-K{engine}", f"-T{fmt}", *args]
    started = time.perf_counter()
    done = subprocess.run(command, input=source.encode("utf-8"), capture_output=True, timeout=timeout, check=False)
    return Output(done.stdout, done.returncode, done.stderr.decode("utf-8", "replace"), time.perf_counter() - started)


def convert(source: str, fmt: str, *, engine: str, args: tuple[str, ...], timeout: float | None) -> bytes:
    """Render ``source`` to ``fmt`` bytes; PDF comes from the PNG when the renderer cannot write PDF."""
    renderer = find_renderer()
    if fmt == "pdf" and renderer.pure:
        png = convert(source, "png", engine=engine, args=(*args, f"-Gdpi={PDF_DPI}"), timeout=timeout)
        return png_to_pdf(png)
    output = run(source, fmt, engine=engine, args=args, timeout=timeout)
    if not output.data:
        raise RenderError(f"{renderer.name} wrote no {fmt} (exit code {output.returncode}): {output.stderr.strip()}")
    return output.data


def png_to_pdf(png: bytes) -> bytes:
    """A one-page PDF holding the PNG (a raster PDF: graphviz-pure has no vector PDF writer)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PDF", resolution=PDF_DPI)
    return buffer.getvalue()
