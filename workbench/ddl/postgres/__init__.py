"""Exact PostgreSQL import over PostgreSQL's own parser (pglast): everything pg_dump writes."""

from workbench.ddl.postgres.importer import canonical_type, import_postgres

__all__ = ["canonical_type", "import_postgres"]
