"""Export the model as DDL for any dialect sqlglot writes, with a note for everything the target cannot hold."""

from workbench.ddl.export.context import ExportNote
from workbench.ddl.export.exporter import DDLExport, to_ddl

__all__ = ["DDLExport", "ExportNote", "to_ddl"]
