"""Each variant's database: the same data, then the variant's changes, statistics and sizes (never timed queries).

PostgreSQL's embedded server clones the loaded base database (``CREATE DATABASE ... TEMPLATE``); an engine that
cannot clone gets the same Arrow tables loaded again. A variant that cannot be built is recorded as failed with
its reason and the study goes on without it; one that needs an extension the user's database lacks is recorded
as skipped, with the statement its owner must run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from psycopg import sql as pgsql
from sqlglot import exp

from workbench.bench.variants import Variant, transpile
from workbench.ddl.export.indexes import index_statement
from workbench.engines import Engine, connect
from workbench.engines.conninfo import ConnInfo
from workbench.engines.extensions import MissingExtension
from workbench.errors import WorkbenchError
from workbench.schema.model import Schema


@dataclass
class Prepared:
    """A variant ready to measure (``engine``), or failed (``error``), with what building it cost."""

    variant: Variant
    engine: Engine | None = None
    error: str | None = None  # why it failed, or why it was skipped
    skipped: bool = False
    setup_s: float = math.nan
    build_s: float = 0.0
    table_bytes: int | None = None
    index_bytes: int | None = None
    insert_rows_per_s: float = math.nan
    partitions: int | None = None
    statements: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.engine is not None

    def row(self, engine: str) -> dict[str, Any]:
        """The variant's row of ``variants.parquet``."""
        status = "ok" if self.error is None else "skipped" if self.skipped else "failed"
        return {"engine": engine, "variant": self.variant.name, "status": status,
                "error": self.error, "setup_s": self.setup_s, "build_s": self.build_s,
                "table_bytes": self.table_bytes, "index_bytes": self.index_bytes,
                "insert_rows_per_s": self.insert_rows_per_s,
                "partitions": self.partitions,
                "ddl": ";\n".join(self.statements)}

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()


def prepare(base: Engine, target: str | ConnInfo, schema: Schema, data: dict[str, pa.Table], variant: Variant,
            directory: Path) -> Prepared:
    """The variant's own database built from the loaded ``base`` (or from ``data`` where cloning is not possible).

    ``directory`` holds files a variant may need (DuckDB's partitioned Parquet).
    """
    prepared = Prepared(variant)
    try:
        started = time.perf_counter()
        if variant.partition is not None:
            prepared.engine, prepared.statements, prepared.partitions = _partitioned(
                target, schema, data, variant, directory)
        elif variant.layout is not None:
            prepared.engine, prepared.statements = variant.layout.build(base, target, schema, data)
        elif base.supports_clone:
            prepared.engine = base.clone()
        else:
            prepared.engine = connect(target)
            prepared.engine.load(schema, data, progress=False)
        prepared.setup_s = time.perf_counter() - started
        engine = prepared.engine
        prepared.statements += _use_extensions(engine, variant)
        for statement in setup_sql(variant, engine.dialect):
            prepared.statements.append(statement)
            engine.execute(statement)
        for spec in variant.indexes:
            index = spec.to_index(schema, engine.dialect)
            prepared.statements.append(engine.index_statement(schema, spec.table, index))
            prepared.build_s += engine.build_index(schema, spec.table, index)
        if variant.settings:
            engine.configure(variant.settings)
            prepared.statements += _set_statements(variant.settings, engine.dialect)
        engine.finish()  # statistics after the variant's changes, as for every variant
        if engine.dialect == "postgres" and (variant.setup or variant.partition is not None):
            engine.vacuum()  # new tables get the visibility map the cloned base already has
        prepared.table_bytes, prepared.index_bytes = _sizes(engine.table_sizes())
    except MissingExtension as error:  # the user's database lacks it: skipped, saying what its owner can run
        prepared.error, prepared.skipped = str(error), True
        prepared.close()
        prepared.engine = None
    except Exception as error:  # a variant that cannot be built is a result: recorded, the study goes on
        prepared.error = f"{type(error).__name__}: {error}" if not isinstance(error, WorkbenchError) else str(error)
        prepared.close()
        prepared.engine = None
    return prepared


def variant_statements(schema: Schema, variant: Variant, engine: Engine | str) -> list[str]:
    """The SQL a variant adds to the loaded schema on ``engine`` (an Engine or a dialect name), not run."""
    dialect = engine if isinstance(engine, str) else engine.dialect
    statements = _extensions(variant, dialect) + setup_sql(variant, dialect)
    if variant.partition is not None:
        statements.append(f"-- {variant.partition.table}: {variant.partition.label} "
                          f"(partition bounds are computed from the generated data when the study runs)")
    if variant.layout is not None:
        statements.append(f"-- {variant.layout.label} (built from the generated data when the study runs)")
    for spec in variant.indexes:
        index = spec.to_index(schema, dialect)
        statements.append(index_sql(schema, spec.table, index, dialect) if isinstance(engine, str)
                          else engine.index_statement(schema, spec.table, index))
    return statements + _set_statements(variant.settings, dialect)


def index_sql(schema: Schema, table: str, index: Any, dialect: str) -> str:
    """The exporter's CREATE INDEX for ``index`` on model table ``table`` in ``dialect``."""
    statement, notes = index_statement(schema, schema.table(table), index, dialect)
    if statement is None:
        raise WorkbenchError(f"{dialect} cannot build index ({', '.join(index.columns)}) on {table}: {notes}")
    return statement.sql(dialect)


def setup_sql(variant: Variant, dialect: str) -> list[str]:
    """A schema alternative's setup statements (written in PostgreSQL's dialect) for ``dialect``."""
    return [transpile(statement, "postgres", dialect) for statement in variant.setup]


def _partitioned(target: str | ConnInfo, schema: Schema, data: dict[str, pa.Table], variant: Variant,
                 directory: Path) -> tuple[Engine, list[str], int]:
    """A new engine holding the data with the variant's partitioning: (engine, its own DDL, partitions)."""
    from workbench.bench.partition_load import load_partitioned

    engine = connect(target)
    try:
        loaded = load_partitioned(engine, schema, variant.partition, data, directory, progress=False)
    except BaseException:
        engine.close()
        raise
    return engine, list(loaded.statements), loaded.partitions


def _extensions(variant: Variant, dialect: str) -> list[str]:
    if dialect != "postgres":
        return []
    return [pgsql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(pgsql.Identifier(name)).as_string(None)
            for name in variant.needed_extensions]


def _use_extensions(engine: Engine, variant: Variant) -> list[str]:
    """Find (or, in a database of the workbench's own, create) the variant's extensions; what was run."""
    if engine.dialect != "postgres":
        return []
    done = []
    for name, statement in zip(variant.needed_extensions, _extensions(variant, engine.dialect), strict=True):
        schema = engine.extension_schema(name)
        done.append(f"-- extension {name}: installed in schema {schema}" if engine.sandbox else statement)
    return done


def _set_statements(settings: dict[str, str], dialect: str) -> list[str]:
    return [exp.Set(expressions=[exp.SetItem(this=exp.EQ(this=exp.column(name), expression=exp.Literal.string(value)))])
            .sql(dialect) for name, value in settings.items()]


def _sizes(frame: pd.DataFrame) -> tuple[int | None, int | None]:
    def total(column: str) -> int | None:
        values = pd.to_numeric(frame[column], errors="coerce").dropna()
        return int(values.sum()) if len(values) else None

    return total("table_bytes"), total("index_bytes")
