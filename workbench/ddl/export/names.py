"""Where each model object lands in the target: schema qualifier kept, dropped or flattened.

A default schema ("public", "main", "dbo") maps to the target's own default, so it is dropped unless
it is the target's default by name. Targets without schemas (SQLite; MySQL, where a schema is a
database) get bare names; an object of a non-default schema keeps its bare name unless another
object has it, then becomes ``schema_name``. Every flattening is reported by the caller.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from workbench.ddl.export.target import DEFAULT_SCHEMAS, Target
from workbench.schema.model import Schema, Table, qualified

# DuckDB's list is PostgreSQL's reserved words: quoting them keeps names valid in both families.
RESERVED = frozenset(k.lower() for k in Dialect.get_or_raise("duckdb").generator_class.RESERVED_KEYWORDS)


def is_reserved(name: str, dialect: str) -> bool:
    """True when ``name`` is a reserved word of ``dialect`` or of PostgreSQL/DuckDB (``RESERVED``), so
    it must be quoted to be used as a name there (the exporter quotes it in every dialect)."""
    keywords = Dialect.get_or_raise(dialect).generator_class.RESERVED_KEYWORDS
    return name.lower() in RESERVED or name.lower() in {k.lower() for k in keywords}


def ident(name: str, dialect: str) -> exp.Identifier:
    """An identifier quoted when the target would otherwise fold, reject or misread it."""
    safe = (exp.SAFE_IDENTIFIER_RE.match(name) and not Dialect.get_or_raise(dialect).case_sensitive(name)
            and not is_reserved(name, dialect))
    return exp.to_identifier(name, quoted=not safe)


def all_tables(tables: tuple[Table, ...]) -> Iterator[Table]:
    """Tables with their partitions, depth first, parents before partitions."""
    for table in tables:
        yield table
        yield from all_tables(table.partitions)


class NameMap:
    """Model key -> (schema or None, name) in the target, for tables, views, types and sequences."""

    def __init__(self, schema: Schema, target: Target):
        self.target = target
        objects = [*all_tables(schema.tables), *schema.views, *schema.sequences, *schema.enums,
                   *schema.domains]
        bare = Counter(o.name.lower() for o in objects)
        self._schemas = {o.schema for o in objects}
        self.places: dict[str, tuple[str | None, str]] = {}
        self.flattened: dict[str, list[str]] = {}  # schema -> keys of its objects
        for obj in objects:
            self.places[obj.key] = self._place(obj.schema, obj.name, bare[obj.name.lower()] > 1)

    def _place(self, schema: str | None, name: str, clash: bool) -> tuple[str | None, str]:
        if schema is None or (schema in DEFAULT_SCHEMAS and schema != self.target.default_schema):
            return None, name
        if self.target.schemas:
            return schema, name
        self.flattened.setdefault(schema, []).append(qualified(schema, name))
        return None, f"{schema}_{name}" if clash else name

    def place(self, key: str) -> tuple[str | None, str] | None:
        """The target place of a model key, also for a bare name of a default-schema object, or for a
        name qualified by a database the model does not name (MySQL's ``sakila.film``)."""
        if key in self.places:
            return self.places[key]
        for default in DEFAULT_SCHEMAS:
            if (found := self.places.get(qualified(default, key))) is not None:
                return found
        schema, name = _split(key)
        return self.places.get(name) if schema and schema not in self._schemas else None

    def table(self, key: str) -> exp.Table:
        """An ``exp.Table`` for a model key (unknown keys are kept as written)."""
        schema, name = self.place(key) or _split(key)
        return exp.Table(this=self.ident(name), db=self.ident(schema) if schema else None)

    def ident(self, name: str) -> exp.Identifier:
        return ident(name, self.target.dialect)

    def namespaces(self, declared: tuple[str, ...]) -> list[str]:
        """Schemas the target must create, declared ones first, without the target's default."""
        used = [schema for schema, _ in self.places.values() if schema]
        return [s for s in dict.fromkeys([*declared, *used])
                if s in used and s != self.target.default_schema]

    def rewrite_tables(self, tree: exp.Expression) -> exp.Expression:
        """Point every table reference of a parsed fragment at its target place."""
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        for table in list(tree.find_all(exp.Table)):
            if not table.name or (not table.db and table.name in ctes):
                continue
            place = self.place(qualified(table.db or None, table.name))
            if place is not None:
                schema, name = place
                table.set("this", self.ident(name))
                table.set("db", self.ident(schema) if schema else None)
        return tree


def _split(key: str) -> tuple[str | None, str]:
    schema, _, name = key.rpartition(".")
    return schema or None, name
