"""Renames of tables and columns: given as hints, or detected from structure with a confidence.

Evidence for a table rename is what the table holds (its columns by name and type, its primary key,
its foreign keys) and, a little, its name; for a column rename it is the type (required), nullability,
default, position, the keys, checks and indexes it takes part in, and its name. A guess is applied only
when its confidence reaches ``APPLY_AT`` and no other candidate comes close; anything else is listed
(with the candidate named) and planned as a drop plus an add, never applied silently.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from workbench.ddl.export.target import DEFAULT_SCHEMAS
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.migrate.changes import Rename
from workbench.migrate.compare import expression_key, rename_in, type_key
from workbench.schema.model import Column, Index, Schema, Table, qualified

APPLY_AT = 0.8  # a guess at least this sure (and clearly the best) is applied
CLOSE = 0.05  # two candidates closer than this are ambiguous: neither is applied
CANDIDATE_AT = 0.5  # weaker guesses are not even listed

Hints = Mapping[str, str | None]


def match_key(schema: str | None, name: str) -> str:
    """How tables (and types, views) match across models: bare names for the default schemas."""
    return name if schema is None or schema in DEFAULT_SCHEMAS else f"{schema}.{name}"


def table_match_key(table: Table) -> str:
    return match_key(table.schema, table.name)


@dataclass
class RenameMap:
    """Applied renames: old table match key -> new table, and per new table old column -> new column."""

    tables: dict[str, Table] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # new table match key -> {old: new}
    rejected: set[tuple[str, str]] = field(default_factory=set)  # hints of None: (table, column or "")

    def table_names(self, old: Schema) -> dict[str, str]:
        """Bare old table name -> bare new name (for SQL text: views, checks)."""
        by_key = {table_match_key(t): t for t in old.tables}
        return {by_key[k].name: t.name for k, t in self.tables.items() if by_key[k].name != t.name}


def resolve(old: Schema, new: Schema, hints: Hints | None, *, guess: bool = True) -> tuple[list[Rename], RenameMap]:
    """The renames to apply (hints first, then confident guesses) and every candidate considered."""
    found: list[Rename] = []
    renames = RenameMap()
    column_hints = _read_hints(old, new, hints or {}, renames, found)
    olds = {table_match_key(t): t for t in old.tables}
    news = {table_match_key(t): t for t in new.tables}
    gone = [k for k in olds if k not in news and k not in renames.tables]
    added = [k for k in news if k not in olds and news[k] not in renames.tables.values()]
    scored = [(_table_score(olds[o], news[n], old.dialect), o, n) for o in gone for n in added
              if guess and (o, "") not in renames.rejected]
    for rename, (o, n) in _choose(scored, "table", lambda k: olds[k].key, lambda k: news[k].key):
        found.append(rename)
        if rename.applied:
            renames.tables[o] = news[n]
    pairs = [(olds[o], news[table_match_key(t)]) for o, t in renames.tables.items()]
    pairs += [(olds[k], news[k]) for k in olds if k in news]
    for before, after in pairs:
        _columns(before, after, old.dialect, column_hints, renames, found, guess)
    return found, renames


def _read_hints(old: Schema, new: Schema, hints: Hints, renames: RenameMap, found: list[Rename]) -> dict:
    """Table hints applied at once; column hints returned per (old table, old column)."""
    columns: dict[tuple[str, str], str | None] = {}
    for before, after in hints.items():
        table = old.find_table(before)
        if table is not None and (after is None or new.find_table(after) is not None):
            if after is None:
                renames.rejected.add((table_match_key(table), ""))
                continue
            target = new.table(after)
            renames.tables[table_match_key(table)] = target
            found.append(Rename("table", table.key, target.key, 1.0, True, "hint"))
            continue
        table_name, _, column = before.rpartition(".")
        table = old.find_table(table_name) if table_name else None
        if table is None or not table.has_column(column):
            choices = [t.key for t in old.tables] + [f"{t.key}.{c.name}" for t in old.tables for c in t.columns]
            raise UnknownNameError("table or table.column of the old schema (a rename hint)", before, choices)
        target_column = None if after is None else after.rpartition(".")[2]
        columns[(table_match_key(table), column)] = target_column
    return columns


def _columns(before: Table, after: Table, dialect: str | None, hints: dict, renames: RenameMap,
             found: list[Rename], guess: bool) -> None:
    mapping: dict[str, str] = {}
    key = table_match_key(before)
    gone = [c for c in before.columns if not after.has_column(c.name)]
    added = [c for c in after.columns if not before.has_column(c.name)]
    for column in list(gone):
        if (key, column.name) not in hints:
            continue
        target = hints[(key, column.name)]
        gone.remove(column)
        if target is None:
            continue
        if not after.has_column(target):
            raise UnknownNameError(f"column of {after.key} (rename hint for {before.key}.{column.name})", target,
                                   (c.name for c in after.columns))
        mapping[column.name] = target
        added = [c for c in added if c.name != target]
        found.append(Rename("column", f"{before.key}.{column.name}", f"{after.key}.{target}", 1.0, True, "hint"))
    roles_before, roles_after = _roles(before, dialect), _roles(after, dialect)
    scored = [(_column_score(before, o, after, n, roles_before, roles_after, dialect), o.name, n.name)
              for o in gone for n in added if guess]
    for rename, (o, n) in _choose(scored, "column", lambda c: f"{before.key}.{c}", lambda c: f"{after.key}.{c}"):
        found.append(rename)
        if rename.applied:
            mapping[o] = n
    if mapping:
        renames.columns[table_match_key(after)] = mapping


def _choose(scored: list[tuple[float, str, str]], kind: str, old_label, new_label) -> list[tuple[Rename, tuple]]:
    """Greedy best-first pairing; a pair is applied when sure and clearly better than its rivals."""
    scored = sorted((s for s in scored if s[0] >= CANDIDATE_AT), reverse=True)
    taken_old: set[str] = set()
    taken_new: set[str] = set()
    chosen = []
    for score, o, n in scored:
        if o in taken_old or n in taken_new:
            continue
        rivals = [(s, a, b) for s, a, b in scored if (a == o) != (b == n) and s > score - CLOSE
                  and a not in taken_old and b not in taken_new]
        taken_old.add(o)
        taken_new.add(n)
        if rivals:
            names = ", ".join(sorted({new_label(b) if a == o else old_label(a) for _, a, b in rivals}))
            reason = f"ambiguous: {names} fit as well; give a hint (renames=...)"
            chosen.append((Rename(kind, old_label(o), new_label(n), score, False, reason), (o, n)))
            continue
        applied = score >= APPLY_AT
        reason = "detected" if applied else f"below {APPLY_AT:.0%}: planned as drop + add; confirm with a hint"
        chosen.append((Rename(kind, old_label(o), new_label(n), score, applied, reason), (o, n)))
    return chosen


def _similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio()


def _table_score(before: Table, after: Table, dialect: str | None) -> float:
    def shape(table: Table) -> set[tuple[str, str]]:
        return {(c.name, type_key(c.type, dialect)) for c in table.columns}

    a, b = shape(before), shape(after)
    columns = len(a & b) / len(a | b) if a | b else 0.0
    pk = 1.0 if (before.primary_key and after.primary_key
                 and before.primary_key.columns == after.primary_key.columns) else 0.0
    refs = {(fk.columns, fk.ref_table) for fk in before.foreign_keys}
    fks = len(refs & {(fk.columns, fk.ref_table) for fk in after.foreign_keys}) / len(refs) if refs else 0.0
    return 0.7 * columns + 0.1 * pk + 0.05 * fks + 0.15 * _similar(before.name, after.name)


def _roles(table: Table, dialect: str | None) -> dict[str, set[str]]:
    """Column -> the keys, checks and indexes it takes part in, written without the column's own name."""
    roles: dict[str, set[str]] = {c.name: set() for c in table.columns}

    def add(columns: tuple[str, ...], label: str) -> None:
        for position, name in enumerate(columns):
            if name in roles:
                roles[name].add(f"{label}#{position}/{len(columns)}")

    if table.primary_key:
        add(table.primary_key.columns, "pk")
    for unique in table.uniques:
        add(unique.columns, "unique")
    for fk in table.foreign_keys:
        add(fk.columns, f"fk->{fk.ref_table}")
    for index in table.indexes:
        add(tuple(e.expression for e in index.elements if not e.is_expression), _index_label(index))
    for check in table.checks:
        for name in roles:
            text = expression_key(check.expression, dialect, {name: "_"})
            if text != expression_key(check.expression, dialect):
                roles[name].add(f"check:{text}")
    return roles


