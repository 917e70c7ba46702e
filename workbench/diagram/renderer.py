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
PNG_DPI = 96  # Graphviz's own default
MAX_PIXELS = 64_000_000  # about 256 MB of RGBA while the renderer draws: a raster past it is drawn smaller
MAX_SIDE = 32_767  # pixels per side that cairo (and most image viewers) can handle
MIN_DPI = 18  # below this, table and column names cannot be read: refuse instead of drawing a blur


class RendererNotFoundError(WorkbenchError):
    """Neither a system ``dot`` nor the ``graphviz-pure`` executable could be found."""


class RenderError(WorkbenchError):
    """The renderer failed on a graph; the message carries its own error output."""


class TooLargeError(WorkbenchError):
    """A raster (PNG, or PDF through PNG) that would be too large to draw even at the smallest readable size."""


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


def raster_dpi(fmt: str, width_pt: float, height_pt: float) -> tuple[float | None, str | None]:
    """The resolution to draw a ``width_pt`` x ``height_pt`` layout at in ``fmt`` (None for vector output), and a
    note when it had to be lowered to keep the image within :data:`MAX_PIXELS` and :data:`MAX_SIDE`.

    Estimated before drawing, because a renderer asked for a raster past its memory aborts instead of failing.
    """
    if fmt not in ("png", "pdf") or (fmt == "pdf" and not find_renderer().pure):
        return None, None
    wanted = PDF_DPI if fmt == "pdf" else PNG_DPI
    width, height = (max(size * wanted / 72, 1.0) for size in (width_pt, height_pt))
    fit = min(1.0, MAX_SIDE / max(width, height), (MAX_PIXELS / (width * height)) ** 0.5)
    if fit == 1.0:
        return wanted, None
    size = f"{width:,.0f} x {height:,.0f} px ({width * height * 4 / 1e9:,.1f} GB to draw) at {wanted} dpi"
    if wanted * fit < MIN_DPI:
        raise TooLargeError(f"the diagram is too large for a {fmt.upper()}: {size}, and below {MIN_DPI} dpi its names "
                            f"cannot be read; write .svg (no size limit), or draw less (focus on a table with a "
                            f"depth of 1: --focus TABLE --depth 1)")
    return wanted * fit, (f"{fmt.upper()} drawn at {wanted * fit:.0f} dpi ({width * fit:,.0f} x {height * fit:,.0f} "
                          f"px), not {size}; write .svg for full detail")


def convert(source: str, fmt: str, *, engine: str, args: tuple[str, ...], timeout: float | None,
            dpi: float | None = None) -> bytes:
    """Render ``source`` to ``fmt`` bytes (rasters at ``dpi``); PDF comes from the PNG when the renderer cannot
    write PDF."""
    renderer = find_renderer()
    if fmt == "pdf" and renderer.pure:
        dpi = dpi or PDF_DPI
        png = convert(source, "png", engine=engine, args=args, timeout=timeout, dpi=dpi)
        return png_to_pdf(png, dpi)
    if dpi is not None and fmt == "png":
        args = (*args, f"-Gdpi={dpi:.2f}")
    output = run(source, fmt, engine=engine, args=args, timeout=timeout)
    if not output.data:
        raise RenderError(f"{renderer.name} wrote no {fmt} (exit code {output.returncode}): {output.stderr.strip()}")
    return output.data


def png_to_pdf(png: bytes, dpi: float = PDF_DPI) -> bytes:
    """A one-page PDF holding the PNG (a raster PDF: graphviz-pure has no vector PDF writer)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PDF", resolution=dpi)
    return buffer.getvalue()
