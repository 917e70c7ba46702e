"""Columns and table constraints: one CREATE TABLE element (or ALTER TABLE part) into a table draft."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from workbench.ddl.generic.names import key_of
from workbench.ddl.generic.rewrites import Rewrites
from workbench.schema.builder import TableDraft
from workbench.schema.model import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    IndexElement,
    PrimaryKey,
    UniqueConstraint,
)


class TableElements(Rewrites):
    """Reads columns, keys, checks and inline indexes; what it cannot model goes to ``ignored``."""

    ignored: list[str]

    def table_element(self, draft: TableDraft, node: exp.Expression, name: str | None = None) -> bool:
        """Add one column or table constraint to ``draft``; False (and noted) when not modelled."""
        if isinstance(node, exp.ColumnDef):
            self.column(draft, node)
        elif isinstance(node, exp.Constraint):
            parts = node.expressions
            keyed = next((p.this for p in parts if isinstance(p, exp.ClusteredColumnConstraint |
                                                            exp.NonClusteredColumnConstraint)), None)
            for part in parts:
                if isinstance(part, exp.PrimaryKeyColumnConstraint) and keyed:
                    self.primary_key(draft, self.keys(keyed), self.name(node.this))
                elif isinstance(part, exp.UniqueColumnConstraint) and keyed and part.this is None:
                    draft.uniques.append(UniqueConstraint(self.keys(keyed), self.name(node.this)))
                elif not isinstance(part, exp.ClusteredColumnConstraint | exp.NonClusteredColumnConstraint
                                    | exp.Properties | exp.OnProperty):
                    self.table_element(draft, part, self.name(node.this))
        elif isinstance(node, exp.PrimaryKey):
            self.primary_key(draft, self.keys(node.expressions), name)
        elif isinstance(node, exp.ForeignKey):
            draft.foreign_keys.append(self.foreign_key(node.expressions, node.args.get("reference"), name,
                                                       node))
        elif isinstance(node, exp.UniqueColumnConstraint):
            target = node.this
            if isinstance(target, exp.ClusteredColumnConstraint | exp.NonClusteredColumnConstraint):
                draft.uniques.append(UniqueConstraint(self.keys(target.this), name))
            elif isinstance(target, exp.Schema):
                name = name or self.name(target.this)
                draft.uniques.append(UniqueConstraint(self.keys(target.expressions), name,
                                                      bool(node.args.get("nulls"))))
            else:
                self.ignored.append(f"unique constraint without columns: {self.render(node)}")
                return False
        elif isinstance(node, exp.CheckColumnConstraint):
            draft.checks.append(CheckConstraint(self.render(node.this), name))
        elif isinstance(node, exp.IndexColumnConstraint):
            draft.indexes.append(self.inline_index(node))
        else:
            self.ignored.append(self.render(node))
            return False
        return True

    def column(self, draft: TableDraft, node: exp.ColumnDef) -> None:
        name = self.name(node.this)
        draft.add_column(Column(name=name, type=self.written_type(node, name)))
        for constraint in node.constraints:
            self.column_constraint(draft, name, constraint.kind, self.name(constraint.this))

    def column_constraint(self, draft: TableDraft, column: str, kind: exp.Expression, name: str | None) -> None:
        if isinstance(kind, exp.NotNullColumnConstraint):
            draft.update_column(column, nullable=bool(kind.args.get("allow_null")))
        elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
            self.primary_key(draft, (column,), name)
        elif isinstance(kind, exp.UniqueColumnConstraint):
            draft.uniques.append(UniqueConstraint((column,), name))
        elif isinstance(kind, exp.AutoIncrementColumnConstraint):
            draft.update_column(column, autoincrement=True)
        elif isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
            if kind.args.get("expression") is not None:
                draft.update_column(column, generated=self.render(kind.args["expression"]))
            else:
                draft.update_column(column, identity="always" if kind.this else "by default")
        elif isinstance(kind, exp.ComputedColumnConstraint):
            expression = kind.this.unnest() if isinstance(kind.this, exp.Paren) else kind.this
            draft.update_column(column, generated=self.render(expression))
        elif isinstance(kind, exp.DefaultColumnConstraint):  # DEFAULT NULL is no default
            draft.update_column(column, default=None if isinstance(kind.this, exp.Null)
                                else self.render(kind.this))
        elif isinstance(kind, exp.CommentColumnConstraint):
            draft.update_column(column, comment=kind.this.name)
        elif isinstance(kind, exp.CheckColumnConstraint):
            draft.checks.append(CheckConstraint(self.render(kind.this), name))
        elif isinstance(kind, exp.Reference):
            draft.foreign_keys.append(self.foreign_key([exp.to_identifier(column)], kind, name, None))
        else:
            self.ignored.append(f"{self.render(kind)} on {column}")

    def written_type(self, node: exp.ColumnDef, name: str) -> str:
        """The column's type as written in the file, or sqlglot's rendering when it cannot be isolated."""
        if name in self.type_overrides:
            return self.type_overrides[name]
        kind = node.args.get("kind")
        if kind is None:
            return ""
        end = node.this.meta.get("end")
        if end is not None:
            if self.tokens is None:
                self.tokens = self.tokenize(self.source)
            tokens = self.tokens
            i = next((k for k, t in enumerate(tokens) if t.start > end), len(tokens))
            j, depth = i, 0
            while j < len(tokens) and j - i < 12:
                token = tokens[j]
                if token.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.LT):
                    depth += 1
                elif token.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.GT):
                    depth -= 1
                if depth < 0 or (depth == 0 and token.token_type == TokenType.COMMA):
                    break
                if token.token_type == TokenType.IDENTIFIER:  # a quoted type name: use sqlglot's text
                    break
                if depth == 0:
                    raw = self.source[tokens[i].start:token.end + 1]
                    try:
                        if exp.DataType.build(raw, dialect=self.dialect) == kind:
                            return " ".join(raw.split())
                    except SqlglotError:
                        pass
                j += 1
        return self.render(kind)

    def primary_key(self, draft: TableDraft, columns: tuple[str, ...], name: str | None) -> None:
        draft.primary_key = PrimaryKey(columns, name)
        for column in columns:
            if self.dialect != "sqlite" or self.is_rowid_alias(draft, columns):
                self.set_nullable(draft, column)

    def set_nullable(self, draft: TableDraft, column: str) -> None:
        if any(c.name == column for c in draft.columns):
            draft.update_column(column, nullable=False)

    @staticmethod
    def is_rowid_alias(draft: TableDraft, columns: tuple[str, ...]) -> bool:
        """SQLite lets a primary key column hold NULL, except ``INTEGER PRIMARY KEY`` (the rowid)."""
        return len(columns) == 1 and any(c.name == columns[0] and c.type.upper() == "INTEGER"
                                         for c in draft.columns)

    def foreign_key(self, columns: list[exp.Expression], reference: exp.Reference | None, name: str | None,
                    node: exp.ForeignKey | None) -> ForeignKey:
        target = reference.this if reference is not None else None
        table = target.this if isinstance(target, exp.Schema) else target
        ref_schema, ref_table = self.table_ref(table) if isinstance(table, exp.Table) else (None, "?")
        ref_columns = self.keys(target.expressions) if isinstance(target, exp.Schema) else ()
        actions: dict[str, str | None] = {"delete": None, "update": None}
        deferrable = deferred = False
        for option in reference.args.get("options") or [] if reference is not None else []:
            text = " ".join(str(option).upper().split())
            for action in actions:
                if text.startswith(f"ON {action.upper()} "):
                    actions[action] = text[len(action) + 4:]
            deferrable = deferrable or text == "DEFERRABLE"
            deferred = deferred or text == "INITIALLY DEFERRED"
        for action in actions:
            if node is not None and node.args.get(action):
                actions[action] = str(node.args[action]).upper()
        return ForeignKey(self.keys(columns), ref_table, ref_columns, ref_schema, name, actions["delete"],
                          actions["update"], deferrable, deferred)

    def inline_index(self, node: exp.IndexColumnConstraint) -> Index:
        kind = str(node.args.get("kind") or "").lower()
        using = next((str(o.args["using"]).lower() for o in node.args.get("options") or []
                      if o.args.get("using")), None) or str(node.args.get("index_type") or "").lower()
        method = kind if kind in ("fulltext", "spatial") else using or "btree"
        return Index(self.name(node.this), self.elements(node.expressions), unique=kind == "unique",
                     method=method)

    def elements(self, nodes: list[exp.Expression]) -> tuple[IndexElement, ...]:
        elements = []
        for node in nodes:
            ordered = node if isinstance(node, exp.Ordered) else None
            ident = key_of(node)
            inner = ordered.this if ordered is not None else node
            elements.append(IndexElement(
                expression=self.name(ident) if ident is not None else self.render(inner),
                is_expression=ident is None,
                descending=bool(ordered and ordered.args.get("desc")),
            ))
        return tuple(elements)
