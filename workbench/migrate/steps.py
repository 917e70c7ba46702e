"""One statement of a migration with what it does to the running database: lock, rewrite, scan, loss."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from workbench.migrate.changes import Change
from workbench.migrate.locks import BLOCKS, LOCKS, Form


class Phase(IntEnum):
    """Where a statement goes in a script: dependencies first (types before columns, keys after targets)."""

    SESSION = 0
    SCHEMAS = 1
    TYPES = 2
    RENAMES = 3
    SEQUENCES = 4
    DROP_VIEWS = 5
    DROP_FOREIGN_KEYS = 6
    DROP_INDEXES = 7
    DROP_CONSTRAINTS = 8
    DROP_PARTITIONS = 9
    CREATE_TABLES = 10
    COLUMNS = 11
    MOVE_ROWS = 12
    FILLED = 13  # NOT NULL on columns the moved rows filled
    DROP_COLUMNS = 14
    DROP_TABLES = 15
    ENUM_CLEANUP = 16
    CONSTRAINTS = 17
    INDEXES = 18
    FOREIGN_KEYS = 19
    VALIDATE = 20
    DROP_TYPES = 21
    OWNERS = 22
    CREATE_VIEWS = 23
    COMMENTS = 24


@dataclass(frozen=True)
class Step:
    """One statement: its SQL, form (which says what it locks), the table it acts on, and its risks."""

    sql: str
    form: Form
    phase: Phase
    table: str | None = None  # model key of the table it alters
    other: str | None = None  # the referenced table, or the partition parent
    rewrites: bool | None = None  # None: as LOCKS says for the form
    scans: bool | None = None
    data_loss: str = ""  # what this statement destroys for good, if anything
    note: str = ""
    helper: bool = False  # part of a safe form's own scaffolding (e.g. the temporary NOT NULL check)
    change: Change | None = field(default=None, compare=False)

    @property
    def lock(self) -> str:
        return LOCKS[self.form].lock

    @property
    def other_lock(self) -> str:
        return LOCKS[self.form].other_lock if self.other else ""

    @property
    def rewrite(self) -> bool:
        return LOCKS[self.form].rewrites if self.rewrites is None else self.rewrites

    @property
    def scan(self) -> bool:
        return LOCKS[self.form].scans if self.scans is None else self.scans

    @property
    def transactional(self) -> bool:
        return LOCKS[self.form].transactional

    @property
    def blocks(self) -> str:
        return BLOCKS[self.lock]

    @property
    def source(self) -> str:
        return LOCKS[self.form].source

    def to_dict(self) -> dict[str, object]:
        return {"sql": self.sql, "form": str(self.form), "table": self.table, "lock": self.lock,
                "other_table": self.other, "other_lock": self.other_lock, "rewrites": self.rewrite,
                "scans": self.scan, "data_loss": self.data_loss, "transactional": self.transactional,
                "note": self.note, "change": self.change.object if self.change else None}
