"""Read a live PostgreSQL catalog (pg_catalog) into the schema model: the truth importers are checked against.

Types are spelled by ``format_type``, expressions by ``pg_get_expr``/``pg_get_indexdef``, so the model
holds what PostgreSQL itself reports. A partition lists all its columns but only the constraints and
indexes declared on it (those cloned from its parent are implied by the parent). Exclusion
constraints, triggers, functions and policies are not part of the model and are not read.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby
from typing import Any

import pglast
import psycopg
from psycopg.rows import dict_row

from workbench.ddl.postgres.codes import IDENTITY, PARTITION_STRATEGIES, fk_action, partition_key
from workbench.engines.conninfo import ConnInfo
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.schema.builder import SchemaBuilder, TableDraft
from workbench.schema.model import (
    CheckConstraint,
    Column,
    Domain,
    Enum,
    ForeignKey,
    Index,
    IndexElement,
    Partitioning,
    PrimaryKey,
    Schema,
    Sequence,
    UniqueConstraint,
    View,
    qualified,
)

Row = dict[str, Any]

INDOPTION_DESC, INDOPTION_NULLS_FIRST = 1, 2

NAMESPACES = """
SELECT n.oid, n.nspname AS name FROM pg_namespace n
WHERE n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> 'information_schema' ORDER BY n.oid
"""

NOT_IN_EXTENSION = """NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = {catalog}::regclass
    AND e.objid = {oid} AND e.deptype = 'e')"""

RELATIONS = """
SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind,
       pn.nspname AS parent_schema, p.relname AS parent_name, pg_get_expr(c.relpartbound, c.oid) AS bound,
       obj_description(c.oid, 'pg_class') AS comment,
       pt.partstrat AS strategy, CASE WHEN pt.partrelid IS NOT NULL THEN pg_get_partkeydef(c.oid) END AS partkey,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS view_sql
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
LEFT JOIN pg_class p ON p.oid = i.inhparent
LEFT JOIN pg_namespace pn ON pn.oid = p.relnamespace
LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
WHERE c.relkind IN ('r', 'p', 'v', 'm') AND c.relnamespace = ANY(%(namespaces)s)
  AND """ + NOT_IN_EXTENSION.format(catalog="'pg_class'", oid="c.oid") + """
ORDER BY c.oid
"""

COLUMNS = """
SELECT a.attrelid AS relid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS expression,
       a.attidentity AS identity, a.attgenerated AS generated, col_description(a.attrelid, a.attnum) AS comment,
       EXISTS (SELECT 1 FROM pg_depend s JOIN pg_class sc ON sc.oid = s.objid AND sc.relkind = 'S'
               WHERE s.classid = 'pg_class'::regclass AND s.refclassid = 'pg_class'::regclass
                 AND s.refobjid = a.attrelid AND s.refobjsubid = a.attnum AND s.deptype = 'a') AS owns_sequence
