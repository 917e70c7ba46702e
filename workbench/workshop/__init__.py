"""The workshop track: lessons with exercises whose answers ``check`` measures and explains.

``workshop.lesson("indexing")`` loads a lesson's data and returns its :class:`Lesson`;
``lesson.check("history-5x", my_index)`` gives :class:`Feedback` (what is right, what is missing,
a hint) and ``lesson.progress()`` lists every exercise. The notebooks are in ``notebooks/workshop``.
"""

from __future__ import annotations

import importlib
from typing import Any

from workbench.errors import UnknownNameError
from workbench.workshop.feedback import Feedback
from workbench.workshop.lesson import AnswerProblem, Exercise, Lesson, Progress

LESSONS = {  # lesson name -> module with build(**options) -> Lesson, in the order of the notebooks
    "modelling": "workbench.workshop.modelling",
    "indexing": "workbench.workshop.indexing",
    "partitioning": "workbench.workshop.partitioning",
    "plans": "workbench.workshop.plans",
    "migrations": "workbench.workshop.migrations",
    "caching": "workbench.workshop.caching",
    "tenancy": "workbench.workshop.tenancy",
}


def lesson(name: str, **options: Any) -> Lesson:
    """The lesson ``name`` with its data loaded (``options`` such as ``scale`` go to its ``build``)."""
    if name not in LESSONS:
        raise UnknownNameError("lesson", name, LESSONS)
    return importlib.import_module(LESSONS[name]).build(**options)


__all__ = ["LESSONS", "AnswerProblem", "Exercise", "Feedback", "Lesson", "Progress", "lesson"]
