"""A lesson: its question, its exercises, and what the checks said so far (the attendee's progress).

Each lesson module builds a :class:`Lesson` with its data and exercises; ``lesson.check(id, answer)``
runs that exercise's check and keeps the feedback, and ``lesson.progress()`` lists every exercise as
done, not yet or not tried (the same on every run with the same answers, so CI can compare it).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from workbench.errors import UnknownNameError, WorkbenchError
from workbench.workshop.feedback import Feedback

NOT_TRIED = "not tried"


@contextmanager
def closed_on_failure(*engines: Any) -> Iterator[None]:
    """Close ``engines`` when a lesson's setup fails (or is interrupted): no server or database left behind."""
    try:
        yield
    except BaseException:
        for engine in engines:
            engine.close()
        raise


class AnswerProblem(WorkbenchError):
    """An answer a check cannot go on with (empty, does not parse, wrong kind): what is missing and a hint."""

    def __init__(self, missing: str, hint: str, *, right: tuple[str, ...] = ()):
        super().__init__(missing)
        self.missing, self.hint, self.right = missing, hint, right


@dataclass(frozen=True)
class Exercise:
    """One exercise: what to write (``prompt``) and the function that judges an answer."""

    id: str
    title: str
    prompt: str
    judge: Callable[[Any], Feedback]


class Lesson:
    """The exercises of one lesson, the resources they share (closed by :meth:`close`), and their feedback."""

    def __init__(self, name: str, title: str, question: str, exercises: list[Exercise],
                 closers: list[Callable[[], None]] | None = None):
        self.name, self.title, self.question = name, title, question
        self.exercises = {exercise.id: exercise for exercise in exercises}
        self.feedback: dict[str, Feedback] = {}
        self._closers = list(closers or [])

    def check(self, exercise: str, answer: Any) -> Feedback:
        """Judge ``answer`` to ``exercise``; anything that goes wrong becomes feedback, never a traceback."""
        chosen = self.exercise(exercise)
        try:
            feedback = chosen.judge(answer)
        except AnswerProblem as problem:
            feedback = Feedback(chosen.id, chosen.title, False, problem.right, (problem.missing,), problem.hint)
        except Exception as error:  # the attendee's answer broke the check: say so, and how to go on
            feedback = Feedback(chosen.id, chosen.title, False, (),
                                (f"the check could not run the answer: {type(error).__name__}: {error}",),
                                "read the message above, correct the answer and check again; ask the facilitator "
                                "if it names the workbench rather than your SQL")
        self.feedback[chosen.id] = feedback
        return feedback

    def exercise(self, name: str) -> Exercise:
        if name not in self.exercises:
            raise UnknownNameError(f"exercise of lesson {self.name!r}", name, self.exercises)
        return self.exercises[name]

    def progress(self) -> Progress:
        """Every exercise with its last verdict: done, not yet, or not tried."""
        return Progress(self.title, [(e.id, e.title, self.feedback[e.id].status if e.id in self.feedback
                                      else NOT_TRIED) for e in self.exercises.values()])

    def close(self) -> None:
        """Close the engines the lesson opened (their databases are dropped)."""
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> Lesson:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Lesson {self.name}: {len(self.exercises)} exercises>"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td><code>{html.escape(e.id)}</code></td><td>{html.escape(e.title)}</td>"
                       f"<td>{html.escape(e.prompt)}</td></tr>" for e in self.exercises.values())
        return (f"<p><b>{html.escape(self.title)}</b>: {html.escape(self.question)}</p>"
                f"<table><tr><th>exercise</th><th>title</th><th>what to write</th></tr>{rows}</table>")


@dataclass(frozen=True)
class Progress:
    """The verdict of each exercise of a lesson (the last check of each)."""

    lesson: str
    rows: list[tuple[str, str, str]]

    @property
    def done(self) -> int:
        return sum(status == "done" for *_, status in self.rows)

    def __str__(self) -> str:
        lines = [f"{self.lesson}: {self.done} of {len(self.rows)} exercises done"]
        return "\n".join(lines + [f"  {exercise:18s} {status:9s} {title}" for exercise, title, status in self.rows])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td><code>{html.escape(e)}</code></td><td>{html.escape(t)}</td><td>{html.escape(s)}</td>"
                       f"</tr>" for e, t, s in self.rows)
        return (f"<p><b>{html.escape(self.lesson)}</b>: {self.done} of {len(self.rows)} exercises done</p>"
                f"<table><tr><th>exercise</th><th>title</th><th>status</th></tr>{rows}</table>")
