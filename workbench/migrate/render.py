"""Changes -> statements: each change rendered for the target dialect, naive or in its safe form.

CREATE TABLE / INDEX / VIEW / TYPE / SEQUENCE and every constraint come from the exporter
(``workbench.ddl.export``), so a migration creates objects exactly as a fresh export would; ALTER
sub-commands sqlglot cannot build are pglast trees (``workbench.migrate.pg``). What the target cannot
express becomes a blocking note, never a statement left out silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pglast
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from workbench.ddl.export.columns import column_def
from workbench.ddl.export.context import Context
from workbench.ddl.export.indexes import create_index
from workbench.ddl.export.objects import create_domain, create_enum, create_sequence, create_view, sequence_owner
from workbench.ddl.export.order import topological
from workbench.ddl.export.tables import (
    add_constraint,
    check_constraint,
    create_table,
    foreign_key,
    primary_key_constraint,
    unique_constraint,
)
from workbench.ddl.export.target import target_for
from workbench.ddl.export.types import resolve_type
from workbench.migrate import names, pg
from workbench.migrate.changes import Change, Kind, Note
from workbench.migrate.compare import parse_expression, type_key
from workbench.migrate.diff import SchemaDiff
from workbench.migrate.locks import Form, type_change_rewrites
from workbench.migrate.renames import match_key
from workbench.migrate.steps import Phase, Step
from workbench.schema.model import CheckConstraint, Column, ForeignKey, Index, IndexElement, Table, View

BATCH_ROWS = 1_000  # rows per batch of a safe backfill (row locks held until its commit)
# Functions whose value differs per row: a default calling them rewrites the table on ADD COLUMN.
VOLATILE = frozenset({"random", "rand", "uuid", "gen_random_uuid", "uuidv4", "uuidv7", "uuid_generate_v4",
                      "clock_timestamp", "timeofday", "nextval", "txid_current"})
# Stable or immutable calls PostgreSQL evaluates once for ADD COLUMN ... DEFAULT (no rewrite).
_ONCE = frozenset({"now", "current_timestamp", "current_date", "current_time", "localtimestamp", "lower",
                   "upper", "coalesce", "current_user", "session_user", "timestamp", "transaction_timestamp"})
# What targets other than PostgreSQL can do with ALTER (DuckDB's ALTER TABLE is this narrow).
_PORTABLE = frozenset({Form.CREATE_SCHEMA, Form.CREATE_TYPE, Form.DROP_TYPE, Form.CREATE_SEQUENCE,
                       Form.DROP_SEQUENCE, Form.CREATE_TABLE, Form.DROP_TABLE, Form.RENAME_TABLE, Form.ADD_COLUMN,
                       Form.DROP_COLUMN, Form.RENAME_COLUMN, Form.ALTER_COLUMN_TYPE, Form.SET_DEFAULT,
                       Form.CREATE_INDEX, Form.DROP_INDEX, Form.CREATE_VIEW, Form.DROP_VIEW, Form.COMMENT,
                       Form.UPDATE, Form.INSERT_SELECT})
_ALTERS = frozenset({Form.RENAME_TABLE, Form.ADD_COLUMN, Form.DROP_COLUMN, Form.RENAME_COLUMN,
                     Form.ALTER_COLUMN_TYPE, Form.SET_DEFAULT})
Node = exp.Expression | pglast.ast.Node  # what a step is built from


def is_volatile(default: str | None, dialect: str | None) -> bool:
    """True when a default gives each row its own value (PostgreSQL then rewrites on ADD COLUMN)."""
    tree = parse_expression(default, dialect) if default else None
    if tree is None:
        return False
    for call in tree.find_all(exp.Func):
        name = (call.name if isinstance(call, exp.Anonymous) else call.sql_name()).lower()
        if name in VOLATILE or (isinstance(call, exp.Anonymous) and name not in _ONCE):
            return True
    return False


class Renderer:
    """Renders the changes of one diff for one dialect; ``run()`` returns the steps and the notes."""

    def __init__(self, diff: SchemaDiff, dialect: str, *, safe: bool):
        self.diff, self.safe = diff, safe
        self.target = target_for(dialect)
        self.dialect = self.target.dialect
        self.postgres = self.dialect == "postgres"
        self.old = Context(diff.renamed_old, self.target)
        self.original = Context(diff.old, self.target)
        self.new = Context(diff.new, self.target)
        self.created = {c.new.key for c in diff.changes if c.kind == Kind.CREATE_TABLE}
        self.steps: list[Step] = []
        self.notes: list[Note] = []
        self._referenced = {ref.key for t in diff.renamed_old.tables for fk in t.foreign_keys
                            if (ref := diff.renamed_old.referenced_table(fk)) is not None and ref.key != t.key}

    def run(self) -> tuple[list[Step], list[Note]]:
        if self.safe and self.postgres:
            self._session()
        handlers: dict[Kind, Callable[[Change], None]] = {
            kind: getattr(self, f"_{kind.name.lower()}") for kind in Kind}
        for change in self.diff.changes:
            handlers[change.kind](change)
        self._dependent_views()
        self._rebuilt_foreign_keys()
        self._order_table_drops()
        exporter_notes = {(n.object, n.message) for ctx in (self.old, self.new) for n in ctx.notes}
        self.notes += [Note(o, m) for o, m in sorted(exporter_notes)]
        return self.steps, self.notes

    def backup(self, step: Step) -> Step:
        """A copy, beside the table, of what ``step`` destroys: a dropped column with the key, or a whole table."""
        change = step.change
        source = self.diff.renamed_old.table(step.table)
        ref = self.ref(source.key, self.old)
        if change.kind == Kind.DROP_COLUMN and source.primary_key:
            columns = [*source.primary_key.columns, change.name]
            name = names.make_object_name(source.name, (change.name,), "backup")
        else:
            columns = [column.name for column in source.columns]
            name = names.make_object_name(source.name, None, "backup")
        query = exp.select(*(exp.column(self.old.ident(c)) for c in columns)).from_(ref.copy())
        target = exp.Table(this=self.old.ident(name), db=ref.args.get("db"))
        return Step(exp.Create(kind="TABLE", this=target, expression=query).sql(self.dialect), Form.CREATE_TABLE_AS,
                    Phase.SESSION, table=step.table, change=change, note=f"keeps {step.data_loss}")

    # -- emitting -----------------------------------------------------------------------------------

    def emit(self, node: Node, form: Form, phase: Phase, change: Change | None, table: str | None = None,
             **details: object) -> bool:
        """Render one statement as a step; False (and a blocking note) when the target cannot do it."""
        where = change.object if change else (table or "")
        if not self.postgres and form not in _PORTABLE:
            self.notes.append(Note(where, f"{self.target.label} cannot run {form} (needed for "
                                          f"{change.kind if change else form}); rebuild the table instead "
                                          f"(create the new shape, copy the rows, swap)", blocking=True))
            return False
        if not self.postgres and form in _ALTERS and table in self._referenced:
            self.notes.append(Note(where, f"{self.target.label} refuses {form} on {table} while a foreign key "
                                          f"references it; drop the referencing table's key (re-create that table) "
                                          f"around the change", blocking=True))
            return False
        if isinstance(node, exp.Expression):
            try:
                sql = node.sql(dialect=self.dialect, unsupported_level=ErrorLevel.RAISE)
            except SqlglotError as error:
                self.notes.append(Note(where, f"{self.target.label} cannot express {form}: "
                                              f"{str(error).strip().splitlines()[0]}", blocking=True))
                return False
        else:
            sql = pg.text(node)
        self.steps.append(Step(sql, form, phase, table=table, change=change, **details))  # type: ignore[arg-type]
        return True

    def ref(self, key: str, ctx: Context | None = None) -> exp.Table:
        return (ctx or self.new).names.table(key)

    def relation(self, key: str, ctx: Context | None = None):
        return pg.relation_of(self.ref(key, ctx))

    def alter(self, key: str, *actions: exp.Expression, ctx: Context | None = None, **options: object) -> exp.Alter:
        return exp.Alter(this=self.ref(key, ctx), kind="TABLE", actions=list(actions), **options)

    def existing(self, table_key: str) -> bool:
        """True for a table that holds rows already (not created by this migration)."""
        return table_key not in self.created

    def _session(self) -> None:
        note = ("a statement that cannot get its lock within lock_timeout fails instead of queueing every query "
                "behind it: wait and run the script again (its statements are re-runnable: IF [NOT] EXISTS)")
        for name, value in (("lock_timeout", exp.Literal.string("5s")), ("statement_timeout", exp.Literal.number(0))):
            item = exp.SetItem(this=exp.EQ(this=exp.column(name), expression=value))
            self.emit(exp.Set(expressions=[item]), Form.SET, Phase.SESSION, None,
                      note=note if name == "lock_timeout" else "long steps (index builds, validation) may take "
                                                               "minutes; they hold only weak locks")

    # -- types, sequences, schemas ------------------------------------------------------------------

    def _create_schema(self, c: Change) -> None:
        self.emit(exp.Create(kind="SCHEMA", exists=True, this=exp.Table(db=self.new.ident(str(c.new)))),
                  Form.CREATE_SCHEMA, Phase.SCHEMAS, c)

    def _create_enum(self, c: Change) -> None:
        if self.target.enums == "type":
            self.emit(create_enum(self.new, c.new), Form.CREATE_TYPE, Phase.TYPES, c)

    def _drop_enum(self, c: Change) -> None:
        if self.target.enums == "type":
            self.emit(exp.Drop(kind="TYPE", tables=[self.ref(c.old.key, self.old)], exists=self.safe),
                      Form.DROP_TYPE, Phase.DROP_TYPES, c)

    def _enum_place(self, key: str) -> tuple[str | None, str]:
        ref = self.ref(key)
        return ref.db or None, ref.name

    def _add_enum_value(self, c: Change) -> None:
        values = c.new.values
        position = values.index(c.detail)
        neighbor, after = (values[position - 1], True) if position else (values[1] if len(values) > 1 else None, False)
        schema, name = self._enum_place(c.new.key)
        self.emit(pg.add_enum_value(schema, name, c.detail, neighbor, after, self.safe), Form.ALTER_TYPE_ADD_VALUE,
                  Phase.TYPES, c, note="the new value can be used once this statement has committed")

    def _rename_enum_value(self, c: Change) -> None:
        schema, name = self._enum_place(c.table or c.name)
        self.emit(pg.rename_enum_value(schema, name, c.old, c.new), Form.ALTER_TYPE_RENAME, Phase.TYPES, c)

    def _recreate_enum(self, c: Change) -> None:
        """Rename the old type away, create the new one, convert every column through text, drop the old."""
        schema, name = self._enum_place(c.new.key)
        retired = f"{name}__old"
        self.emit(pg.rename_type(schema, name, retired), Form.ALTER_TYPE_RENAME, Phase.TYPES, c)
        self.emit(create_enum(self.new, c.new), Form.CREATE_TYPE, Phase.TYPES, c)
        enum_type = self.new.type_ref(c.new.key)
        for table, column in self._enum_columns(c.new):
            cast = exp.Cast(this=exp.Cast(this=exp.column(self.new.ident(column.name)), to=exp.DataType.build("text")),
                            to=enum_type)
            rv = self.relation(table.key)
            if column.default is not None:
                self.emit(pg.alter_table(rv, pg.set_default(column.name, None)), Form.SET_DEFAULT, Phase.COLUMNS, c,
                          table.key)
            self.emit(pg.alter_table(rv, pg.set_type(column.name, enum_type, cast)), Form.ALTER_COLUMN_TYPE,
                      Phase.COLUMNS, c, table.key, note=f"values of {c.new.key} rebuilt: every row rewritten")
            if column.default is not None and (default := self._default(table, column)) is not None:
                self.emit(pg.alter_table(rv, pg.set_default(column.name, default)), Form.SET_DEFAULT, Phase.COLUMNS,
                          c, table.key)
        self.emit(exp.Drop(kind="TYPE", tables=[exp.Table(this=self.new.ident(retired), db=(
            self.new.ident(schema) if schema else None))]), Form.DROP_TYPE, Phase.ENUM_CLEANUP, c)

    def _enum_columns(self, enum) -> list[tuple[Table, Column]]:
        wanted = {type_key(enum.key, self.diff.new.dialect), type_key(enum.name, self.diff.new.dialect)}
        return [(t, col) for t in self.diff.new.tables if self.existing(t.key) for col in t.columns
                if type_key(col.type, self.diff.new.dialect) in wanted]

    def _create_domain(self, c: Change) -> None:
        if self.target.domains:
            self.emit(create_domain(self.new, c.new), Form.CREATE_TYPE, Phase.TYPES, c)

    def _drop_domain(self, c: Change) -> None:
        if self.target.domains:
            self.emit(exp.Drop(kind="DOMAIN", tables=[self.ref(c.old.key, self.old)], exists=self.safe),
                      Form.DROP_TYPE, Phase.DROP_TYPES, c)

    def _create_sequence(self, c: Change) -> None:
        if self.target.sequences:
            self.emit(create_sequence(self.new, c.new), Form.CREATE_SEQUENCE, Phase.SEQUENCES, c)
            if c.new.owned_by and self.postgres:
                self._sequence_owner(c)

    def _drop_sequence(self, c: Change) -> None:
        owner = (c.old.owned_by or "").rpartition(".")
        dropped = {(d.old.key, "") for d in self.diff.of_kind(Kind.DROP_TABLE)}
        dropped |= {(d.table, d.name) for d in self.diff.of_kind(Kind.DROP_COLUMN)}
        if c.old.owned_by and ((owner[0], "") in dropped or (owner[0], owner[2]) in dropped):
            return  # PostgreSQL drops an owned sequence with its table or column
        if self.target.sequences:
            self.emit(exp.Drop(kind="SEQUENCE", tables=[self.ref(c.old.key, self.old)], exists=self.safe),
                      Form.DROP_SEQUENCE, Phase.DROP_TYPES, c)

    def _sequence_owner(self, c: Change) -> None:
        self.emit(sequence_owner(self.new, c.new), Form.ALTER_SEQUENCE, Phase.OWNERS, c)

    # -- tables ----------------------------------------------------------------------------------------

    def _create_table(self, c: Change) -> None:
        self._create(c, c.new, None)

    def _create(self, c: Change, table: Table, parent: Table | None) -> None:
        own = [fk for fk in table.foreign_keys if parent is None or fk not in parent.foreign_keys]
        inline = [built for fk in own if (built := foreign_key(self.new, table, fk)) is not None] \
            if self.target.fk_inline else []  # DuckDB, SQLite: keys only inside CREATE TABLE
        for statement in create_table(self.new, table, inline, parent):
            if isinstance(statement, exp.Comment):
                self.emit(statement, Form.COMMENT, Phase.COMMENTS, c, table.key)
            else:
                form = Form.CREATE_PARTITION if parent is not None else Form.CREATE_TABLE
                if isinstance(statement, exp.Alter):
                    form = Form.ADD_CONSTRAINT
                self.emit(statement, form, Phase.CREATE_TABLES, c, table.key, other=parent.key if parent else None)
        for fk in own if not self.target.fk_inline else ():
            self._foreign_key(c, table, fk)
        inherited = {replace(i, name=None) for i in (parent.indexes if parent else ())}
        for index in table.indexes:
            if replace(index, name=None) not in inherited:
                self._index(c, table, index)
        for partition in table.partitions:
            self._create(c, partition, table)

    def _drop_table(self, c: Change) -> None:
        merged = {n for m in self.diff.of_kind(Kind.MOVE_COLUMNS) if m.old[0].key == c.old.key for n in m.new[1]}
        keys = {n for fk in c.old.foreign_keys for n in fk.columns}
        kept = {col.name for col in c.old.columns} <= merged | keys
        self.emit(exp.Drop(kind="TABLE", tables=[self.ref(c.old.key, self.old)], exists=self.safe), Form.DROP_TABLE,
                  Phase.DROP_TABLES, c, c.old.key, data_loss="" if kept else f"every row of {c.old.key}",
                  note="its values were merged into the table it referenced" if kept else "")

    def _rename_table(self, c: Change) -> None:
        old, new = c.old, c.new
        if (old.schema or "public") != (new.schema or "public") and match_key(old.schema, "x") != match_key(
                new.schema, "x"):
            self.notes.append(Note(c.object, f"moving {old.key} to schema {new.schema} (ALTER TABLE SET SCHEMA) is "
                                             f"not planned; move it in a migration of its own", blocking=True))
            return
        rename = exp.AlterRename(this=exp.Table(this=self.new.ident(new.name)))
        self.emit(exp.Alter(this=self.ref(old.key, self.original), kind="TABLE", actions=[rename]), Form.RENAME_TABLE,
                  Phase.RENAMES, c, new.key, note="running code that names the old table breaks: see the phases")

    def _rename_column(self, c: Change) -> None:
        action = exp.RenameColumn(this=exp.column(self.new.ident(c.old)), to=exp.column(self.new.ident(c.new)))
        self.emit(self.alter(c.table, action), Form.RENAME_COLUMN, Phase.RENAMES, c, c.table,
                  note="running code that names the old column breaks: see the phases")

    def _add_partition(self, c: Change) -> None:
        self._create(c, c.new, c.old)

    def _drop_partition(self, c: Change) -> None:
        self.emit(exp.Drop(kind="TABLE", tables=[self.ref(c.old.key, self.old)], exists=self.safe), Form.DROP_TABLE,
                  Phase.DROP_PARTITIONS, c, c.old.key, other=c.new.key, data_loss=f"every row of partition {c.old.key}")

    def _repartition(self, c: Change) -> None:
        return None  # a blocking note of the diff already says what to do

    # -- columns ---------------------------------------------------------------------------------------

    def _table(self, key: str) -> Table:
        return self.diff.new.table(key)

    def _default(self, table: Table, column: Column) -> exp.Expression | None:
        """The default as the exporter renders it for the target."""
        definition = column_def(self.new, table, replace(column, nullable=True, identity=None, generated=None,
                                                         autoincrement=False), self.ref(table.key), rowid=False)
        found = definition.find(exp.DefaultColumnConstraint)
        return found.this if found is not None else None

    def _merged(self, c: Change) -> bool:
        """True for a column that a merge fills from the rows of a dropped table."""
        return any(m.kind == Kind.MOVE_COLUMNS and m.new[0].key == c.table and c.name in m.new[1]
                   and m.old[1] not in m.new[0].foreign_keys for m in self.diff.changes)

    def _add_column(self, c: Change) -> None:
        table, column = self._table(c.table), c.new
        ref = self.ref(table.key)
        if not column.nullable and self._merged(c):
            self._add_column(replace(c, new=replace(column, nullable=True, comment=None)))
            if column.comment:
                self._comment(Change(Kind.COMMENT, table.key, column.name, None, column.comment))
            self._filled_not_null(c, table, column.name)
            return
        volatile = is_volatile(column.default, self.diff.new.dialect)
        rewrites = volatile or column.identity is not None or column.generated is not None
        if column.comment:
            self._comment(Change(Kind.COMMENT, table.key, column.name, None, column.comment))
        if self.safe and self.postgres and volatile and column.generated is None:
            self._add_column_safely(c, table, column)
            return
        definition = column_def(self.new, table, column, ref, rowid=False)
        definition.set("exists", self.safe or None)
        note = ""
        if not column.nullable and column.default is None and column.identity is None and not column.generated:
            note = "NOT NULL without a default fails on a table that has rows: give it a default, or add it nullable"
        elif rewrites:
            note = "fills every existing row: the table is rewritten under ACCESS EXCLUSIVE"
        self.emit(exp.Alter(this=ref, kind="TABLE", actions=[definition]), Form.ADD_COLUMN, Phase.COLUMNS, c,
                  table.key, rewrites=rewrites, scans=rewrites, note=note)

    def _add_column_safely(self, c: Change, table: Table, column: Column) -> None:
        """Nullable first, the default for new rows, a batched backfill, then NOT NULL through a check."""
        plain = replace(column, default=None, nullable=True)
        definition = column_def(self.new, table, plain, self.ref(table.key), rowid=False)
        definition.set("exists", True)
        self.emit(exp.Alter(this=self.ref(table.key), kind="TABLE", actions=[definition]), Form.ADD_COLUMN,
                  Phase.COLUMNS, c, table.key, note="added nullable without a default: no rewrite")
        default = self._default(table, column)
        rv = self.relation(table.key)
        self.emit(pg.alter_table(rv, pg.set_default(column.name, default)), Form.SET_DEFAULT, Phase.COLUMNS, c,
                  table.key, note="new rows get the default from now on")
        self._backfill(c, table, column.name, default)
        if not column.nullable:
            self._not_null_safely(c, table, column.name)

    def _backfill(self, c: Change, table: Table, column: str, value: exp.Expression) -> None:
        """The new column's NULL rows filled with ``value`` in committed batches."""
        self.batched_update(c, table, column, value, exp.Is(this=exp.column(self.new.ident(column)),
                                                            expression=exp.null()), Phase.COLUMNS,
                            f"backfill in batches of {BATCH_ROWS:,} rows, each committed")

    def batched_update(self, c: Change, table: Table, column: str, value: exp.Expression, pending: exp.Expression,
                       phase: Phase, note: str) -> None:
        """A DO block setting ``column = value`` on the rows where ``pending`` holds, ``BATCH_ROWS`` at a time,
        committing after each batch so that row locks stay short."""
        ref, target = self.ref(table.key), exp.column(self.new.ident(column))
        batch = exp.select(exp.column("ctid")).from_(ref.copy()).where(pending).limit(BATCH_ROWS)
        update = exp.update(ref.copy(), {target: value},
                            where=exp.In(this=exp.column("ctid"), query=exp.Subquery(this=batch)))
        body = (f" DECLARE updated bigint; BEGIN LOOP {update.sql('postgres')}; GET DIAGNOSTICS updated = ROW_COUNT; "
                f"EXIT WHEN updated = 0; COMMIT; END LOOP; END ")
        self.emit(pg.do_block(body), Form.BATCHED_UPDATE, phase, c, table.key, note=note)

    def _drop_column(self, c: Change) -> None:
        moved = any(m.kind == Kind.MOVE_COLUMNS and m.old[0].key == c.table and c.name in m.new[1]
                    for m in self.diff.changes)
        drop = exp.Drop(kind="COLUMN", tables=[exp.column(self.old.ident(c.name))], exists=self.safe or None)
        self.emit(self.alter(c.table, drop, ctx=self.old), Form.DROP_COLUMN, Phase.DROP_COLUMNS, c, c.table,
                  data_loss="" if moved else f"the values of {c.object}",
                  note="its values were copied to the new table first" if moved else
                  "running code that reads it breaks: deploy code that no longer uses it first")

    def _alter_type(self, c: Change) -> None:
        table, column = self._table(c.table), c.new
        if any(col.name == column.name and t.key == table.key for e in self.diff.of_kind(Kind.RECREATE_ENUM)
               for t, col in self._enum_columns(e.new)):
            return  # converted by the enum rebuild
        kind = resolve_type(self.new, column.type, c.object).kind
        using = exp.Cast(this=exp.column(self.new.ident(column.name)), to=kind.copy())
        dialect = self.diff.new.dialect
        rewrites = type_change_rewrites(type_key(c.old.type, dialect), type_key(column.type, dialect))
        note = ("rewrites the table and its indexes under ACCESS EXCLUSIVE: see the expand/contract phases"
                if rewrites else "binary coercible: no rewrite")
        node = (pg.alter_table(self.relation(table.key), pg.set_type(column.name, kind, using)) if self.postgres else
                self.alter(table.key, exp.AlterColumn(this=self.new.ident(column.name), dtype=kind, using=using)))
        self.emit(node, Form.ALTER_COLUMN_TYPE, Phase.COLUMNS, c, table.key, rewrites=rewrites, scans=rewrites,
                  note=note)

    def _set_default(self, c: Change) -> None:
        table = self._table(c.table)
        value = self._default(table, c.new)
        if value is None:
            self.notes.append(Note(c.object, f"default {c.new.default} cannot be rendered for {self.target.label}",
                                   blocking=True))
            return
        node = (pg.alter_table(self.relation(table.key), pg.set_default(c.name, value)) if self.postgres else
                self.alter(table.key, exp.AlterColumn(this=self.new.ident(c.name), default=value)))
        self.emit(node, Form.SET_DEFAULT, Phase.COLUMNS, c, table.key)

    def _drop_default(self, c: Change) -> None:
        node = (pg.alter_table(self.relation(c.table), pg.set_default(c.name, None)) if self.postgres else
                self.alter(c.table, exp.AlterColumn(this=self.new.ident(c.name), drop=True)))
        self.emit(node, Form.SET_DEFAULT, Phase.COLUMNS, c, c.table)

    def _set_not_null(self, c: Change) -> None:
        if self.safe and self.postgres:
            self._not_null_safely(c, self._table(c.table), c.name)
            return
        self.emit(pg.alter_table(self.relation(c.table), pg.set_not_null(c.name)), Form.SET_NOT_NULL, Phase.COLUMNS,
                  c, c.table, note="scans the table under ACCESS EXCLUSIVE; fails if a row holds NULL")

    def _filled_not_null(self, c: Change, table: Table, column: str) -> None:
        """NOT NULL once the moved rows have filled the column (after the MOVE_ROWS phase)."""
        start = len(self.steps)
        if self.safe and self.postgres:
            self._not_null_safely(c, table, column)
        else:
            self.emit(pg.alter_table(self.relation(table.key), pg.set_not_null(column)), Form.SET_NOT_NULL,
                      Phase.FILLED, c, table.key, note="once the moved rows have filled it")
        self.steps[start:] = [replace(step, phase=Phase.FILLED) for step in self.steps[start:]]

    def _not_null_safely(self, c: Change, table: Table, column: str) -> None:
        """CHECK (col IS NOT NULL) NOT VALID, VALIDATE (weak lock), SET NOT NULL (no scan), drop the check."""
        name = names.not_null_check_name(table.name, column)
        check = exp.Constraint(this=self.new.ident(name), expressions=[exp.CheckColumnConstraint(
            this=exp.Not(this=exp.Is(this=exp.column(self.new.ident(column)), expression=exp.null())))])
        rv = self.relation(table.key)
        self.emit(self.alter(table.key, exp.AddConstraint(expressions=[check]), not_valid=True),
                  Form.ADD_CONSTRAINT_NOT_VALID, Phase.COLUMNS, c, table.key, helper=True)
        self.emit(pg.alter_table(rv, pg.validate(name)), Form.VALIDATE_CONSTRAINT, Phase.COLUMNS, c, table.key,
                  helper=True)
        self.emit(pg.alter_table(rv, pg.set_not_null(column)), Form.SET_NOT_NULL, Phase.COLUMNS, c, table.key,
                  scans=False, note="the validated check proves it: no scan")
        drop = exp.Drop(kind="CONSTRAINT", tables=[self.new.ident(name)], exists=True)
        self.emit(self.alter(table.key, drop), Form.DROP_CONSTRAINT, Phase.COLUMNS, c, table.key, helper=True)

    def _drop_not_null(self, c: Change) -> None:
        self.emit(pg.alter_table(self.relation(c.table), pg.drop_not_null(c.name)), Form.DROP_NOT_NULL,
                  Phase.COLUMNS, c, c.table)

    def _add_identity(self, c: Change) -> None:
        self.emit(pg.alter_table(self.relation(c.table), pg.add_identity(c.name, c.new.identity == "always")),
                  Form.IDENTITY, Phase.COLUMNS, c, c.table)

    def _drop_identity(self, c: Change) -> None:
        self.emit(pg.alter_table(self.relation(c.table), pg.drop_identity(c.name)), Form.IDENTITY, Phase.COLUMNS,
                  c, c.table)

    def _change_generated(self, c: Change) -> None:
        table = self._table(c.table)
        if c.new.generated is None:
            self.emit(pg.alter_table(self.relation(c.table), pg.drop_expression(c.name)), Form.DROP_EXPRESSION,
                      Phase.COLUMNS, c, c.table, note="keeps the computed values as plain values")
            return
        expression = self.new.parse(c.new.generated, c.object, "generated column")
        if c.old.generated is None or expression is None:
            self.notes.append(Note(c.object, "a plain column cannot become generated in place: drop it and add it "
                                             "again (its values are recomputed)", blocking=True))
            return
        self.emit(pg.alter_table(self.relation(table.key), pg.set_expression(c.name, expression)),
                  Form.ALTER_COLUMN_TYPE, Phase.COLUMNS, c, table.key, note="recomputes every row (rewrite)")

    def _comment(self, c: Change) -> None:
        text = exp.Literal.string(c.new) if c.new else exp.null()
        if c.name:
            ref = self.ref(c.table)
            target = exp.Column(this=self.new.ident(c.name), table=ref.this, db=ref.args.get("db"))
            node = exp.Comment(this=target, kind="COLUMN", expression=text)
        else:
            node = exp.Comment(this=self.ref(c.table), kind="TABLE", expression=text)
        self.emit(node, Form.COMMENT, Phase.COMMENTS, c, c.table)

    def _move_columns(self, c: Change) -> None:
        """Copy moved values: into the new table (a split) or back into the kept one (a merge)."""
        (source, fk), (target, columns) = c.old, c.new
        split = fk in target.foreign_keys
        if split:
            into = [*fk.columns, *columns]
            select = exp.select(*(exp.column(self.new.ident(n)) for n in [*fk.ref_columns, *columns])).from_(
                self.ref(source.key, self.old))
            insert = exp.insert(select, self.ref(target.key), columns=[self.new.ident(n) for n in into])
            self.emit(insert, Form.INSERT_SELECT, Phase.MOVE_ROWS, c, target.key, other=source.key,
                      note=f"one row of {target.key} per row of {source.key}")
            return
        alias = "moved"
        values = {exp.column(self.new.ident(n)): exp.column(self.new.ident(n), table=alias) for n in columns}
        joins = [exp.EQ(this=exp.column(self.new.ident(a), table=alias),
                        expression=exp.column(self.new.ident(b), table=self.ref(target.key).name))
                 for a, b in zip(fk.columns, fk.ref_columns, strict=True)]
        source_ref = self.ref(source.key, self.old)
        source_ref.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
        update = exp.update(self.ref(target.key), values, where=exp.and_(*joins), from_=exp.From(this=source_ref))
        self.emit(update, Form.UPDATE, Phase.MOVE_ROWS, c, target.key, other=source.key,
                  note=f"where {source.key} holds several rows per row of {target.key}, one of them is kept")

    # -- keys and indexes ------------------------------------------------------------------------------

    def _drop_constraint(self, c: Change, table: str, name: str, phase: Phase, other: str | None = None) -> None:
        drop = exp.Drop(kind="CONSTRAINT", tables=[self.old.ident(name)], exists=self.safe or None)
        self.emit(self.alter(table, drop, ctx=self.old), Form.DROP_CONSTRAINT, phase, c, table, other=other)

    def _add_primary_key(self, c: Change) -> None:
        table = self._table(c.table)
        name = c.new.name or names.primary_key_name(table.name)
        if self.safe and self.postgres:
            self._key_through_index(c, table, name, c.new.columns, primary=True)
            return
        self.emit(self.alter(table.key, exp.AddConstraint(expressions=[primary_key_constraint(self.new, c.new)])),
                  Form.ADD_CONSTRAINT, Phase.CONSTRAINTS, c, table.key, note="builds its index under ACCESS EXCLUSIVE")

    def _drop_primary_key(self, c: Change) -> None:
        self._drop_constraint(c, c.table, c.old.name or names.primary_key_name(self._table(c.table).name),
                              Phase.DROP_CONSTRAINTS)

    def _add_unique(self, c: Change) -> None:
        table = self._table(c.table)
        name = c.new.name or names.unique_name(table.name, c.new.columns)
        if self.safe and self.postgres and not c.new.nulls_not_distinct:
            self._key_through_index(c, table, name, c.new.columns, primary=False)
            return
        self.emit(self.alter(table.key, exp.AddConstraint(expressions=[unique_constraint(self.new, table, c.new)])),
                  Form.ADD_CONSTRAINT, Phase.CONSTRAINTS, c, table.key, note="builds its index under ACCESS EXCLUSIVE")

    def _key_through_index(self, c: Change, table: Table, name: str, columns: tuple[str, ...], *,
                           primary: bool) -> None:
        """CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX (no build under the lock)."""
        index = Index(name, tuple(IndexElement(col) for col in columns), unique=True)
        statement = create_index(self.new, table, index)
        if statement is None:
            return
        statement.set("concurrently", True)
        statement.set("exists", True)
        self.emit(statement, Form.CREATE_INDEX_CONCURRENTLY, Phase.CONSTRAINTS, c, table.key, helper=True)
        self.emit(pg.alter_table(self.relation(table.key), pg.constraint_using_index(name, primary, name)),
                  Form.ADD_CONSTRAINT_USING_INDEX, Phase.CONSTRAINTS, c, table.key)

    def _drop_unique(self, c: Change) -> None:
        self._drop_constraint(c, c.table, c.old.name or names.unique_name(self._table(c.table).name, c.old.columns),
                              Phase.DROP_CONSTRAINTS)

    def _check_name(self, table: Table, check: CheckConstraint) -> str:
        tree = parse_expression(check.expression, self.diff.new.dialect)
        columns = tuple(dict.fromkeys(col.name for col in tree.find_all(exp.Column))) if tree is not None else ()
        return check.name or names.check_name(table.name, columns)

    def _add_check(self, c: Change) -> None:
        table = self._table(c.table)
        named = replace(c.new, name=self._check_name(table, c.new))
        constraint = check_constraint(self.new, table, named)
        if constraint is None:
            self.notes.append(Note(c.object, f"check {c.new.expression} cannot be rendered for {self.target.label}",
                                   blocking=True))
            return
        self._validated(c, table, constraint, named.name, Form.ADD_CONSTRAINT, Form.ADD_CONSTRAINT_NOT_VALID,
                        Phase.CONSTRAINTS, None)

    def _validated(self, c: Change, table: Table, constraint: exp.Expression, name: str, plain: Form,
                   not_valid: Form, phase: Phase, other: str | None) -> None:
        """ADD CONSTRAINT; in the safe form NOT VALID first and VALIDATE after (instant on a new, empty table)."""
        statement = add_constraint(self.new, table, constraint)
        if not (self.safe and self.postgres):
            self.emit(statement, plain, phase, c, table.key, other=other)
            return
        statement.set("not_valid", True)
        self.emit(statement, not_valid, phase, c, table.key, other=other, note="existing rows are checked later")
        self.emit(pg.alter_table(self.relation(table.key), pg.validate(name)), Form.VALIDATE_CONSTRAINT,
                  Phase.VALIDATE, c, table.key, other=other)

    def _drop_check(self, c: Change) -> None:
        self._drop_constraint(c, c.table, self._check_name(self.diff.renamed_old.table(c.table), c.old),
                              Phase.DROP_CONSTRAINTS)

    def _add_foreign_key(self, c: Change) -> None:
        self._foreign_key(c, self._table(c.table), c.new)

    def _foreign_key(self, c: Change, table: Table, fk: ForeignKey) -> None:
        named = replace(fk, name=fk.name or names.foreign_key_name(table.name, fk.columns))
        constraint = foreign_key(self.new, table, named)
        if constraint is None:
            self.notes.append(Note(f"{table.key}.{named.name}", "the foreign key cannot be created in "
                                                                 f"{self.target.label} (see the notes)", blocking=True))
            return
        self._validated(c, table, constraint, named.name, Form.ADD_FOREIGN_KEY, Form.ADD_FOREIGN_KEY_NOT_VALID,
                        Phase.FOREIGN_KEYS, fk.ref_key)

    def _drop_foreign_key(self, c: Change) -> None:
        table = self.diff.renamed_old.table(c.table)
        self._drop_constraint(c, c.table, c.old.name or names.foreign_key_name(table.name, c.old.columns),
                              Phase.DROP_FOREIGN_KEYS, other=c.old.ref_key)

    def _rename_constraint(self, c: Change) -> None:
        self.emit(pg.rename_constraint(self.relation(c.table), c.old.name, c.new.name), Form.RENAME_CONSTRAINT,
                  Phase.RENAMES, c, c.table)

    def _create_index(self, c: Change) -> None:
        self._index(c, self._table(c.table), c.new)

    def _index(self, c: Change, table: Table, index: Index) -> None:
        statement = create_index(self.new, table, index)
        if statement is None:
            self.notes.append(Note(c.object, f"index {index.name or index.columns} cannot be built in "
                                             f"{self.target.label} (see the notes)", blocking=True))
            return
        concurrent = self.safe and self.postgres and table.partitioning is None
        if concurrent:
            statement.set("concurrently", True)
            statement.set("exists", True)
        elif self.safe and table.partitioning is not None:
            self.notes.append(Note(c.object, "CREATE INDEX CONCURRENTLY is refused on a partitioned table: build "
                                             "each partition's index concurrently, then the parent's ON ONLY"))
        form = Form.CREATE_INDEX_CONCURRENTLY if concurrent else Form.CREATE_INDEX
        self.emit(statement, form, Phase.INDEXES, c, table.key, scans=self.existing(table.key),
                  note="" if concurrent or not self.existing(table.key) else "writes wait for the whole build")

    def _index_name(self, table: Table, index: Index) -> str:
        if index.name:
            return index.name
        statement = create_index(self.old, table, index)
        return statement.this.name if statement is not None else "_".join([table.name, *index.columns, "idx"])

    def _drop_index(self, c: Change) -> None:
        table = self.diff.renamed_old.table(c.table)
        ref = self.ref(c.table, self.old)
        name = exp.Table(this=self.old.ident(self._index_name(table, c.old)), db=ref.args.get("db"))
        concurrent = self.safe and self.postgres and table.partitioning is None
        self.emit(exp.Drop(kind="INDEX", tables=[name], concurrently=concurrent or None, exists=self.safe or None),
                  Form.DROP_INDEX_CONCURRENTLY if concurrent else Form.DROP_INDEX, Phase.DROP_INDEXES, c, c.table)

    def _rename_index(self, c: Change) -> None:
        ref = self.ref(c.table)
        index = exp.Table(this=self.new.ident(c.old.name), db=ref.args.get("db"))
        rename = exp.AlterRename(this=exp.Table(this=self.new.ident(c.new.name)))
        self.emit(exp.Alter(this=index, kind="INDEX", actions=[rename]), Form.RENAME_INDEX, Phase.RENAMES, c, c.table)

    # -- views -----------------------------------------------------------------------------------------

    def _create_view(self, c: Change) -> None:
        statement = create_view(self.new, c.new)
        if statement is None:
            self.notes.append(Note(c.object, "the view cannot be created (see the notes)", blocking=True))
            return
        self.emit(statement, Form.CREATE_VIEW, Phase.CREATE_VIEWS, c)

    def _drop_view(self, c: Change) -> None:
        self.emit(exp.Drop(kind="VIEW", tables=[self.ref(c.old.key, self.old)], materialized=c.old.materialized or None,
                           exists=self.safe or None), Form.DROP_VIEW, Phase.DROP_VIEWS, c)

    def _dependent_views(self) -> None:
        """Views that read a column changing type, a dropped column or a rebuilt view: dropped before the
        change and created again after it (PostgreSQL refuses those changes under a view)."""
        touched = {c.table for c in self.diff.changes if c.kind in (Kind.ALTER_TYPE, Kind.DROP_COLUMN)}
        touched |= {t.key for e in self.diff.of_kind(Kind.RECREATE_ENUM) for t, _ in self._enum_columns(e.new)}
        dropped = {c.old.key for c in self.diff.of_kind(Kind.DROP_VIEW)}  # the diff drops (and re-creates) those
        touched |= dropped
        new_views = {match_key(v.schema, v.name): v for v in self.diff.new.views}
        recreated = {c.new.key for c in self.diff.of_kind(Kind.CREATE_VIEW)}
        rebuild: list[View] = []
        waiting = [v for v in self.diff.renamed_old.views if v.key not in dropped]
        while found := [v for v in waiting if any(d in touched for d in v.depends_on)]:
            rebuild += found
            touched |= {v.key for v in found}
            waiting = [v for v in waiting if v not in found]
        for view in rebuild:
            target = new_views.get(match_key(view.schema, view.name))
            change = Change(Kind.DROP_VIEW, None, view.key, view, target, "reads a changing table: dropped and "
                                                                          "created again around the change")
            self._drop_view(change)
            if target is not None and target.key not in recreated:
                self._create_view(Change(Kind.CREATE_VIEW, None, target.key, None, target, change.detail))
        self._order_views()

    def _order_views(self) -> None:
        """View drops: readers before what they read; creates: what they read first."""
        def order(form: Form, reverse: bool) -> None:
            steps = [s for s in self.steps if s.form == form]
            views = {(s.change.new if form == Form.CREATE_VIEW else s.change.old): s for s in steps}
            by_key = {view.key: view for view in views}
            keys, _ = topological(by_key, lambda k: ((d, d) for d in by_key[k].depends_on))
            ranked = {views[by_key[k]]: i for i, k in enumerate(reversed(keys) if reverse else keys)}
            ordered = iter(sorted(steps, key=ranked.__getitem__))
            self.steps[:] = [next(ordered) if s.form == form else s for s in self.steps]

        order(Form.DROP_VIEW, reverse=True)
        order(Form.CREATE_VIEW, reverse=False)

    def _order_table_drops(self) -> None:
        """Dropped tables that reference each other: referencing tables first; a cycle's key dropped before."""
        steps = {s.change.old.key: s for s in self.steps if s.form == Form.DROP_TABLE and s.phase == Phase.DROP_TABLES}
        tables = {key: step.change.old for key, step in steps.items()}

        def edges(key: str):
            found = ((self.diff.renamed_old.referenced_table(fk), fk) for fk in tables[key].foreign_keys)
            return [(ref.key, fk) for ref, fk in found if ref is not None]

        order, cut = topological(tables, edges)
        for key, fk in cut:
            change = Change(Kind.DROP_FOREIGN_KEY, key, fk.name, fk, None, "closes a cycle of dropped tables")
            self._drop_foreign_key(change)
        ranked = {steps[k]: i for i, k in enumerate(reversed(order))}
        ordered = iter(sorted(steps.values(), key=ranked.__getitem__))
        self.steps[:] = [next(ordered) if s in ranked else s for s in self.steps]

    def _rebuilt_foreign_keys(self) -> None:
        """Unchanged foreign keys whose referenced key is dropped and re-created: dropped first, added after."""
        dropped_keys = {(c.table, frozenset(c.old.columns)) for c in self.diff.changes
                        if c.kind in (Kind.DROP_PRIMARY_KEY, Kind.DROP_UNIQUE)}
        dropped_tables = {c.old.key for c in self.diff.of_kind(Kind.DROP_TABLE)}
        if not dropped_keys:
            return
        changed = {(c.table, c.old) for c in self.diff.of_kind(Kind.DROP_FOREIGN_KEY)}
        for table in self.diff.new.tables:
            old_table = self.diff.renamed_old.find_table(table.key)
            if old_table is None or table.key in dropped_tables:
                continue
            for fk in table.foreign_keys:
                ref = self.diff.new.referenced_table(fk)
                if ref is None or (ref.key, frozenset(fk.ref_columns)) not in dropped_keys:
                    continue
                if fk not in old_table.foreign_keys or (table.key, fk) in changed:
                    continue
                change = Change(Kind.DROP_FOREIGN_KEY, table.key, fk.name, fk, fk,
                                f"references {ref.key}, whose key is rebuilt")
                self._drop_foreign_key(change)
                self._foreign_key(change, table, fk)
