"""Two catalogs compared exactly (column order aside), every difference listed as one line.

Both sides are models read from a real PostgreSQL catalog (``schema_from_catalog``), so equal designs
give equal text: no normalization beyond the namespace mapping a sandbox needs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from workbench.schema.model import Schema, Table

Shape = dict[str, dict[str, list[str]]]


def shape(schema: Schema, rename: Callable[[str], str] = lambda text: text) -> Shape:
    """Every object as sorted lines per facet; ``rename`` maps physical namespaces back to logical ones."""
    out: Shape = {}
    for table in _all(schema.tables):
        out[f"table {rename(table.key)}"] = _table(table, rename)
    for view in schema.views:
        out[f"view {rename(view.key)}"] = {"definition": [rename(" ".join(view.sql.split()))],
                                           "kind": ["materialized" if view.materialized else "view"]}
    for enum in schema.enums:
        out[f"enum {rename(enum.key)}"] = {"values": list(enum.values)}
    for domain in schema.domains:
        out[f"domain {rename(domain.key)}"] = {"definition": [rename(
            f"{domain.type} null={domain.nullable} default={domain.default} "
            f"checks={sorted((c.name or '', c.expression) for c in domain.checks)}")]}
    for sequence in schema.sequences:
        out[f"sequence {rename(sequence.key)}"] = {"definition": [rename(
            f"start={sequence.start} increment={sequence.increment} owned_by={sequence.owned_by}")]}
    return out


def _all(tables: tuple[Table, ...]):
    for table in tables:
        yield table
        yield from _all(table.partitions)


def _table(table: Table, rename: Callable[[str], str]) -> dict[str, list[str]]:
    def line(*parts: object) -> str:
        return rename(" ".join(str(p) for p in parts))

    facets = {
        "columns": sorted(line(c.name, c.type, "NULL" if c.nullable else "NOT NULL", f"default={c.default}",
                               f"identity={c.identity}", f"generated={c.generated}", f"comment={c.comment}")
                          for c in table.columns),
        "primary key": [line(table.primary_key.name, table.primary_key.columns)] if table.primary_key else [],
        "unique": sorted(line(u.name, u.columns, u.nulls_not_distinct) for u in table.uniques),
        "checks": sorted(line(c.name, c.expression) for c in table.checks),
        "foreign keys": sorted(line(f.name, f.columns, "->", f.ref_schema, f.ref_table, f.ref_columns, f.on_delete,
                                    f.on_update, f.deferrable, f.initially_deferred) for f in table.foreign_keys),
        "indexes": sorted(line(i.name, i.unique, i.method, [(e.expression, e.descending, e.nulls_first, e.opclass,
                                                             e.collation) for e in i.elements], i.include, i.where,
                               i.nulls_not_distinct) for i in table.indexes),
        "partitioning": [line(table.partitioning.strategy, table.partitioning.key)] if table.partitioning else [],
        "bound": [line(table.bound)] if table.bound else [],
        "comment": [line(table.comment)] if table.comment else [],
    }
    return facets


def differences(expected: Shape, actual: Shape, expected_name: str, actual_name: str) -> list[str]:
    """Every disagreement: objects on one side only, and a small diff per differing facet."""
    lines = [f"{k}: only in {expected_name}" for k in sorted(expected.keys() - actual.keys())]
    lines += [f"{k}: only in {actual_name}" for k in sorted(actual.keys() - expected.keys())]
    for key in sorted(expected.keys() & actual.keys()):
        for facet, want in expected[key].items():
            got = actual[key].get(facet, [])
            if want != got:
                diff = list(difflib.unified_diff(want, got, expected_name, actual_name, lineterm="", n=0))[2:]
                lines.append(f"{key} {facet}: " + "; ".join(d for d in diff if not d.startswith("@@")))
    return lines


def namespace_mapper(physical: dict[str, str]) -> Callable[[str], str]:
    """A text mapper replacing sandbox namespaces (longest first) by the logical ones."""
    if not physical:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(k) for k in sorted(physical, key=len, reverse=True)))
    return lambda text: pattern.sub(lambda m: physical[m.group(0)], text)
