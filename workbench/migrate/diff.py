"""``diff(old, new)``: every difference between two schema models, renames detected first.

The old model is first renamed (tables, columns, and every reference to them: keys, checks, indexes,
views) so that what is left to compare is structure; objects then match by name, and constraints and
indexes by definition (a definition equal under another name is a rename of the constraint or index).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd

from workbench.ddl import ImportResult
from workbench.ddl.export.target import DEFAULT_SCHEMAS
from workbench.errors import WorkbenchError
from workbench.migrate.changes import Change, Kind, Note, Rename
from workbench.migrate.compare import expression_key, type_key
from workbench.migrate.renames import (
    Hints,
    RenameMap,
    check_dialects,
    match_key,
    renamed_model,
    resolve,
    table_match_key,
)
from workbench.safe_display import safe_html
from workbench.schema.model import CheckConstraint, Column, ForeignKey, Index, Schema, Table, UniqueConstraint

Source = Schema | ImportResult


@dataclass(frozen=True)
class SchemaDiff:
    """What separates two models: changes, renames (applied or only candidates) and notes."""

    old: Schema
    new: Schema
    changes: tuple[Change, ...]
    renames: tuple[Rename, ...] = ()
    notes: tuple[Note, ...] = ()
    renamed_old: Schema = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    rename_map: RenameMap = field(default_factory=RenameMap, repr=False, compare=False)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def of_kind(self, *kinds: Kind) -> list[Change]:
        return [c for c in self.changes if c.kind in kinds]

    def to_dict(self) -> dict[str, object]:
        """The ``workbench diff --json`` document."""
        return {"changes": [c.to_dict() for c in self.changes], "renames": [r.to_dict() for r in self.renames],
                "notes": [{"object": n.object, "message": n.message} for n in self.notes]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([c.to_dict() for c in self.changes], columns=["kind", "object", "detail"])

    def __repr__(self) -> str:
        applied = sum(r.applied for r in self.renames)
        return (f"<SchemaDiff: {len(self.changes)} changes, {applied} renames applied, "
                f"{len(self.renames) - applied} rename candidates not applied, {len(self.notes)} notes>")

    def _repr_html_(self) -> str:
        return safe_html(_diff_html, self)


def _diff_html(diff: SchemaDiff) -> str:
    rows = "".join(f"<tr><td>{html.escape(str(c.kind))}</td><td><code>{html.escape(c.object)}</code></td>"
                   f"<td>{html.escape(c.detail)}</td></tr>" for c in diff.changes)
    parts = [f"<p>{html.escape(repr(diff))}</p>",
             f"<table><tr><th>change</th><th>object</th><th>detail</th></tr>{rows}</table>"]
    if diff.renames:
        renames = "".join(
            f"<tr><td>{r.kind}</td><td><code>{html.escape(r.old)}</code></td><td><code>{html.escape(r.new)}</code></td>"
            f"<td>{r.confidence:.0%}</td><td>{'yes' if r.applied else '<b>no</b>'}</td>"
            f"<td>{html.escape(r.reason)}</td></tr>" for r in diff.renames)
        parts.append("<p><b>Renames</b></p><table><tr><th>kind</th><th>old</th><th>new</th><th>confidence</th>"
                     f"<th>applied</th><th>why</th></tr>{renames}</table>")
    if diff.notes:
        parts.append("<p><b>Notes</b></p><ul>" + "".join(f"<li>{html.escape(str(n))}</li>" for n in diff.notes)
                     + "</ul>")
    return "".join(parts)


def as_schema(source: Source, side: str) -> tuple[Schema, list[Note]]:
    """The model of a source, and notes for what its import report says the model does not hold."""
    if isinstance(source, ImportResult):
        notes = [Note(o.where, f"{side}: {o.kind} is outside the schema model and not migrated")
                 for o in source.report.skipped if o.kind.startswith(("CREATE FUNCTION", "CREATE TRIGGER",
                                                                       "CREATE POLICY", "CREATE RULE",
                                                                       "CREATE EXTENSION"))]
        errors = source.report.errors
        if errors:
            first = errors[0]
            raise WorkbenchError(f"{first.where}: the {side} schema did not import cleanly ({len(errors)} "
                                 f"statement(s) failed; first: {first.kind}: {first.reason}); a diff of a partial "
                                 f"model would look complete but is not: fix the file first")
        return source.schema, notes
    if isinstance(source, Schema):
        return source, []
    raise TypeError(f"diff takes a Schema or an ImportResult, not {type(source).__name__}")


def diff(old: Source, new: Source, *, renames: Hints | None = None, detect_renames: bool = True) -> SchemaDiff:
    """Every change from ``old`` to ``new``; ``renames={"orders.total": "orders.amount"}`` confirms a
    rename (a table ``"a": "b"``, a column ``"t.a": "t.b"``), ``{"t.a": None}`` refuses a guessed one;
    ``detect_renames=False`` applies the hints only."""
    old_schema, notes = as_schema(old, "old")
    new_schema, new_notes = as_schema(new, "new")
    dialect = check_dialects(old_schema, new_schema)
    found, applied = resolve(old_schema, new_schema, renames, guess=detect_renames)
    before = renamed_model(old_schema, applied)
    changes = _rename_changes(old_schema, new_schema, applied)
    changes += Comparison(before, new_schema, dialect).changes()
    all_notes = [*notes, *new_notes, *_rename_notes(found)]
    all_notes += [Note(c.object, c.detail, blocking=True) for c in changes if c.kind == Kind.REPARTITION]
    return SchemaDiff(old_schema, new_schema, tuple(changes), tuple(found), tuple(all_notes), before, applied)


def _rename_notes(found: list[Rename]) -> list[Note]:
    return [Note(r.old, f"possible rename to {r.new} ({r.confidence:.0%}) not applied: {r.reason}")
            for r in found if not r.applied]


def _rename_changes(old: Schema, new: Schema, applied: RenameMap) -> list[Change]:
    changes = []
    by_key = {table_match_key(t): t for t in old.tables}
    new_keys = {table_match_key(t): t.key for t in new.tables}
    for key, target in applied.tables.items():
        changes.append(Change(Kind.RENAME_TABLE, target.key, None, by_key[key], target,
                              f"{by_key[key].key} -> {target.name}"))
    for table_key, mapping in applied.columns.items():
        for before, after in mapping.items():
            changes.append(Change(Kind.RENAME_COLUMN, new_keys[table_key], after, before, after,
                                  f"{before} -> {after}"))
    return changes


class Comparison:
    """The structural comparison of the renamed old model with the new one."""

    def __init__(self, old: Schema, new: Schema, dialect: str | None):
        self.old, self.new, self.dialect = old, new, dialect
        self.out: list[Change] = []

    def changes(self) -> list[Change]:
        self._namespaces()
        self._enums()
        self._domains()
        self._sequences()
        olds = {table_match_key(t): t for t in self.old.tables}
        news = {table_match_key(t): t for t in self.new.tables}
        for key, table in news.items():
            if key not in olds:
                self.add(Kind.CREATE_TABLE, table.key, None, None, table, f"{len(table.columns)} columns")
        for key, table in olds.items():
            if key not in news:
                self.add(Kind.DROP_TABLE, table.key, None, table, None, "its rows are lost")
        for key in _both(olds, news):
            self._table(olds[key], news[key])
        self._moves(olds, news)
        self._views()
        return self.out

    def add(self, kind: Kind, table: str | None, name: str | None, old: object, new: object, detail: str) -> None:
        self.out.append(Change(kind, table, name, old, new, detail))

    # -- types, sequences, namespaces ----------------------------------------------------------------

    def _namespaces(self) -> None:
        have = set(self.old.schemas) | {t.schema for t in self.old.tables if t.schema}
        used = dict.fromkeys([*self.new.schemas, *(t.schema for t in self.new.tables if t.schema)])
        for namespace in used:
            if namespace and namespace not in have and namespace not in DEFAULT_SCHEMAS:
                self.add(Kind.CREATE_SCHEMA, None, namespace, None, namespace, "")

    def _enums(self) -> None:
        olds = {match_key(e.schema, e.name): e for e in self.old.enums}
        news = {match_key(e.schema, e.name): e for e in self.new.enums}
        for key, enum in news.items():
            if key not in olds:
                self.add(Kind.CREATE_ENUM, None, enum.key, None, enum, ", ".join(enum.values))
        for key, enum in olds.items():
            if key not in news:
                self.add(Kind.DROP_ENUM, None, enum.key, enum, None, "")
        for key in _both(olds, news):
            before, after = olds[key], news[key]
            if before.values == after.values:
                continue
            gone = [v for v in before.values if v not in after.values]
            added = [v for v in after.values if v not in before.values]
            kept = [v for v in before.values if v not in gone]
            if not gone and [v for v in after.values if v in before.values] == kept:
                for value in added:
                    self.add(Kind.ADD_ENUM_VALUE, None, after.key, before, after, value)
            elif len(before.values) == len(after.values) and all(
                    a == b or (a in gone and b in added) for a, b in zip(before.values, after.values, strict=True)):
                for a, b in zip(before.values, after.values, strict=True):
                    if a != b:
                        self.add(Kind.RENAME_ENUM_VALUE, None, after.key, a, b, f"{a} -> {b}")
            else:
                self.add(Kind.RECREATE_ENUM, None, after.key, before, after,
                         f"values {', '.join(before.values)} -> {', '.join(after.values)}: PostgreSQL cannot drop or "
                         f"reorder enum values, the type is rebuilt and its columns converted")

    def _domains(self) -> None:
        olds = {match_key(d.schema, d.name): d for d in self.old.domains}
        news = {match_key(d.schema, d.name): d for d in self.new.domains}
        for key in _only(news, olds):
            self.add(Kind.CREATE_DOMAIN, None, news[key].key, None, news[key], news[key].type)
        for key in _only(olds, news):
            self.add(Kind.DROP_DOMAIN, None, olds[key].key, olds[key], None, "")
        for key in _both(olds, news):
            if self._domain_key(olds[key]) != self._domain_key(news[key]):
                self.add(Kind.DROP_DOMAIN, None, olds[key].key, olds[key], None, "changed: dropped and created again")
                self.add(Kind.CREATE_DOMAIN, None, news[key].key, None, news[key], news[key].type)

    def _domain_key(self, domain) -> tuple:
        return (type_key(domain.type, self.dialect), domain.nullable, expression_key(domain.default, self.dialect),
                tuple(sorted(expression_key(c.expression, self.dialect) or "" for c in domain.checks)))

    def _sequences(self) -> None:
        olds = {match_key(s.schema, s.name): s for s in self.old.sequences}
        news = {match_key(s.schema, s.name): s for s in self.new.sequences}
        for key in _only(news, olds):
            self.add(Kind.CREATE_SEQUENCE, None, news[key].key, None, news[key], "")
        for key in _only(olds, news):
            self.add(Kind.DROP_SEQUENCE, None, olds[key].key, olds[key], None, "")
        for key in _both(olds, news):
            if _owner_key(olds[key].owned_by) != _owner_key(news[key].owned_by):
                self.add(Kind.SEQUENCE_OWNER, None, news[key].key, olds[key], news[key],
                         f"owned by {news[key].owned_by or 'nothing'}")

    # -- tables ------------------------------------------------------------------------------------

    def _table(self, before: Table, after: Table, *, partition: bool = False) -> None:
        key = after.key
        if not partition:
            self._columns(before, after)
        self._primary_key(before, after)
        self._keyed(key, before.uniques, after.uniques, self._unique_key, Kind.ADD_UNIQUE, Kind.DROP_UNIQUE)
        self._keyed(key, before.checks, after.checks, self._check_key, Kind.ADD_CHECK, Kind.DROP_CHECK)
        self._keyed(key, before.foreign_keys, after.foreign_keys, self._fk_key, Kind.ADD_FOREIGN_KEY,
                    Kind.DROP_FOREIGN_KEY)
        self._keyed(key, before.indexes, after.indexes, self._index_key, Kind.CREATE_INDEX, Kind.DROP_INDEX)
        if before.comment != after.comment:
            self.add(Kind.COMMENT, key, None, before.comment, after.comment, after.comment or "(removed)")
        self._partitions(before, after)

    def _columns(self, before: Table, after: Table) -> None:
        key = after.key
        for column in after.columns:
            if not before.has_column(column.name):
                self.add(Kind.ADD_COLUMN, key, column.name, None, column, self._column_text(column))
        for column in before.columns:
            if not after.has_column(column.name):
                self.add(Kind.DROP_COLUMN, key, column.name, column, None, "its values are lost")
        for new in after.columns:
            if before.has_column(new.name):
                self._column(key, before.column(new.name), new)

    def _column_text(self, column: Column) -> str:
        parts = [column.type]
        if column.generated:
            parts.append(f"generated as ({column.generated})")
        if column.identity:
            parts.append(f"identity {column.identity}")
        if column.default is not None:
            parts.append(f"default {column.default}")
        if not column.nullable:
            parts.append("not null")
        return " ".join(parts)

    def _column(self, key: str, old: Column, new: Column) -> None:
        d = self.dialect
        if type_key(old.type, d) != type_key(new.type, d):
            self.add(Kind.ALTER_TYPE, key, new.name, old, new, f"{old.type} -> {new.type}")
        if expression_key(old.generated, d) != expression_key(new.generated, d):
            self.add(Kind.CHANGE_GENERATED, key, new.name, old, new,
                     f"{old.generated or 'not generated'} -> {new.generated or 'not generated'}")
        if old.identity != new.identity:
            if old.identity:
                self.add(Kind.DROP_IDENTITY, key, new.name, old, new, f"was generated {old.identity} as identity")
            if new.identity:
                self.add(Kind.ADD_IDENTITY, key, new.name, old, new, f"generated {new.identity} as identity")
        if not new.generated and expression_key(old.default, d) != expression_key(new.default, d):
            if new.default is None:
                self.add(Kind.DROP_DEFAULT, key, new.name, old, new, f"was {old.default}")
            else:
                self.add(Kind.SET_DEFAULT, key, new.name, old, new, new.default)
        if old.nullable and not new.nullable:
            self.add(Kind.SET_NOT_NULL, key, new.name, old, new, "existing rows must have a value")
        elif not old.nullable and new.nullable:
            self.add(Kind.DROP_NOT_NULL, key, new.name, old, new, "")
        if (old.comment or None) != (new.comment or None):
            self.add(Kind.COMMENT, key, new.name, old.comment, new.comment, new.comment or "(removed)")

    def _primary_key(self, before: Table, after: Table) -> None:
        old, new = before.primary_key, after.primary_key
        if (old and old.columns) == (new and new.columns):
            if old and new and old.name and new.name and old.name != new.name:
                self.add(Kind.RENAME_CONSTRAINT, after.key, new.name, old, new, f"{old.name} -> {new.name}")
            return
        if old:
            self.add(Kind.DROP_PRIMARY_KEY, after.key, old.name, old, None, f"({', '.join(old.columns)})")
        if new:
            self.add(Kind.ADD_PRIMARY_KEY, after.key, new.name, None, new, f"({', '.join(new.columns)})")

    def _keyed(self, table: str, olds: tuple, news: tuple, key, add: Kind, drop: Kind) -> None:
        """Match constraints or indexes by definition; a matched pair under other names is a rename."""
        remaining = list(olds)
        for item in news:
            match = next((o for o in remaining if key(o) == key(item) and o.name == item.name), None) or \
                    next((o for o in remaining if key(o) == key(item)), None)
            if match is None:
                self.add(add, table, item.name, None, item, self._describe(item))
                continue
            remaining.remove(match)
            if match.name and item.name and match.name != item.name:
                kind = Kind.RENAME_INDEX if isinstance(item, Index) else Kind.RENAME_CONSTRAINT
                self.add(kind, table, item.name, match, item, f"{match.name} -> {item.name}")
        for item in remaining:
            self.add(drop, table, item.name, item, None, self._describe(item))

    def _describe(self, item: object) -> str:
        if isinstance(item, Index):
            unique = "unique " if item.unique else ""
            where = f" where {item.where}" if item.where else ""
            include = f" include ({', '.join(item.include)})" if item.include else ""
            return f"{unique}{item.method} ({', '.join(e.expression for e in item.elements)}){include}{where}"
        if isinstance(item, ForeignKey):
            return f"({', '.join(item.columns)}) -> {item.ref_key} ({', '.join(item.ref_columns)})"
        if isinstance(item, UniqueConstraint):
            return f"({', '.join(item.columns)})"
        if isinstance(item, CheckConstraint):
            return item.expression
        return ""

    def _unique_key(self, unique: UniqueConstraint) -> tuple:
        return unique.columns, unique.nulls_not_distinct

    def _check_key(self, check: CheckConstraint) -> tuple:
        return (expression_key(check.expression, self.dialect),)

    def _fk_key(self, fk: ForeignKey) -> tuple:
        def action(value: str | None) -> str:
            return (value or "NO ACTION").upper()
        return (fk.columns, match_key(fk.ref_schema, fk.ref_table), fk.ref_columns, action(fk.on_delete),
                action(fk.on_update), fk.deferrable, fk.initially_deferred)

    def _index_key(self, index: Index) -> tuple:
        elements = tuple((expression_key(e.expression, self.dialect) if e.is_expression else e.expression,
                          e.descending, e.nulls_first, e.opclass, e.collation) for e in index.elements)
        return (elements, index.unique, (index.method or "btree").lower(), index.include,
                expression_key(index.where, self.dialect), index.nulls_not_distinct)

    def _partitions(self, before: Table, after: Table) -> None:
        old_p, new_p = before.partitioning, after.partitioning
        if (old_p and (old_p.strategy, old_p.key)) != (new_p and (new_p.strategy, new_p.key)):
            self.add(Kind.REPARTITION, after.key, None, before, after,
                     "PostgreSQL cannot change how an existing table is partitioned: build the new table beside "
                     "it, copy the rows, and swap (an expand/contract migration)")
            return
        olds = {table_match_key(p): p for p in before.partitions}
        news = {table_match_key(p): p for p in after.partitions}
        for key, partition in news.items():
            old = olds.get(key)
            if old is not None and expression_key(old.bound, self.dialect) == expression_key(partition.bound,
                                                                                            self.dialect):
                self._table(old, partition, partition=True)
                continue
            if old is not None:
                self.add(Kind.DROP_PARTITION, old.key, None, old, after, f"of {after.key}: bound changed, its rows "
                                                                         f"are lost")
            self.add(Kind.ADD_PARTITION, partition.key, None, after, partition,
                     f"of {after.key} {partition.bound or 'DEFAULT'}")
        for key, partition in olds.items():
            if key not in news:
                self.add(Kind.DROP_PARTITION, partition.key, None, partition, after, f"of {after.key}: its rows are "
                                                                                     f"lost")

    def _moves(self, olds: dict[str, Table], news: dict[str, Table]) -> None:
        """Columns dropped from a table that reappear in a new table referencing it (a split), or
        columns added to a table that a dropped table referencing it held (a merge)."""
        created = [c.new for c in self.out if c.kind == Kind.CREATE_TABLE]
        dropped = [c.old for c in self.out if c.kind == Kind.DROP_TABLE]
        for target in created:
            for fk in target.foreign_keys:
                source = news.get(match_key(fk.ref_schema, fk.ref_table))
                if source is None or table_match_key(source) not in olds:
                    continue
                self._move(olds[table_match_key(source)], target, fk, split=True)
        for source in dropped:
            for fk in source.foreign_keys:
                target = news.get(match_key(fk.ref_schema, fk.ref_table))
                if target is None or table_match_key(target) not in olds:
                    continue
                self._move(source, target, fk, split=False)

    def _move(self, old_holder: Table, new_holder: Table, fk: ForeignKey, *, split: bool) -> None:
        kind = Kind.DROP_COLUMN if split else Kind.ADD_COLUMN
        table = old_holder.key if split else new_holder.key
        moving = [c for c in self.out if c.kind == kind and c.table == table]
        other = new_holder if split else old_holder
        columns = tuple(c.name for c in moving if other.has_column(c.name) and type_key(
            other.column(c.name).type, self.dialect) == type_key((c.old or c.new).type, self.dialect))
        if not columns:
            return
        source, target = old_holder, new_holder
        how = "split" if split else "merge"
        self.add(Kind.MOVE_COLUMNS, target.key, None, (source, fk), (target, columns),
                 f"{how}: {', '.join(columns)} move from {source.key} to {target.key} (rows copied over "
                 f"{', '.join(fk.columns)} -> {', '.join(fk.ref_columns)})")

    # -- views ---------------------------------------------------------------------------------------

    def _views(self) -> None:
        olds = {match_key(v.schema, v.name): v for v in self.old.views}
        news = {match_key(v.schema, v.name): v for v in self.new.views}
        for key, view in olds.items():
            if key not in news:
                self.add(Kind.DROP_VIEW, None, view.key, view, None, "")
        for key, view in news.items():
            old = olds.get(key)
            if old is not None and (expression_key(old.sql, self.dialect), old.materialized) == (
                    expression_key(view.sql, self.dialect), view.materialized):
                continue
            if old is not None:
                self.add(Kind.DROP_VIEW, None, old.key, old, None, "definition changed: dropped and created again")
            self.add(Kind.CREATE_VIEW, None, view.key, None, view, "")


def _owner_key(owned_by: str | None) -> str | None:
    if owned_by is None:
        return None
    parts = owned_by.split(".")
    return ".".join(parts[1:]) if len(parts) == 3 and parts[0] in DEFAULT_SCHEMAS else owned_by


def _both(olds: dict, news: dict) -> list:
    """Keys on both sides, in the new model's order (sets would change the order from run to run)."""
    return [key for key in news if key in olds]


def _only(these: dict, others: dict) -> list:
    """Keys of ``these`` missing from ``others``, in ``these``'s order."""
    return [key for key in these if key not in others]
