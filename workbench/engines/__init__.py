"""Engines: the places designs run (DuckDB in-process, PostgreSQL embedded or by URL)."""

from workbench.engines.base import Engine, LoadInterrupted, LoadReport
from workbench.engines.connect import connect

__all__ = ["Engine", "LoadInterrupted", "LoadReport", "connect"]
