"""PostgreSQL extensions a design needs: used where installed (in any schema), created only in a database of
the workbench's own, and otherwise named with the exact statement the database owner must run.

In a sandbox ``search_path`` holds the sandbox alone, so an extension's objects (e.g. pg_trgm's operator
classes) are named with the schema the extension lives in: :func:`qualified`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import psycopg
from psycopg import sql

from workbench.errors import WorkbenchError
from workbench.schema.model import Index

# Operator classes that live in a contrib extension.
EXTENSION_OF_OPCLASS = {"gin_trgm_ops": "pg_trgm", "gist_trgm_ops": "pg_trgm"}


class MissingExtension(WorkbenchError):
    """An extension the design needs is not usable in the database, and the workbench may not change that."""


def schema_of(connection: psycopg.Connection, name: str, *, create: bool, where: str) -> str:
    """The schema extension ``name`` lives in, created first when ``create`` (a database of our own);
    raises :class:`MissingExtension` saying what the database owner must run when it is absent or unusable."""
    found = _installed(connection, name)
    database, user = connection.info.dbname, connection.info.user
    if found is None and create:
        try:
            connection.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name)))
        except psycopg.Error as error:
            raise MissingExtension(f"cannot create extension {name} in database {database} ({where}): "
                                   f"{str(error).strip()}") from error
        found = _installed(connection, name)
    if found is None:
        available = connection.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", [name]).fetchone()
        server = "" if available else (" after installing it on the server (it is not among the server's available "
                                       "extensions: PostgreSQL's contrib package provides it)")
        raise MissingExtension(f"extension {name} is not installed in database {database} ({where}), and the "
                               f"workbench does not install extensions on your server; its owner can run "
                               f"`CREATE EXTENSION {name};` in database {database}{server}")
    schema, usable = found
    if not usable:
        raise MissingExtension(f"extension {name} is installed in schema {schema} of database {database} ({where}), "
                               f"which role {user} may not use; its owner can run `GRANT USAGE ON SCHEMA {schema} "
                               f"TO {user};` in database {database}")
    return schema


def needed(index: Index) -> list[str]:
    """The extensions an index's operator classes come from."""
    return list(dict.fromkeys(e for element in index.elements
                              if (e := EXTENSION_OF_OPCLASS.get((element.opclass or "").lower()))))


def qualified(index: Index, schemas: Mapping[str, str]) -> Index:
    """The index with each extension operator class named with its extension's schema (from ``schemas``)."""
    def element(item):
        extension = EXTENSION_OF_OPCLASS.get((item.opclass or "").lower())
        return replace(item, opclass=f"{schemas[extension]}.{item.opclass}") if extension in schemas else item

    return replace(index, elements=tuple(map(element, index.elements)))


def _installed(connection: psycopg.Connection, name: str) -> tuple[str, bool] | None:
    """(schema, whether this role may use it) of an installed extension, or None."""
    row = connection.execute("SELECT n.nspname, has_schema_privilege(n.oid, 'USAGE') FROM pg_extension e"
                             " JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = %s", [name]).fetchone()
    return (row[0], row[1]) if row else None
