"""CREATE TABLE / INDEX / SEQUENCE / VIEW / SCHEMA, ALTER TABLE and COMMENT ON, into the schema builder."""

from __future__ import annotations

import re

from sqlglot import exp

from workbench.ddl.generic.dialects import DATABASE_IS_SCHEMA
from workbench.ddl.generic.elements import TableElements
from workbench.ddl.generic.keywords import SNIPPET
from workbench.ddl.report import MODELLED, NOT_MODELLED, ImportReport
from workbench.ddl.split import Statement
from workbench.schema.builder import SchemaBuilder
from workbench.schema.model import Index, Sequence, View, qualified


class Objects(TableElements):
    """Models one parsed statement's object; ``add`` records its outcome in the report."""

    builder: SchemaBuilder
    report: ImportReport

    def add(self, where: Statement, kind: str, status: str, reason: str = "") -> None:
        self.report.add(where.line, kind, status, reason, where.text[:SNIPPET], where.column)

    def create(self, node: exp.Create, stmt: Statement) -> None:
        created = str(node.args.get("kind") or "").upper()
        kind = f"CREATE {created}"
        if created == "TABLE":
            self.create_table(node, stmt)
        elif created == "VIEW":
            self.create_view(node, stmt)
        elif created == "INDEX":
            self.create_index(node, stmt)
        elif created == "SEQUENCE":
            self.create_sequence(node, stmt)
        elif created == "SCHEMA" and self.dialect in DATABASE_IS_SCHEMA:
            self.add(stmt, kind, NOT_MODELLED, f"in {self.dialect} a schema is a database: tables qualified "
                     "with it get it as their schema, unqualified ones have none")
        elif created == "SCHEMA":
            table = node.this
            if isinstance(table, exp.Table):
                self.builder.add_namespace(self.name(table.args.get("db") or table.this))
            self.add(stmt, kind, MODELLED)
        else:
            self.add(stmt, kind, NOT_MODELLED, f"CREATE {created} is not modelled")

    def create_table(self, node: exp.Create, stmt: Statement) -> None:
        properties = node.args.get("properties")
        props = properties.expressions if properties else []
        if not isinstance(node.this, exp.Schema):
            self.add(stmt, "CREATE TABLE", NOT_MODELLED,
                     "CREATE TABLE ... AS/LIKE: the columns come from elsewhere and are not modelled")
            return
        if any(isinstance(p, exp.TemporaryProperty) for p in props):
            self.add(stmt, "CREATE TABLE", NOT_MODELLED, "a temporary table lives for one session: not modelled")
            return
        schema, name = self.table_ref(node.this.this)
        if qualified(schema, name) in self.builder.tables and node.args.get("exists"):
            self.add(stmt, "CREATE TABLE", NOT_MODELLED, f"table {qualified(schema, name)} already exists "
                                                         f"(IF NOT EXISTS): the first definition is kept")
            return
        draft = self.builder.add_table(name, schema)
        try:
            for prop in props:
                if isinstance(prop, exp.SchemaCommentProperty):
                    draft.comment = prop.this.name
            for element in node.this.expressions:
                self.table_element(draft, element)
        except Exception:  # a statement that fails half-way leaves no table behind
            self.builder.discard_table(draft.key)
            raise
        if self.without_rowid and draft.primary_key is not None:
            for column in draft.primary_key.columns:  # a WITHOUT ROWID table enforces NOT NULL on its key
                self.set_nullable(draft, column)
        self.add(stmt, "CREATE TABLE", MODELLED, self.ignored_reason())

    def ignored_reason(self) -> str:
        return "ignored: " + "; ".join(self.ignored) if self.ignored else ""
    def create_index(self, node: exp.Create, stmt: Statement) -> None:
        index = node.this
        params = index.args.get("params") if isinstance(index, exp.Index) else None
        table = index.args.get("table") if isinstance(index, exp.Index) else None
        draft = self.builder.find(*reversed(self.table_ref(table))) if isinstance(table, exp.Table) else None
        if draft is None or params is None:
            self.add(stmt, "CREATE INDEX", NOT_MODELLED,
                     "the index is on a table this file does not declare" if params else "no key columns")
            return
        using = params.args.get("using")
        where = params.args.get("where")
        draft.indexes.append(Index(
            name=self.name(index.this),
            elements=self.elements(params.args.get("columns") or []),
            unique=bool(node.args.get("unique")),
            method=self.type_overrides.get("<method>") or (using.name.lower() if using else "btree"),
            include=self.keys(params.args.get("include") or []),
            where=self.render(where.this) if where is not None else None,
        ))
        self.add(stmt, "CREATE INDEX", MODELLED)

    def create_sequence(self, node: exp.Create, stmt: Statement) -> None:
        schema, name = self.table_ref(node.this)
        settings = node.find(exp.SequenceProperties)

        def number(key: str) -> int | None:
            value = settings.args.get(key) if settings else None
            text = value.sql() if value is not None else ""
            return int(text) if re.fullmatch(r"-?\d+", text) else None

        self.builder.add_namespace(schema)
        self.builder.add_sequence(Sequence(name, schema, start=number("start"), increment=number("increment")))
        self.add(stmt, "CREATE SEQUENCE", MODELLED)

    def create_view(self, node: exp.Create, stmt: Statement) -> None:
        target = node.this
        table = target.this if isinstance(target, exp.Schema) else target
        schema, name = self.table_ref(table)
        query = node.expression
        if query is None:
            self.add(stmt, "CREATE VIEW", NOT_MODELLED, "a view without a query is not modelled")
            return
        ctes = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
        depends: list[str] = []
        for read in query.find_all(exp.Table):
            if not isinstance(read.this, exp.Identifier) or (read.args.get("db") is None and read.name in ctes):
                continue
            key = qualified(*self.table_ref(read))
            if key not in depends:
                depends.append(key)
        properties = node.args.get("properties")
        materialized = bool(properties and any(isinstance(p, exp.MaterializedProperty)
                                               for p in properties.expressions))
        columns = self.keys(target.expressions) if isinstance(target, exp.Schema) else ()
        self.builder.add_view(View(name, schema, self.render(query), tuple(depends), materialized,
                                   columns))
        self.add(stmt, "CREATE VIEW", MODELLED)

    def alter(self, node: exp.Alter, stmt: Statement) -> None:
        actions = node.args.get("actions") or []
        kind = "ALTER TABLE"
        if actions and isinstance(actions[0], exp.AddConstraint):
            kind = "ALTER TABLE ADD CONSTRAINT"
        elif actions and isinstance(actions[0], exp.ColumnDef):
            kind = "ALTER TABLE ADD COLUMN"
        table = node.this
        draft = (self.builder.find(*reversed(self.table_ref(table)))
                 if str(node.args.get("kind") or "").upper() == "TABLE" and isinstance(table, exp.Table) else None)
        if draft is None:
            self.add(stmt, kind, NOT_MODELLED, "it alters an object this file does not declare as a table")
            return
        done, skipped = 0, []
        for action in actions:
            parts = action.expressions if isinstance(action, exp.AddConstraint) else [action]
            for part in parts:
                if isinstance(part, exp.ColumnDef | exp.Constraint | exp.PrimaryKey | exp.ForeignKey
                              | exp.UniqueColumnConstraint | exp.CheckColumnConstraint):
                    done += self.table_element(draft, part)
                else:
                    skipped.append(self.render(part))
        skipped += self.ignored
        if skipped:
            self.add(stmt, kind, NOT_MODELLED, f"{done} parts modelled; not modelled: " + "; ".join(skipped))
        else:
            self.add(stmt, kind, MODELLED)

    def comment(self, node: exp.Comment, stmt: Statement) -> None:
        kind = str(node.args.get("kind") or "").upper()
        text = node.expression.name if node.expression is not None else None
        target = node.this
        if kind == "TABLE" and isinstance(target, exp.Table):
            draft = self.builder.find(*reversed(self.table_ref(target)))
            if draft is not None:
                draft.comment = text
                self.add(stmt, "COMMENT ON TABLE", MODELLED)
                return
        if kind == "COLUMN" and isinstance(target, exp.Column):
            table = exp.Table(this=target.args.get("table"), db=target.args.get("db"))
            draft = self.builder.find(*reversed(self.table_ref(table))) if table.this else None
            column = self.name(target.this)
            if draft is not None and any(c.name == column for c in draft.columns):
                draft.update_column(column, comment=text)
                self.add(stmt, "COMMENT ON COLUMN", MODELLED)
                return
        self.add(stmt, f"COMMENT ON {kind}", NOT_MODELLED, "the commented object is not in the model")

    # -- names ------------------------------------------------------------------------------------
