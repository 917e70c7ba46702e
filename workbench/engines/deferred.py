"""The statements kept until after a bulk load (keys, indexes, views, statistics), run on K connections.

pg_restore's ``--jobs`` order, without its dump's dependency graph: a statement starts once every earlier
statement that names one of its relations has finished, so a foreign key waits for the key it references,
an index for its table's primary key, a view for its tables, and two statements never hold locks on the
same relation at once. A statement whose relations cannot be told runs alone, between the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.engines.threads import run_threads

Run = Callable[[str], None]


@dataclass
class DeferredFailed(Exception):
    """The first statement that failed, and why."""

    statement: str
    number: int
    total: int
    error: Exception


def relations(statement: str, dialect: str) -> frozenset[str] | None:
    """Lower-cased names (schema left out, which only makes the order stricter) of the tables, views and
    indexes ``statement`` names, or None when it cannot be told."""
    try:
        tree = sqlglot.parse_one(statement, read=dialect)
    except SqlglotError:
        return None
    if tree is None or isinstance(tree, exp.Command):
        return None
    names = frozenset(node.name.lower() for node in tree.find_all(exp.Table, exp.Index) if node.name)
    return names or None


def run_deferred(statements: Sequence[str], dialect: str, jobs: int,
                 session: Callable[[], AbstractContextManager[Run]], *, ran: Callable[[str], None],
                 cancel: Callable[[], None]) -> None:
    """Run ``statements`` on up to ``jobs`` sessions (each statement in its own transaction), in the order
    above, calling ``ran(statement)`` as each one commits; on the first failure start nothing more, let the
    running ones end, and raise :class:`DeferredFailed`. An interrupt starts nothing more and ``cancel()``s
    what runs (see :func:`run_threads`)."""
    touched = [relations(s, dialect) for s in statements]
    state = _Schedule(touched)

    def work(run: Run) -> None:
        for index in state.claims():
            try:
                run(statements[index])
            except Exception as error:
                state.fail(index, error)
                return
            ran(statements[index])
            state.finish(index)

    def stop() -> None:
        state.stop()
        cancel()

    run_threads(work, session, max(1, min(jobs, len(statements))), "workbench-finish", stop)
    if state.failure is not None:
        index, error = state.failure
        raise DeferredFailed(statements[index], index + 1, len(statements), error)


class _Schedule:
    """Which statement a free session takes next: the first whose earlier unfinished statements share
    no relation with it (a statement of unknown relations shares with every other)."""

    def __init__(self, touched: list[frozenset[str] | None]):
        self.touched = touched
        self.waiting = list(range(len(touched)))
        self.done: set[int] = set()
        self.failure: tuple[int, Exception] | None = None
        self.stopped = False
        self._changed = threading.Condition()

    def claims(self) -> Iterator[int]:
        while True:
            with self._changed:
                while True:
                    if self.failure is not None or self.stopped or not self.waiting:
                        return
                    ready = next((i for i in self.waiting if self._ready(i)), None)
                    if ready is not None:
                        break
                    self._changed.wait()
                self.waiting.remove(ready)
            yield ready

    def _ready(self, index: int) -> bool:
        mine = self.touched[index]
        for earlier in range(index):
            if earlier in self.done:
                continue
            theirs = self.touched[earlier]
            if mine is None or theirs is None or mine & theirs:
                return False
        return True

    def finish(self, index: int) -> None:
        with self._changed:
            self.done.add(index)
            self._changed.notify_all()

    def stop(self) -> None:
        with self._changed:
            self.stopped = True
            self._changed.notify_all()

    def fail(self, index: int, error: Exception) -> None:
        with self._changed:
            if self.failure is None:
                self.failure = (index, error)
            self._changed.notify_all()
