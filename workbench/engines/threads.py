"""Work on K threads, each with a session of its own, that an interrupt stops: Ctrl-C (or a kernel's stop
button) reaches only the main thread, which would otherwise wait while the workers' statements run on and
commit."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import TypeVar

S = TypeVar("S")


def run_threads(work: Callable[[S], None], session: Callable[[], AbstractContextManager[S]], count: int, name: str,
                stop: Callable[[], None]) -> None:
    """Open ``count`` sessions here, before any work starts (a server that refuses one fails the whole step,
    not one thread), run ``work(session)`` on a thread each and wait for them all. On an interrupt, call
    ``stop()`` (which makes the workers end soon: start nothing more, cancel what their sessions run), wait
    for them, and raise it again; an interrupt while the threads start waits until they all have, else a
    session would be closed under a running statement that the server still commits.

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
        opened = [sessions.enter_context(session()) for _ in range(count)]
        try:
            with _signals_held():  # an interrupt waits until every thread runs, so that all of them are stopped
                for i, each in enumerate(opened):
                    try:
                        threading.Thread(target=worker, args=(each,), name=f"{name}-{i}").start()
                    except BaseException:  # e.g. no thread can be started: this one and the rest never run
                        with lock:
                            running -= count - i
                            if not running:
                                ended.set()
                        raise
            ended.wait()
        except BaseException:
            stop()
            ended.wait()
            raise


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM delivered when the block ends, not inside it (in the main thread; elsewhere Python
    handles no signals anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
