"""Foreign keys read as relationships with crow's-foot cardinalities, shared by every diagram format."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from workbench.schema.model import ForeignKey, Schema, Table


@dataclass(frozen=True)
class Relationship:
    """One foreign key from ``child`` to ``parent`` (None when the parent is not in the schema).

    ``child_many``: several child rows may point at one parent (the FK columns are not unique).
    ``optional``: some FK column is nullable, so a child row may point at no parent at all.
    ``identifying``: the FK columns are part of the child's primary key.
    """

    child: Table
    fk: ForeignKey
    parent: Table | None
    child_many: bool
    optional: bool
    identifying: bool

    @property
    def parent_key(self) -> str:
        return self.parent.key if self.parent is not None else self.fk.ref_key


def relationship(schema: Schema, child: Table, fk: ForeignKey) -> Relationship:
    """The relationship a foreign key declares, its cardinalities read from keys and nullability."""
    nullable = any(not child.has_column(c) or child.column(c).nullable for c in fk.columns)
    pk = set(child.primary_key.columns) if child.primary_key else set()
    return Relationship(
        child=child,
        fk=fk,
        parent=schema.referenced_table(fk),
        child_many=not child.is_unique_on(fk.columns),
        optional=nullable,
        identifying=bool(pk) and set(fk.columns) <= pk,
    )


def relationships(schema: Schema, tables: tuple[Table, ...] | None = None) -> list[Relationship]:
    """Every foreign key of ``tables`` (default: all tables), in declaration order."""
    return [relationship(schema, t, fk) for t in (schema.tables if tables is None else tables) for fk in t.foreign_keys]


def neighbourhood(schema: Schema, focus: str, depth: int) -> tuple[Table, ...]:
    """``focus`` plus the tables within ``depth`` foreign-key hops of it, in either direction."""
    start = schema.table(focus)
    adjacent: dict[str, set[str]] = {t.key: set() for t in schema.tables}
    for rel in relationships(schema):
        if rel.parent is not None:
            adjacent[rel.child.key].add(rel.parent.key)
            adjacent[rel.parent.key].add(rel.child.key)
    hops = {start.key: 0}
    queue = deque([start.key])
    while queue:
        key = queue.popleft()
        if hops[key] < depth:
            for other in adjacent[key] - hops.keys():
                hops[other] = hops[key] + 1
                queue.append(other)
    return tuple(t for t in schema.tables if t.key in hops)