FROM pg_attribute a
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY(%(relids)s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

KEY_NAMES = """ARRAY(SELECT a.attname FROM unnest({keys}) WITH ORDINALITY k(num, pos)
    JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.num ORDER BY k.pos)"""

CONSTRAINTS = """
SELECT con.conrelid AS relid, con.conname AS name, con.contype AS type,
       """ + KEY_NAMES.format(keys="con.conkey", rel="con.conrelid") + """ AS columns,
       fn.nspname AS ref_schema, fc.relname AS ref_table,
       """ + KEY_NAMES.format(keys="con.confkey", rel="con.confrelid") + """ AS ref_columns,
       con.confdeltype AS on_delete, con.confupdtype AS on_update,
       con.condeferrable AS deferrable, con.condeferred AS deferred,
       CASE WHEN con.contype = 'c' THEN pg_get_expr(con.conbin, con.conrelid, true) END AS expression,
       COALESCE(ix.indnullsnotdistinct, false) AS nulls_not_distinct
FROM pg_constraint con
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
LEFT JOIN pg_index ix ON con.contype = 'u' AND ix.indexrelid = con.conindid
WHERE con.conrelid = ANY(%(relids)s) AND con.contype IN ('p', 'u', 'f', 'c')
  AND con.conparentid = 0 AND con.conislocal
ORDER BY con.conrelid, con.oid
"""

INDEX_KEYS = """
SELECT i.indrelid AS relid, i.indexrelid AS oid, ic.relname AS name, am.amname AS method,
       i.indisunique AS is_unique, i.indnullsnotdistinct AS nulls_not_distinct, i.indnkeyatts AS key_count,
       pg_get_expr(i.indpred, i.indrelid, true) AS predicate, k.pos, a.attname AS column_name,
       pg_get_indexdef(i.indexrelid, k.pos::int, true) AS definition,
       COALESCE(i.indoption[k.pos - 1], 0) AS option,
       CASE WHEN NOT opc.opcdefault THEN opc.opcname END AS opclass,
       CASE WHEN coll.oid IS DISTINCT FROM COALESCE(NULLIF(a.attcollation, 0), 100) -- 100: "default"
            THEN coll.collname END AS collation
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, pos)
LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
LEFT JOIN pg_opclass opc ON k.pos <= i.indnkeyatts AND opc.oid = i.indclass[k.pos - 1]
LEFT JOIN pg_collation coll ON k.pos <= i.indnkeyatts AND coll.oid = NULLIF(i.indcollation[k.pos - 1], 0)
WHERE i.indrelid = ANY(%(relids)s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid
                  AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))
  AND NOT EXISTS (SELECT 1 FROM pg_inherits inh WHERE inh.inhrelid = i.indexrelid)
ORDER BY i.indrelid, i.indexrelid, k.pos
"""

VIEW_DEPENDENCIES = """
SELECT DISTINCT r.ev_class AS relid, rn.nspname AS schema, rc.relname AS name
FROM pg_rewrite r
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
 AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
JOIN pg_class rc ON rc.oid = d.refobjid AND rc.relkind IN ('r', 'p', 'v', 'm', 'f')
JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE r.ev_class = ANY(%(relids)s)
ORDER BY 1, 2, 3
"""

ENUMS = """
SELECT n.nspname AS schema, t.typname AS name,
       ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND t.typnamespace = ANY(%(namespaces)s)
  AND """ + NOT_IN_EXTENSION.format(catalog="'pg_type'", oid="t.oid") + """
ORDER BY t.oid
"""

DOMAINS = """
SELECT n.nspname AS schema, t.typname AS name, format_type(t.typbasetype, t.typtypmod) AS type,
       NOT t.typnotnull AS nullable, t.typdefault AS default,
       COALESCE((SELECT json_agg(json_build_object('name', con.conname,
                                                   'expression', pg_get_expr(con.conbin, 0, true))
                                 ORDER BY con.oid)
                 FROM pg_constraint con WHERE con.contypid = t.oid AND con.contype = 'c'), '[]') AS checks
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'd' AND t.typnamespace = ANY(%(namespaces)s)
  AND """ + NOT_IN_EXTENSION.format(catalog="'pg_type'", oid="t.oid") + """
ORDER BY t.oid
"""

SEQUENCES = """
SELECT n.nspname AS schema, c.relname AS name, s.seqstart AS start, s.seqincrement AS increment,
       tn.nspname AS owner_schema, t.relname AS owner_table, a.attname AS owner_column
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_sequence s ON s.seqrelid = c.oid
LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
 AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype = 'a'
LEFT JOIN pg_class t ON t.oid = d.refobjid
LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE c.relkind = 'S' AND c.relnamespace = ANY(%(namespaces)s)
  AND """ + NOT_IN_EXTENSION.format(catalog="'pg_class'", oid="c.oid") + """
  AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_class'::regclass AND i.objid = c.oid
                  AND i.deptype = 'i')
ORDER BY c.oid
"""


def schema_from_catalog(conninfo: str, schemas: list[str] | None = None) -> Schema:
    """The schema model of the database at ``conninfo``: every user schema, or only ``schemas``."""
    address = ConnInfo.parse(conninfo)
    try:
        connection = psycopg.connect(address.conninfo(), row_factory=dict_row)
    except psycopg.Error as error:  # libpq's message may quote the target: shown scrubbed, without its cause
        raise WorkbenchError(f"cannot connect to PostgreSQL at {address.label}: {address.scrub(str(error))}") from None
    with connection:
        connection.read_only = True
        return _CatalogReader(connection).read(schemas)


class _CatalogReader:
    """One pass over the catalog with one connection; each method reads one kind of object."""

    def __init__(self, connection: psycopg.Connection[Row]):
        self.connection = connection

    def rows(self, query: str, **params: object) -> list[Row]:
        return self.connection.execute(query, params).fetchall()  # type: ignore[arg-type]

    def read(self, schemas: list[str] | None) -> Schema:
        namespaces = self.namespaces(schemas)
        database = self.connection.execute("SELECT current_database() AS name").fetchone()
        builder = SchemaBuilder(name=database["name"] if database else None, dialect="postgres")
        relations = self.rows(RELATIONS, namespaces=namespaces)
        relids = [r["oid"] for r in relations]
        columns = _by_relid(self.rows(COLUMNS, relids=relids))
        tables = {r["oid"]: self.add_table(builder, r, columns[r["oid"]])
                  for r in relations if r["kind"] in ("r", "p")}
        table_ids = list(tables)
        for row in self.rows(CONSTRAINTS, relids=table_ids):
            _add_constraint(tables[row["relid"]], row)
        for relid, keys in groupby(self.rows(INDEX_KEYS, relids=table_ids), key=lambda r: (r["relid"], r["oid"])):
            tables[relid[0]].indexes.append(_index(list(keys)))
        views = [r for r in relations if r["kind"] in ("v", "m")]
        dependencies = _by_relid(self.rows(VIEW_DEPENDENCIES, relids=[v["oid"] for v in views]))
        for view in views:
            builder.add_view(View(
                name=view["name"], schema=view["schema"], sql=view["view_sql"].strip(),
                materialized=view["kind"] == "m",
                depends_on=tuple(qualified(d["schema"], d["name"]) for d in dependencies[view["oid"]]),
                columns=tuple(c["name"] for c in columns[view["oid"]]),
            ))
        for row in self.rows(ENUMS, namespaces=namespaces):
            builder.add_enum(Enum(name=row["name"], schema=row["schema"], values=tuple(row["labels"])))
        for row in self.rows(DOMAINS, namespaces=namespaces):
            builder.add_domain(Domain(
                name=row["name"], schema=row["schema"], type=row["type"], nullable=row["nullable"],
                default=row["default"],
                checks=tuple(CheckConstraint(c["expression"], c["name"]) for c in row["checks"]),
            ))
        for row in self.rows(SEQUENCES, namespaces=namespaces):
            owner = (qualified(row["owner_schema"], f"{row['owner_table']}.{row['owner_column']}")
                     if row["owner_table"] else None)
            builder.add_sequence(Sequence(name=row["name"], schema=row["schema"], owned_by=owner,
                                          start=row["start"], increment=row["increment"]))
        return builder.build()

    def namespaces(self, wanted: list[str] | None) -> list[int]:
        available = {r["name"]: r["oid"] for r in self.rows(NAMESPACES)}
        if wanted is None:
            return list(available.values())
        for name in wanted:
            if name not in available:
                raise UnknownNameError("schema", name, available)
        return [available[name] for name in wanted]

    @staticmethod
    def add_table(builder: SchemaBuilder, row: Row, columns: list[Row]) -> TableDraft:
        draft = builder.add_table(row["name"], row["schema"], comment=row["comment"],
                                  columns=[_column(c) for c in columns])
        if row["parent_name"] is not None:
            draft.parent, draft.bound = qualified(row["parent_schema"], row["parent_name"]), row["bound"]
        if row["strategy"] is not None:
            draft.partitioning = Partitioning(PARTITION_STRATEGIES[row["strategy"]], _partition_key(row["partkey"]))
        return draft


def _by_relid(rows: list[Row]) -> defaultdict[int, list[Row]]:
    grouped: defaultdict[int, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row["relid"]].append(row)
    return grouped


def _column(row: Row) -> Column:
    generated = row["expression"] if row["generated"] else None
    default = None if generated else row["expression"]
    return Column(
        name=row["name"], type=row["type"], nullable=row["nullable"], default=default,
        identity=IDENTITY.get(row["identity"]), generated=generated, comment=row["comment"],
        autoincrement=bool(row["owns_sequence"] and default and default.startswith("nextval(")),
    )


def _add_constraint(draft: TableDraft, row: Row) -> None:
    columns = tuple(row["columns"])
    if row["type"] == "p":
        draft.primary_key = PrimaryKey(columns, row["name"])
    elif row["type"] == "u":
        draft.uniques.append(UniqueConstraint(columns, row["name"], row["nulls_not_distinct"]))
    elif row["type"] == "c":
        draft.checks.append(CheckConstraint(row["expression"], row["name"]))
    else:
        draft.foreign_keys.append(ForeignKey(
            columns=columns, ref_table=row["ref_table"], ref_columns=tuple(row["ref_columns"]),
            ref_schema=row["ref_schema"], name=row["name"], on_delete=fk_action(row["on_delete"]),
            on_update=fk_action(row["on_update"]), deferrable=row["deferrable"],
            initially_deferred=row["deferred"],
        ))


def _index(keys: list[Row]) -> Index:
    """One index from its per-column rows: key columns first, then INCLUDE columns."""
    first = keys[0]
    count = first["key_count"]
    return Index(
        name=first["name"], elements=tuple(_index_element(k) for k in keys[:count]), unique=first["is_unique"],
        method=first["method"], include=tuple(k["column_name"] for k in keys[count:]),
        where=first["predicate"], nulls_not_distinct=first["nulls_not_distinct"],
    )


def _index_element(key: Row) -> IndexElement:
    descending = bool(key["option"] & INDOPTION_DESC)
    nulls_first = bool(key["option"] & INDOPTION_NULLS_FIRST)
    expression = key["column_name"] is None
    return IndexElement(
        expression=key["definition"] if expression else key["column_name"], is_expression=expression,
        descending=descending, nulls_first=None if nulls_first == descending else nulls_first,
        opclass=key["opclass"], collation=key["collation"],
    )


def _partition_key(keydef: str) -> tuple[str, ...]:
    """Column names and expressions of ``pg_get_partkeydef`` text, split by PostgreSQL's own parser."""
    return partition_key(pglast.parse_sql(f"CREATE TABLE t () PARTITION BY {keydef}")[0].stmt.partspec)
