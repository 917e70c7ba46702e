"""Import DDL of every dialect sqlglot reads; the PostgreSQL dialect has its own importer (pglast)."""

from workbench.ddl.generic.dialects import resolve_dialect
from workbench.ddl.generic.importer import import_generic

__all__ = ["import_generic", "resolve_dialect"]