def _index_label(index: Index) -> str:
    return f"index:{index.method}:{index.unique}:{index.where or ''}"


def _column_score(before: Table, old: Column, after: Table, new: Column, roles_before: dict, roles_after: dict,
                  dialect: str | None) -> float:
    if type_key(old.type, dialect) != type_key(new.type, dialect):
        return 0.0
    score = 0.4 + (0.1 if old.nullable == new.nullable else 0.0)
    same_default = expression_key(old.default, dialect) == expression_key(new.default, dialect)
    score += (0.1 if old.default is not None else 0.05) if same_default else 0.0
    mine, theirs = roles_before[old.name], roles_after[new.name]
    score += 0.2 if mine and mine == theirs else 0.0
    position = [c.name for c in before.columns].index(old.name) == [c.name for c in after.columns].index(new.name)
    score += 0.1 if position else 0.0
    return score + 0.1 * _similar(old.name, new.name)


def renamed_model(old: Schema, renames: RenameMap) -> Schema:
    """The old model with the applied renames done: what the schema is right after the rename steps."""
    if not renames.tables and not renames.columns:
        return old
    table_names = renames.table_names(old)
    dialect = old.dialect

    def ref_name(schema: str | None, name: str) -> tuple[str | None, str]:
        target = renames.tables.get(match_key(schema, name))
        return (target.schema, target.name) if target is not None else (schema, name)

    def key_after(key: str) -> str:
        schema, _, name = key.rpartition(".")
        return qualified(*ref_name(schema or None, name))

    def owner_after(owned_by: str | None) -> str | None:
        if owned_by is None:
            return None
        table_key, _, column = owned_by.rpartition(".")
        schema, _, name = table_key.rpartition(".")
        return f"{key_after(table_key)}.{columns_of(schema or None, name).get(column, column)}"

    def columns_of(schema: str | None, name: str) -> dict[str, str]:
        s, n = ref_name(schema, name)
        return renames.columns.get(match_key(s, n), {})

    def table(t: Table) -> Table:
        schema, name = ref_name(t.schema, t.name)
        mapping = renames.columns.get(match_key(schema, name), {})

        def cols(names: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(mapping.get(c, c) for c in names)

        fks = []
        for fk in t.foreign_keys:
            ref_schema, ref_table = ref_name(fk.ref_schema, fk.ref_table)
            ref_map = columns_of(fk.ref_schema, fk.ref_table)
            fks.append(replace(fk, columns=cols(fk.columns), ref_schema=ref_schema, ref_table=ref_table,
                               ref_columns=tuple(ref_map.get(c, c) for c in fk.ref_columns)))
        return replace(
            t, name=name, schema=schema,
            columns=tuple(replace(c, name=mapping.get(c.name, c.name),
                                  generated=rename_in(c.generated, dialect, mapping)) for c in t.columns),
            primary_key=replace(t.primary_key, columns=cols(t.primary_key.columns)) if t.primary_key else None,
            uniques=tuple(replace(u, columns=cols(u.columns)) for u in t.uniques),
            checks=tuple(replace(c, expression=rename_in(c.expression, dialect, mapping)) for c in t.checks),
            foreign_keys=tuple(fks),
            indexes=tuple(_renamed_index(i, mapping, dialect) for i in t.indexes),
            partitioning=replace(t.partitioning, key=cols(t.partitioning.key)) if t.partitioning else None,
            partitions=tuple(table(p) for p in t.partitions),
        )

    def view(v):
        mapping: dict[str, str] = {}
        for dependency in v.depends_on:
            schema, _, name = dependency.rpartition(".")
            mapping.update(columns_of(schema or None, name))
        depends = tuple(key_after(d) for d in v.depends_on)
        return replace(v, sql=rename_in(v.sql, dialect, mapping, table_names) or v.sql, depends_on=depends)

    sequences = tuple(replace(s, owned_by=owner_after(s.owned_by)) for s in old.sequences)
    return replace(old, tables=tuple(table(t) for t in old.tables), views=tuple(view(v) for v in old.views),
                   sequences=sequences)


def _renamed_index(index: Index, mapping: dict[str, str], dialect: str | None) -> Index:
    if not mapping:
        return index
    elements = tuple(replace(e, expression=rename_in(e.expression, dialect, mapping) if e.is_expression
                             else mapping.get(e.expression, e.expression)) for e in index.elements)
    return replace(index, elements=elements, include=tuple(mapping.get(c, c) for c in index.include),
                   where=rename_in(index.where, dialect, mapping))


def check_dialects(old: Schema, new: Schema) -> str | None:
    """The dialect both models are written in; two different dialects are refused with a fix."""
    if old.dialect and new.dialect and old.dialect != new.dialect:
        raise WorkbenchError(
            f"the two schemas are written in different dialects (old: {old.dialect}, new: {new.dialect}): types "
            f"and expressions would all look changed; fix: import both in one dialect (translate one first with "
            f"`workbench ddl FILE --from {new.dialect} --to {old.dialect}`, or wb.to_ddl)")
    return old.dialect or new.dialect
