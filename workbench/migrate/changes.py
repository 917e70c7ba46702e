"""The typed changes a diff finds between two schema models, and the renames it detected.

A change names its kind, the object it touches (``table``, ``table.column``, ``table.constraint``) and
carries the model objects on both sides (``old``/``new``, None where the object does not exist), so the
planner renders it from the model and never from text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """Every kind of change, in the words the diff shows."""

    CREATE_SCHEMA = "create schema"
    CREATE_ENUM = "create enum"
    DROP_ENUM = "drop enum"
    ADD_ENUM_VALUE = "add enum value"
    RENAME_ENUM_VALUE = "rename enum value"
    RECREATE_ENUM = "recreate enum"  # values removed or reordered: PostgreSQL cannot drop a value
    CREATE_DOMAIN = "create domain"
    DROP_DOMAIN = "drop domain"
    CREATE_SEQUENCE = "create sequence"
    DROP_SEQUENCE = "drop sequence"
    SEQUENCE_OWNER = "change sequence owner"
    CREATE_TABLE = "create table"
    DROP_TABLE = "drop table"
    RENAME_TABLE = "rename table"
    ADD_PARTITION = "add partition"
    DROP_PARTITION = "drop partition"
    REPARTITION = "change partitioning"
    ADD_COLUMN = "add column"
    DROP_COLUMN = "drop column"
    RENAME_COLUMN = "rename column"
    MOVE_COLUMNS = "move columns"  # a table split (or merged): columns leave one table for another
    ALTER_TYPE = "change type"
    SET_NOT_NULL = "set not null"
    DROP_NOT_NULL = "drop not null"
    SET_DEFAULT = "set default"
    DROP_DEFAULT = "drop default"
    ADD_IDENTITY = "add identity"
    DROP_IDENTITY = "drop identity"
    CHANGE_GENERATED = "change generated expression"
    ADD_PRIMARY_KEY = "add primary key"
    DROP_PRIMARY_KEY = "drop primary key"
    ADD_UNIQUE = "add unique constraint"
    DROP_UNIQUE = "drop unique constraint"
    ADD_CHECK = "add check"
    DROP_CHECK = "drop check"
    ADD_FOREIGN_KEY = "add foreign key"
    DROP_FOREIGN_KEY = "drop foreign key"
    RENAME_CONSTRAINT = "rename constraint"
    CREATE_INDEX = "create index"
    DROP_INDEX = "drop index"
    RENAME_INDEX = "rename index"
    CREATE_VIEW = "create view"
    DROP_VIEW = "drop view"
    COMMENT = "comment"


@dataclass(frozen=True)
class Change:
    """One difference between the old and the new model.

    ``table`` is the model key of the table it belongs to (after renames), ``name`` the column,
    constraint, index or value it touches; ``old``/``new`` are the model objects on each side.
    """

    kind: Kind
    table: str | None
    name: str | None = None
    old: object = None
    new: object = None
    detail: str = ""

    @property
    def object(self) -> str:
        if self.table and self.name:
            return f"{self.table}.{self.name}"
        return self.table or self.name or ""

    def to_dict(self) -> dict[str, str]:
        return {"kind": str(self.kind), "object": self.object, "detail": self.detail}


@dataclass(frozen=True)
class Rename:
    """A table or column rename: detected from structure (with a confidence) or given as a hint."""

    kind: str  # "table" | "column"
    old: str  # table key, or table.column in the old model
    new: str
    confidence: float
    applied: bool
    reason: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "old": self.old, "new": self.new, "confidence": round(self.confidence, 2),
                "applied": self.applied}


@dataclass(frozen=True)
class Note:
    """Something the user must know about a diff or plan: what it cannot do, or a choice it made."""

    object: str
    message: str
    blocking: bool = False  # True: the plan cannot reach the new schema as written

    def __str__(self) -> str:
        return f"{self.object}: {self.message}"
