"""Expand / backfill / switch / contract: a migration that running code survives at every moment.

A rename, a type change that rewrites, or a split table breaks the code that runs while the migration
does. The phases keep both shapes alive: **expand** adds the new shape beside the old (a new column or
table kept in sync by a trigger, a view under a renamed table's old name); **backfill** copies existing
rows in batches and validates constraints with weak locks; **switch** is the application's step
(deploy code that reads and writes the new shape); **contract** drops the old shape and the sync.
Everything else in the plan goes where it is safe: additions in expand, removals in contract.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sqlglot import exp

from workbench.ddl.export.columns import column_def
from workbench.ddl.export.types import resolve_type
from workbench.migrate import names, pg
from workbench.migrate.changes import Change, Kind
from workbench.migrate.compare import parse_expression, type_key
from workbench.migrate.locks import Form, type_change_rewrites
from workbench.migrate.renames import table_match_key
from workbench.migrate.render import BATCH_ROWS, Renderer
from workbench.migrate.script import render_script
from workbench.migrate.steps import Phase as Order
from workbench.migrate.steps import Step
from workbench.safe_display import safe_html
from workbench.schema.model import Index, Table

if TYPE_CHECKING:
    from workbench.migrate.plan import Migration

STAGES = ("expand", "backfill", "switch", "contract")
_BACKFILL_FORMS = frozenset({Form.BATCHED_UPDATE, Form.UPDATE, Form.INSERT_SELECT, Form.VALIDATE_CONSTRAINT})
_CONTRACT_KINDS = frozenset({Kind.DROP_TABLE, Kind.DROP_COLUMN, Kind.DROP_INDEX, Kind.DROP_PRIMARY_KEY,
                             Kind.DROP_UNIQUE, Kind.DROP_CHECK, Kind.DROP_FOREIGN_KEY, Kind.DROP_VIEW,
                             Kind.DROP_ENUM, Kind.DROP_DOMAIN, Kind.DROP_SEQUENCE, Kind.DROP_PARTITION,
                             Kind.SET_NOT_NULL, Kind.RENAME_CONSTRAINT, Kind.RENAME_INDEX, Kind.DROP_DEFAULT})
_APPLICATION = {
    "expand": "nothing yet: the old code keeps working; the new shape is filled by triggers for every write",
    "backfill": "nothing: existing rows are copied in batches while the old code runs",
    "switch": "deploy code that reads and writes only the new shape; every instance, before going on",
    "contract": "nothing: no running code uses the old shape any more",
}


@dataclass(frozen=True)
class Phase:
    """One phase: its statements, what the application must do before the next one, the changes it serves."""

    name: str
    steps: tuple[Step, ...]
    application: str
    changes: tuple[str, ...] = ()

    @property
    def sql(self) -> str:
        return render_script(self.steps, title=f"phase: {self.name}", transactions=True).text

    def __repr__(self) -> str:
        return f"<Phase {self.name}: {len(self.steps)} statements; application: {self.application}>"

    def _repr_html_(self) -> str:
        return safe_html(lambda p: f"<p><b>{html.escape(p.name)}</b>: {len(p.steps)} statements. "
                                   f"<i>Application:</i> {html.escape(p.application)}</p>"
                                   f"<pre>{html.escape(p.sql)}</pre>", self)


def expand_contract(migration: Migration) -> list[Phase]:
    """The phases of ``migration`` (PostgreSQL; planned from its safe form)."""
    from workbench.migrate.plan import plan_migration

    safe = migration if migration.safe else plan_migration(migration.diff, dialect="postgres", safe=True)
    builder = _Phases(safe)
    return builder.build()


@dataclass
class _Stage:
    steps: list[Step] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    application: list[str] = field(default_factory=list)


class _Phases(Renderer):
    """The safe plan's steps sorted into stages; breaking changes replaced by their expand/contract forms."""

    def __init__(self, safe: Migration):
        super().__init__(safe.diff, "postgres", safe=True)
        self.plan = safe
        self.stages = {name: _Stage() for name in STAGES}
        self.breaking = {id(c) for c in self._breaking()}
        self.filling: set[int] = set()  # changes whose later steps wait for their backfill

    def _breaking(self) -> list[Change]:
        dialect = self.diff.new.dialect
        found = [c for c in self.diff.changes if c.kind in (Kind.RENAME_COLUMN, Kind.RENAME_TABLE, Kind.MOVE_COLUMNS)]
        found += [c for c in self.diff.of_kind(Kind.ALTER_TYPE)
                  if type_change_rewrites(type_key(c.old.type, dialect), type_key(c.new.type, dialect))]
        moved = {(m.old[0].key, n) for m in self.diff.of_kind(Kind.MOVE_COLUMNS) for n in m.new[1]}
        found += [c for c in self.diff.of_kind(Kind.DROP_COLUMN) if (c.table, c.name) in moved]
        renamed = {(c.table, c.new) for c in self.diff.of_kind(Kind.RENAME_COLUMN)}
        found += [c for c in self.diff.of_kind(Kind.RENAME_CONSTRAINT, Kind.RENAME_INDEX)
                  if any((c.table, column) in renamed for column in self._columns_of(c.new))]
        return found

    def _columns_of(self, item: object) -> tuple[str, ...]:
        """The columns a constraint or index names (a check's from its expression)."""
        if hasattr(item, "expression") and not hasattr(item, "columns"):
            tree = parse_expression(item.expression, self.diff.new.dialect)
            return tuple(col.name for col in tree.find_all(exp.Column)) if tree is not None else ()
        return tuple(getattr(item, "columns", ()))

    def build(self) -> list[Phase]:
        session = [s for s in self.plan.up if s.form == Form.SET]
        for step in self.plan.up:
            if step.form == Form.SET or (step.change is not None and id(step.change) in self.breaking):
                continue
            self._place(step)
        for change in self.diff.changes:
            if id(change) in self.breaking:
                getattr(self, f"_phase_{change.kind.name.lower()}")(change)
        phases = []
        for name, stage in self.stages.items():
            ordered = sorted(enumerate(stage.steps), key=lambda pair: (pair[1].phase, pair[0]))
            steps = tuple(session + [s for _, s in ordered]) if stage.steps else ()
            generic = [_APPLICATION[name]] if name == "switch" or not stage.application else []
            application = "; ".join(dict.fromkeys([*stage.application, *generic]))
            phases.append(Phase(name, steps, application, tuple(dict.fromkeys(stage.changes))))
        return phases

    def _place(self, step: Step) -> None:
        """Removals in contract; backfills and validations, and what follows them in the same change, in
        backfill; the rest in expand."""
        kind = step.change.kind if step.change else None
        key = id(step.change)
        if kind in _CONTRACT_KINDS:
            stage = "contract"
        elif step.form in _BACKFILL_FORMS or key in self.filling:
            stage = "backfill"
            if step.form == Form.BATCHED_UPDATE:
                self.filling.add(key)
        else:
            stage = "expand"
        self._add(stage, step)

    def _add(self, stage: str, step: Step, application: str = "") -> None:
        if stage == "expand" and step.form == Form.VALIDATE_CONSTRAINT:
            stage = "backfill"  # validation reads the rows the backfill writes
        self.stages[stage].steps.append(step)
        if step.change is not None:
            self.stages[stage].changes.append(f"{step.change.kind} {step.change.object}")
        if application:
            self.stages[stage].application.append(application)

    def _capture(self, stage: str, action, application: str = "") -> None:
        """Run a renderer method and move the steps it emitted into ``stage``."""
        start = len(self.steps)
        action()
        for step in self.steps[start:]:
            self._add(stage, step)
        del self.steps[start:]
        if application:
            self.stages[stage].application.append(application)

    # -- the breaking changes --------------------------------------------------------------------------

    def _phase_rename_column(self, c: Change) -> None:
        """New column beside the old one, both kept equal by a trigger; the old one dropped at the end."""
        table = self._table(c.table)
        column = table.column(c.new)
        self._twin(c, table, c.old, column, convert=False)
        self.stages["switch"].application.append(f"read and write {c.table}.{c.new} instead of {c.old}")

    def _phase_alter_type(self, c: Change) -> None:
        """A twin column of the new type filled by a trigger and a backfill, swapped in at the end."""
        table = self._table(c.table)
        twin = replace(c.new, name=names.make_object_name(c.name, None, "new"))
        self._twin(c, table, c.name, twin, convert=True, final=c.name)
        self.stages["switch"].application.append(f"make sure the code accepts {c.table}.{c.name} as {c.new.type}")

    def _twin(self, c: Change, table: Table, old: str, new, *, convert: bool, final: str | None = None) -> None:
        rv = self.relation(table.key)
        schema = rv.schemaname
        function = names.make_object_name(table.name, (new.name,), "sync")
        kind = resolve_type(self.new, new.type, c.object).kind
        nullable = replace(new, nullable=True, default=None, identity=None, generated=None)
        definition = column_def(self.new, table, nullable, self.ref(table.key), rowid=False)
        definition.set("exists", True)

        def expand() -> None:
            self.emit(exp.Alter(this=self.ref(table.key), kind="TABLE", actions=[definition]), Form.ADD_COLUMN,
                      Order.COLUMNS, c, table.key, note="the new shape, nullable until it is filled")
            a, b = pg.identifier(old), pg.identifier(new.name)
            row_value = exp.column(self.new.ident(old), table=exp.to_identifier("NEW"))
            cast = exp.Cast(this=row_value, to=kind.copy()).sql("postgres")
            if convert:
                body = f" BEGIN NEW.{b} := {cast}; RETURN NEW; END "
            else:
                body = (f" BEGIN IF TG_OP = 'INSERT' THEN IF NEW.{b} IS NULL THEN NEW.{b} := NEW.{a}; END IF; "
                        f"IF NEW.{a} IS NULL THEN NEW.{a} := NEW.{b}; END IF; "
                        f"ELSIF NEW.{a} IS DISTINCT FROM OLD.{a} THEN NEW.{b} := NEW.{a}; "
                        f"ELSIF NEW.{b} IS DISTINCT FROM OLD.{b} THEN NEW.{a} := NEW.{b}; END IF; RETURN NEW; END ")
            self.emit(pg.create_trigger_function(schema, function, body), Form.CREATE_FUNCTION, Order.COLUMNS, c,
                      table.key, note="keeps both columns equal on every write")
            self.emit(pg.create_trigger(function, rv, schema, function, before=True), Form.CREATE_TRIGGER,
                      Order.COLUMNS, c, table.key)
            for index, _ in indexes:
                self._index(c, table, index)
            for check in checks:
                self._add_check(Change(Kind.ADD_CHECK, table.key, check.name, None, check))

        def backfill() -> None:
            source = exp.column(self.new.ident(old))
            value = exp.Cast(this=source, to=kind.copy()) if convert else source
            self._copy_batches(c, table, new.name, value)

        def contract() -> None:
            self.emit(pg.drop_trigger(function, rv), Form.DROP_TRIGGER, Order.DROP_COLUMNS, c, table.key)
            self.emit(pg.drop_function(schema, function), Form.DROP_FUNCTION, Order.DROP_COLUMNS, c, table.key)
            drop = exp.Drop(kind="COLUMN", tables=[exp.column(self.new.ident(old))], exists=True)
            self.emit(self.alter(table.key, drop), Form.DROP_COLUMN, Order.DROP_COLUMNS, c, table.key,
                      note="the old shape; its indexes and checks go with it")
            if final is not None:
                rename = exp.RenameColumn(this=exp.column(self.new.ident(new.name)),
                                          to=exp.column(self.new.ident(final)))
                self.emit(self.alter(table.key, rename), Form.RENAME_COLUMN, Order.DROP_COLUMNS, c, table.key,
                          note="the twin takes the old name: a brief ACCESS EXCLUSIVE, no rewrite")
            target = final or new.name
            if not new.nullable:
                self._not_null_safely(c, table, target)
            default = self._default(table, replace(new, name=target))
            if default is not None:
                self.emit(pg.alter_table(rv, pg.set_default(target, default)), Form.SET_DEFAULT, Order.COLUMNS,
                          c, table.key)
            for check, final_name in zip(checks, final_names, strict=True):
                if check.name != final_name:
                    self.emit(pg.rename_constraint(rv, check.name, final_name), Form.RENAME_CONSTRAINT,
                              Order.DROP_COLUMNS, c, table.key)
            for index, final_name in indexes:
                if index.name != final_name:
                    self._rename_index(Change(Kind.RENAME_INDEX, table.key, final_name, index,
                                              replace(index, name=final_name), "the twin's index takes its name"))
                    self.steps[-1] = replace(self.steps[-1], phase=Order.DROP_COLUMNS)

        old_table = self.diff.old.table(self._old_key(table))
        taken = {k.name for k in old_table.checks} | {i.name for i in old_table.indexes}
        indexes = [(self._on_twin(index, final or new.name, new.name, taken), index.name) for index in table.indexes
                   if index.name and (final or new.name) in index.columns]
        mentioning = [k for k in table.checks if self._mentions(k.expression, final or new.name)]
        final_names = [self._check_name(table, k) for k in mentioning]
        checks = [replace(k, name=n if n not in taken else names.make_object_name(n, None, "new"),
                          expression=k.expression if final is None else _renamed(k.expression, final, new.name,
                                                                                  self.diff.new.dialect))
                  for k, n in zip(mentioning, final_names, strict=True)]
        self._capture("expand", expand)
        self._capture("backfill", backfill)
        self._capture("contract", contract)

    @staticmethod
    def _on_twin(index: Index, column: str, twin: str, taken: set[str]) -> Index:
        """The index built on the twin column, under a temporary name when its own is still taken."""
        elements = tuple(replace(e, expression=twin) if not e.is_expression and e.expression == column else e
                         for e in index.elements)
        name = index.name if index.name not in taken else names.make_object_name(index.name, None, "new")
        return replace(index, name=name, elements=elements, include=tuple(twin if c == column else c
                                                                          for c in index.include))

    def _old_key(self, table: Table) -> str:
        """The key of ``table`` in the old model (before a table rename)."""
        for key, target in self.diff.rename_map.tables.items():
            if target.key == table.key:
                return next(t.key for t in self.diff.old.tables if table_match_key(t) == key)
        return table.key

    def _mentions(self, expression: str, column: str) -> bool:
        tree = parse_expression(expression, self.diff.new.dialect)
        return tree is not None and any(col.name == column for col in tree.find_all(exp.Column))

    def _copy_batches(self, c: Change, table: Table, column: str, value: exp.Expression) -> None:
        """Existing rows copied into the twin in committed batches, where it differs from what the old gives."""
        differs = exp.NullSafeNEQ(this=exp.column(self.new.ident(column)), expression=value.copy())
        self.batched_update(c, table, column, value, differs, Order.MOVE_ROWS,
                            f"existing rows, {BATCH_ROWS:,} per committed batch")

    def _phase_rename_table(self, c: Change) -> None:
        """Rename, and a view under the old name so the old code keeps reading and writing (it is updatable)."""
        old_ref = self.ref(c.old.key, self.original)

        def expand() -> None:
            self._rename_table(c)
            view = exp.Create(kind="VIEW", this=old_ref.copy(),
                              expression=exp.select(exp.Star()).from_(self.ref(c.new.key)))
            self.emit(view, Form.CREATE_VIEW, Order.CREATE_VIEWS, c, note="the old name, for the old code")

        def contract() -> None:
            self.emit(exp.Drop(kind="VIEW", tables=[old_ref.copy()], exists=True), Form.DROP_VIEW, Order.DROP_VIEWS,
                      c)

        self._capture("expand", expand)
        self._capture("contract", contract, f"nothing names {c.old.key} any more")
        self.stages["switch"].application.append(f"use {c.new.key} instead of {c.old.key}")

    def _phase_move_columns(self, c: Change) -> None:
        """A split: the new table is created in expand (its own change); a trigger on the old table copies
        every write of the moved columns, a backfill copies the rows, the columns are dropped in contract."""
        (source, fk), (target, columns) = c.old, c.new
        if fk not in target.foreign_keys:
            self._capture("backfill", lambda: self._move_columns(c))
            self.stages["switch"].application.append(f"read {', '.join(columns)} from {target.key}")
            return
        rv = self.relation(source.key)
        function = names.make_object_name(source.name, None, f"to_{target.name}")
        keys = dict(zip(fk.columns, fk.ref_columns, strict=True))
        into = self.ref(target.key).sql("postgres")
        assignments = ", ".join(f"{pg.identifier(n)} = NEW.{pg.identifier(n)}" for n in columns)
        match = " AND ".join(f"{pg.identifier(k)} = NEW.{pg.identifier(r)}" for k, r in keys.items())
        names_list = ", ".join(pg.identifier(n) for n in [*keys, *columns])
        values = ", ".join(f"NEW.{pg.identifier(n)}" for n in [*keys.values(), *columns])
        body = (f" BEGIN UPDATE {into} SET {assignments} WHERE {match}; IF NOT FOUND THEN INSERT INTO {into} "
                f"({names_list}) VALUES ({values}); END IF; RETURN NEW; END ")

        def expand() -> None:
            self.emit(pg.create_trigger_function(rv.schemaname, function, body), Form.CREATE_FUNCTION, Order.MOVE_ROWS,
                      c, source.key, note=f"every write of {', '.join(columns)} reaches {target.key}")
            self.emit(pg.create_trigger(function, rv, rv.schemaname, function, before=False, columns=columns),
                      Form.CREATE_TRIGGER, Order.MOVE_ROWS, c, source.key)

        def backfill() -> None:
            exists = exp.select("1").from_(self.ref(target.key)).where(exp.and_(*(
                exp.EQ(this=exp.column(self.new.ident(k), table=self.ref(target.key).name),
                       expression=exp.column(self.new.ident(r), table=self.ref(source.key).name))
                for k, r in keys.items())))
            select = exp.select(*(exp.column(self.new.ident(n)) for n in [*keys.values(), *columns])).from_(
                self.ref(source.key, self.old)).where(exp.Not(this=exp.Exists(this=exists)))
            insert = exp.insert(select, self.ref(target.key), columns=[self.new.ident(n) for n in [*keys, *columns]])
            self.emit(insert, Form.INSERT_SELECT, Order.MOVE_ROWS, c, target.key, other=source.key,
                      note="rows the trigger has not copied yet")

        def contract() -> None:
            self.emit(pg.drop_trigger(function, rv), Form.DROP_TRIGGER, Order.DROP_COLUMNS, c, source.key)
            self.emit(pg.drop_function(rv.schemaname, function), Form.DROP_FUNCTION, Order.DROP_COLUMNS, c, source.key)
            for drop in self.diff.of_kind(Kind.DROP_COLUMN):
                if drop.table == source.key and drop.name in columns:
                    self._drop_column(drop)

        self._capture("expand", expand)
        self._capture("backfill", backfill)
        self._capture("contract", contract)
        self.stages["switch"].application.append(
            f"read {', '.join(columns)} from {target.key} (join on {', '.join(fk.columns)}) and write them there")

    def _phase_drop_column(self, c: Change) -> None:
        return None  # a moved column: dropped by its move's contract

    def _phase_rename_constraint(self, c: Change) -> None:
        return None  # on a renamed column: the twin's own constraint takes the final name

    _phase_rename_index = _phase_rename_constraint


def _renamed(expression: str, column: str, twin: str, dialect: str | None) -> str:
    """A check over ``column`` rewritten over its twin (checked while both columns exist)."""
    from workbench.migrate.compare import rename_in

    return rename_in(expression, dialect, {column: twin}) or expression
