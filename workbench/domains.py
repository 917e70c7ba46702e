"""Sample domains: a folder with ``schema.sql``, ``workload.sql`` and a data spec ``data.toml``.

The project's own domains live in ``datasets/`` at the top of the repository (or wherever
``WORKBENCH_DATASETS`` points); any folder of the same shape works as a domain too.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from workbench.datagen import generate
from workbench.datagen.blocks import Shard
from workbench.datagen.dataset import Dataset
from workbench.datagen.generate import DataStream, stream
from workbench.datagen.spec import DataSpec
from workbench.ddl import ImportResult, import_ddl
from workbench.engines import Engine, LoadReport
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.schema.model import Schema
from workbench.workload import Workload

FILES = ("schema.sql", "workload.sql", "data.toml")


def datasets_root() -> Path:
    """Where the sample domains are: ``WORKBENCH_DATASETS``, else the repository's ``datasets/``."""
    configured = os.environ.get("WORKBENCH_DATASETS")
    return Path(configured) if configured else Path(__file__).resolve().parents[1] / "datasets"


@dataclass(frozen=True)
class Domain:
    """One sample domain: its schema, workload and data spec, read on first use."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def imported(self) -> ImportResult:
        result = import_ddl(self.path / "schema.sql")
        if result.report.errors:
            first = result.report.errors[0]
            raise WorkbenchError(f"{first.where}: {first.kind}: {first.reason} (a domain's schema.sql must import "
                                 f"without errors; {len(result.report.errors)} statements failed)")
        if not result.schema.tables:
            raise WorkbenchError(f"{self.path / 'schema.sql'}: declares no table; a domain's schema.sql holds the "
                                 f"CREATE TABLE statements of its schema")
        return result

    @property
    def schema(self) -> Schema:
        return self.imported.schema

    @cached_property
    def spec(self) -> DataSpec:
        return DataSpec.from_toml(self.path / "data.toml")

    @cached_property
    def workload(self) -> Workload:
        return Workload.from_file(self.path / "workload.sql", schema=self.schema)

    def generate(self, scale: str | float = "ci", *, seed: int = 0, progress: bool = True) -> Dataset:
        """The domain's data at ``scale`` (a named scale or a multiplier); the same seed gives the same data."""
        return generate(self.schema, scale=scale, seed=seed, spec=self.spec, progress=progress)

    def stream(self, scale: str | float = "ci", *, seed: int = 0, shard: Shard | None = None) -> DataStream:
        """The same data as :meth:`generate`, generated block by block as it is read (see ``datagen.stream``)."""
        return stream(self.schema, scale=scale, seed=seed, spec=self.spec, shard=shard)

    def load(self, engine: Engine, scale: str | float = "ci", *, seed: int = 0, progress: bool = True,
             jobs: int | None = None) -> LoadReport:
        """Generate the data as it is loaded (one block in memory at a time), then build indexes and keys;
        ``jobs``: tables loaded at once where the engine allows it (default: one per core)."""
        return engine.load(self.schema, self.stream(scale, seed=seed), progress=progress, jobs=jobs)

    def __repr__(self) -> str:
        return f"<Domain {self.name}: {self.path}>"


def domains(root: Path | None = None) -> list[Domain]:
    """Every folder under ``root`` that holds a schema, a workload and a data spec."""
    root = root or datasets_root()
    if not root.is_dir():
        return []
    return [Domain(p) for p in sorted(root.iterdir()) if all((p / f).is_file() for f in FILES)]


def domain(name_or_path: str | Path) -> Domain:
    """A domain by name (``"ecommerce"``) or by folder path."""
    path = Path(name_or_path)
    if path.is_dir():
        missing = [f for f in FILES if not (path / f).is_file()]
        if missing:
            raise WorkbenchError(f"{path} is not a sample domain: it lacks {', '.join(missing)}")
        return Domain(path)
    known = domains()
    for candidate in known:
        if candidate.name == str(name_or_path):
            return candidate
    raise UnknownNameError("dataset", str(name_or_path), [d.name for d in known])


def parse_scale(text: str) -> str | float:
    """A named scale (``ci``, ``small``...) or a positive multiplier given as a number."""
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value):
        raise WorkbenchError(f"scale {text!r} is not a number of rows; give ci, small, medium, large or a positive "
                             f"multiplier such as 0.5")
    return value
