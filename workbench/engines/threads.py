"""Work on K threads, each with a session of its own, that an interrupt stops: Ctrl-C (or a kernel's stop
button) reaches only the main thread, which would otherwise wait while the workers' statements run on and
commit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import TypeVar

S = TypeVar("S")


def run_threads(work: Callable[[S], None], session: Callable[[], AbstractContextManager[S]], count: int, name: str,
                stop: Callable[[], None]) -> None:
    """Open ``count`` sessions here, before any work starts (a server that refuses one fails the whole step,
    not one thread), run ``work(session)`` on a thread each and wait for them all. On an interrupt, call
    ``stop()`` (which makes the workers end soon: start nothing more, cancel what their sessions run), wait
    for them, and raise it again.

    The wait is on an event, not ``Thread.join``: a join interrupted by a signal marks its thread as ended
    while it still runs (CPython before 3.13), so a second join would return at once."""
    running, lock, ended = count, threading.Lock(), threading.Event()

    def worker(opened: S) -> None:
        nonlocal running
        try:
            work(opened)
        finally:
            with lock:
                running -= 1
                if not running:
                    ended.set()

    with ExitStack() as sessions:
        for i, opened in enumerate([sessions.enter_context(session()) for _ in range(count)]):
            threading.Thread(target=worker, args=(opened,), name=f"{name}-{i}").start()
        try:
            ended.wait()
        except BaseException:
            stop()
            ended.wait()
            raise
