"""Termination signals end a command through the same cleanup as a normal exit.

SIGTERM (and SIGHUP: the terminal went away) raise SystemExit in the main thread, so every ``with connect(...)``
block unwinds and drops its sandbox or database, as on a normal exit; further such signals are ignored while that
cleanup runs. SIGINT stays Python's KeyboardInterrupt, which unwinds the same way. SIGKILL cannot be caught: the
sandbox stays, marked, and ``workbench sandboxes --drop-stale`` removes it.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def exit_on_termination() -> None:
    """Install the handlers (main thread only: Python delivers signals there)."""
    if threading.current_thread() is threading.main_thread():
        for number in SIGNALS:
            signal.signal(number, _terminate)


def _terminate(number: int, frame: FrameType | None) -> None:
    for each in SIGNALS:
        signal.signal(each, signal.SIG_IGN)  # the cleanup below runs once, undisturbed
    print(f"workbench: stopping on {signal.Signals(number).name}; dropping what this run created", file=sys.stderr)
    raise SystemExit(128 + number)
