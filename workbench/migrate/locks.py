"""What each statement form locks, rewrites and scans in PostgreSQL: the one home of that knowledge.

Every entry cites PostgreSQL 18's documentation: the reference page of the command (``ALTER TABLE``
lists its lock level per sub-command: "an ACCESS EXCLUSIVE lock is acquired unless explicitly noted")
and chapter 13.3 "Explicit Locking", which says which modes conflict. ``Migration.measure`` checks
these against ``pg_locks`` of the migrating backend and the table's relfilenode on a real server.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
EXCLUSIVE = "EXCLUSIVE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
SHARE = "SHARE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
ROW_EXCLUSIVE = "ROW EXCLUSIVE"
ROW_SHARE = "ROW SHARE"
ACCESS_SHARE = "ACCESS SHARE"
NONE = ""

# Strongest first; pg_locks spells them ``AccessExclusiveLock`` ...
MODES = (ACCESS_EXCLUSIVE, EXCLUSIVE, SHARE_ROW_EXCLUSIVE, SHARE, SHARE_UPDATE_EXCLUSIVE, ROW_EXCLUSIVE, ROW_SHARE,
         ACCESS_SHARE)
PG_LOCKS_NAMES = {mode.title().replace(" ", "") + "Lock": mode for mode in MODES}

# Chapter 13.3.1, "Conflicting Lock Modes", read for what a running application does: plain reads take
# ACCESS SHARE, writes ROW EXCLUSIVE.
BLOCKS = {
    ACCESS_EXCLUSIVE: "reads and writes",
    EXCLUSIVE: "writes (reads go on)",
    SHARE_ROW_EXCLUSIVE: "writes (reads go on)",
    SHARE: "writes (reads go on)",
    SHARE_UPDATE_EXCLUSIVE: "only other schema changes and VACUUM",
    ROW_EXCLUSIVE: "only statements that lock the table as SHARE or stronger",
    ROW_SHARE: "only EXCLUSIVE and ACCESS EXCLUSIVE locks",
    ACCESS_SHARE: "only ACCESS EXCLUSIVE locks",
    NONE: "nothing on tables",
}


def strength(mode: str) -> int:
    """A number that grows with the mode's strength (0 for no lock)."""
    return len(MODES) - MODES.index(mode) if mode in MODES else 0


class Form(StrEnum):
    """The statement forms a migration uses."""

    SET = "SET"
    CREATE_SCHEMA = "CREATE SCHEMA"
    CREATE_TYPE = "CREATE TYPE"
    ALTER_TYPE_ADD_VALUE = "ALTER TYPE ADD VALUE"
    ALTER_TYPE_RENAME = "ALTER TYPE RENAME"
    DROP_TYPE = "DROP TYPE"
    CREATE_SEQUENCE = "CREATE SEQUENCE"
    DROP_SEQUENCE = "DROP SEQUENCE"
    ALTER_SEQUENCE = "ALTER SEQUENCE OWNED BY"
    CREATE_TABLE = "CREATE TABLE"
    CREATE_PARTITION = "CREATE TABLE PARTITION OF"
    DROP_TABLE = "DROP TABLE"
    RENAME_TABLE = "ALTER TABLE RENAME"
    ADD_COLUMN = "ALTER TABLE ADD COLUMN"
    DROP_COLUMN = "ALTER TABLE DROP COLUMN"
    RENAME_COLUMN = "ALTER TABLE RENAME COLUMN"
    ALTER_COLUMN_TYPE = "ALTER TABLE ALTER COLUMN TYPE"
    SET_DEFAULT = "ALTER TABLE ALTER COLUMN SET/DROP DEFAULT"
    SET_NOT_NULL = "ALTER TABLE ALTER COLUMN SET NOT NULL"
    DROP_NOT_NULL = "ALTER TABLE ALTER COLUMN DROP NOT NULL"
    IDENTITY = "ALTER TABLE ALTER COLUMN ADD/DROP IDENTITY"
    DROP_EXPRESSION = "ALTER TABLE ALTER COLUMN DROP EXPRESSION"
    ADD_CONSTRAINT = "ALTER TABLE ADD CONSTRAINT (CHECK, UNIQUE, PRIMARY KEY)"
    ADD_CONSTRAINT_NOT_VALID = "ALTER TABLE ADD CONSTRAINT ... NOT VALID"
    ADD_FOREIGN_KEY = "ALTER TABLE ADD FOREIGN KEY"
    ADD_FOREIGN_KEY_NOT_VALID = "ALTER TABLE ADD FOREIGN KEY ... NOT VALID"
    ADD_CONSTRAINT_USING_INDEX = "ALTER TABLE ADD CONSTRAINT ... USING INDEX"
    VALIDATE_CONSTRAINT = "ALTER TABLE VALIDATE CONSTRAINT"
    DROP_CONSTRAINT = "ALTER TABLE DROP CONSTRAINT"
    RENAME_CONSTRAINT = "ALTER TABLE RENAME CONSTRAINT"
    ATTACH_PARTITION = "ALTER TABLE ATTACH PARTITION"
    DETACH_PARTITION = "ALTER TABLE DETACH PARTITION"
    CREATE_INDEX = "CREATE INDEX"
    CREATE_INDEX_CONCURRENTLY = "CREATE INDEX CONCURRENTLY"
    DROP_INDEX = "DROP INDEX"
    DROP_INDEX_CONCURRENTLY = "DROP INDEX CONCURRENTLY"
    RENAME_INDEX = "ALTER INDEX RENAME"
    CREATE_VIEW = "CREATE VIEW"
    DROP_VIEW = "DROP VIEW"
    COMMENT = "COMMENT ON"
    UPDATE = "UPDATE (backfill)"
    BATCHED_UPDATE = "DO: batched UPDATE"
    INSERT_SELECT = "INSERT ... SELECT (copy rows)"
    CREATE_TABLE_AS = "CREATE TABLE AS (backup)"
    CREATE_FUNCTION = "CREATE FUNCTION"
    DROP_FUNCTION = "DROP FUNCTION"
    CREATE_TRIGGER = "CREATE TRIGGER"
    DROP_TRIGGER = "DROP TRIGGER"


@dataclass(frozen=True)
class LockFact:
    """What one form does to the table it alters (and to a referenced table), and the documentation."""

    lock: str
    rewrites: bool = False
    scans: bool = False
    other_lock: str = NONE  # on the referenced table (foreign keys) or the parent (partitions)
    transactional: bool = True  # False: cannot run inside a transaction block
    source: str = ""


_ALTER = "PostgreSQL 18, ALTER TABLE: "
LOCKS: dict[Form, LockFact] = {
    Form.SET: LockFact(NONE, source="SET changes the session only"),
    Form.CREATE_SCHEMA: LockFact(NONE, source="CREATE SCHEMA creates a namespace; no table is locked"),
    Form.CREATE_TYPE: LockFact(NONE, source="CREATE TYPE: no table is locked"),
    Form.ALTER_TYPE_ADD_VALUE: LockFact(NONE, source="ALTER TYPE: ADD VALUE locks the type, not the tables "
                                                     "using it; the new value cannot be used before it commits"),
    Form.ALTER_TYPE_RENAME: LockFact(NONE, source="ALTER TYPE: RENAME [VALUE] locks the type only"),
    Form.DROP_TYPE: LockFact(NONE, source="DROP TYPE: fails while a column uses the type"),
    Form.CREATE_SEQUENCE: LockFact(NONE, source="CREATE SEQUENCE: a new relation, nothing else locked"),
    Form.DROP_SEQUENCE: LockFact(ACCESS_EXCLUSIVE, source="DROP SEQUENCE locks the sequence only"),
    Form.ALTER_SEQUENCE: LockFact(NONE, source="ALTER SEQUENCE: locks the sequence, not the owning table"),
    Form.CREATE_TABLE: LockFact(NONE, other_lock=SHARE_ROW_EXCLUSIVE,
                                source="CREATE TABLE: a new table; a REFERENCES clause takes SHARE ROW EXCLUSIVE "
                                       "on the referenced table (13.3.1)"),
    Form.CREATE_PARTITION: LockFact(NONE, other_lock=ACCESS_EXCLUSIVE,
                                    source="CREATE TABLE ... PARTITION OF takes ACCESS EXCLUSIVE on the parent "
                                           "(use CREATE TABLE + ATTACH PARTITION to avoid it)"),
    Form.DROP_TABLE: LockFact(ACCESS_EXCLUSIVE, other_lock=ACCESS_EXCLUSIVE,
                              source="DROP TABLE takes ACCESS EXCLUSIVE (13.3.1), also on tables its foreign "
                                     "keys reference (their triggers are dropped)"),
    Form.RENAME_TABLE: LockFact(ACCESS_EXCLUSIVE, source=_ALTER + "RENAME takes ACCESS EXCLUSIVE"),
    Form.ADD_COLUMN: LockFact(ACCESS_EXCLUSIVE, source=_ALTER + "ADD COLUMN takes ACCESS EXCLUSIVE; with a volatile "
                                                                "default (or a stored generated column) every row is "
                                                                "rewritten, a constant default is stored once"),
    Form.DROP_COLUMN: LockFact(ACCESS_EXCLUSIVE, source=_ALTER + "DROP COLUMN takes ACCESS EXCLUSIVE and does not "
                                                                 "rewrite (the column becomes invisible)"),
    Form.RENAME_COLUMN: LockFact(ACCESS_EXCLUSIVE, source=_ALTER + "RENAME COLUMN takes ACCESS EXCLUSIVE, "
                                                                   "metadata only"),
    Form.ALTER_COLUMN_TYPE: LockFact(ACCESS_EXCLUSIVE, rewrites=True, scans=True,
                                     source=_ALTER + "SET DATA TYPE takes ACCESS EXCLUSIVE and rewrites the table and "
                                                     "its indexes unless the old type is binary coercible to the new"),
    Form.SET_DEFAULT: LockFact(ACCESS_EXCLUSIVE, source=_ALTER + "SET/DROP DEFAULT takes ACCESS EXCLUSIVE, affects "
                                                                 "only later inserts"),
    Form.SET_NOT_NULL: LockFact(ACCESS_EXCLUSIVE, scans=True,
                                source=_ALTER + "SET NOT NULL takes ACCESS EXCLUSIVE and scans the table, unless a "
                                                "valid CHECK (col IS NOT NULL) proves it"),
    Form.DROP_NOT_NULL: LockFact(ACCESS_EXCLUSIVE, source=_ALTER + "DROP NOT NULL takes ACCESS EXCLUSIVE, metadata"),
    Form.IDENTITY: LockFact(ACCESS_EXCLUSIVE, source=_ALTER + "ADD/DROP IDENTITY takes ACCESS EXCLUSIVE"),
    Form.DROP_EXPRESSION: LockFact(ACCESS_EXCLUSIVE, source=_ALTER + "DROP EXPRESSION takes ACCESS EXCLUSIVE"),
    Form.ADD_CONSTRAINT: LockFact(ACCESS_EXCLUSIVE, scans=True,
                                  source=_ALTER + "ADD table_constraint takes ACCESS EXCLUSIVE; a CHECK scans the "
                                                  "table, UNIQUE and PRIMARY KEY build an index"),
    Form.ADD_CONSTRAINT_NOT_VALID: LockFact(ACCESS_EXCLUSIVE,
                                            source=_ALTER + "ADD ... NOT VALID skips the scan of existing rows; the "
                                                            "lock is held only for the catalog update"),
    Form.ADD_FOREIGN_KEY: LockFact(SHARE_ROW_EXCLUSIVE, scans=True, other_lock=SHARE_ROW_EXCLUSIVE,
                                   source=_ALTER + "ADD FOREIGN KEY takes SHARE ROW EXCLUSIVE on both tables and "
                                                   "scans the referencing one (writes wait)"),
    Form.ADD_FOREIGN_KEY_NOT_VALID: LockFact(SHARE_ROW_EXCLUSIVE, other_lock=SHARE_ROW_EXCLUSIVE,
                                             source=_ALTER + "ADD FOREIGN KEY ... NOT VALID: same locks, no scan"),
    Form.ADD_CONSTRAINT_USING_INDEX: LockFact(ACCESS_EXCLUSIVE,
                                              source=_ALTER + "ADD CONSTRAINT ... USING INDEX takes ACCESS EXCLUSIVE "
                                                              "briefly: the index exists already"),
    Form.VALIDATE_CONSTRAINT: LockFact(SHARE_UPDATE_EXCLUSIVE, scans=True, other_lock=ROW_SHARE,
                                       source=_ALTER + "VALIDATE CONSTRAINT requires only SHARE UPDATE EXCLUSIVE (a "
                                                       "foreign key also ROW SHARE on the referenced table): reads "
                                                       "and writes go on during the scan"),
    Form.DROP_CONSTRAINT: LockFact(ACCESS_EXCLUSIVE, other_lock=ACCESS_EXCLUSIVE,
                                   source=_ALTER + "DROP CONSTRAINT takes ACCESS EXCLUSIVE (a foreign key also on the "
                                                   "referenced table)"),
    Form.RENAME_CONSTRAINT: LockFact(ACCESS_EXCLUSIVE, source=_ALTER + "RENAME CONSTRAINT takes ACCESS EXCLUSIVE"),
    Form.ATTACH_PARTITION: LockFact(SHARE_UPDATE_EXCLUSIVE, scans=True, other_lock=ACCESS_EXCLUSIVE,
                                    source=_ALTER + "ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the parent, "
                                                    "ACCESS EXCLUSIVE on the partition, and scans it unless a "
                                                    "valid CHECK implies the bound"),
    Form.DETACH_PARTITION: LockFact(ACCESS_EXCLUSIVE, source=_ALTER + "DETACH PARTITION takes ACCESS EXCLUSIVE "
                                                                      "unless CONCURRENTLY"),
    Form.CREATE_INDEX: LockFact(SHARE, scans=True, source="CREATE INDEX takes SHARE: reads go on, writes wait "
                                                          "for the whole build"),
    Form.CREATE_INDEX_CONCURRENTLY: LockFact(SHARE_UPDATE_EXCLUSIVE, scans=True, transactional=False,
                                             source="CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE and "
                                                    "scans twice; it cannot run in a transaction block"),
    Form.DROP_INDEX: LockFact(ACCESS_EXCLUSIVE, source="DROP INDEX takes ACCESS EXCLUSIVE on the table"),
    Form.DROP_INDEX_CONCURRENTLY: LockFact(SHARE_UPDATE_EXCLUSIVE, transactional=False,
                                           source="DROP INDEX CONCURRENTLY waits for running transactions instead "
                                                  "of blocking them; not in a transaction block"),
    Form.RENAME_INDEX: LockFact(SHARE_UPDATE_EXCLUSIVE, source="ALTER INDEX: RENAME takes SHARE UPDATE EXCLUSIVE"),
    Form.CREATE_VIEW: LockFact(NONE, source="CREATE VIEW: a new relation; the tables it reads are not blocked"),
    Form.DROP_VIEW: LockFact(NONE, source="DROP VIEW takes ACCESS EXCLUSIVE on the view only"),
    Form.COMMENT: LockFact(SHARE_UPDATE_EXCLUSIVE, source="COMMENT takes SHARE UPDATE EXCLUSIVE on the object"),
    Form.UPDATE: LockFact(ROW_EXCLUSIVE, scans=True, source="UPDATE takes ROW EXCLUSIVE (13.3.1) and row locks"),
    Form.BATCHED_UPDATE: LockFact(ROW_EXCLUSIVE, scans=True, transactional=False,
                                  source="UPDATE takes ROW EXCLUSIVE; committing every batch keeps row locks short "
                                         "(a DO block may COMMIT only outside a transaction block)"),
    Form.INSERT_SELECT: LockFact(ROW_EXCLUSIVE, scans=True, other_lock=ACCESS_SHARE,
                                 source="INSERT takes ROW EXCLUSIVE on its target, SELECT ACCESS SHARE on the source"),
    Form.CREATE_TABLE_AS: LockFact(NONE, scans=True, other_lock=ACCESS_SHARE,
                                   source="CREATE TABLE AS reads its source with ACCESS SHARE"),
    Form.CREATE_FUNCTION: LockFact(NONE, source="CREATE FUNCTION: no table is locked"),
    Form.DROP_FUNCTION: LockFact(NONE, source="DROP FUNCTION: no table is locked"),
    Form.CREATE_TRIGGER: LockFact(SHARE_ROW_EXCLUSIVE, source="CREATE TRIGGER takes SHARE ROW EXCLUSIVE"),
    Form.DROP_TRIGGER: LockFact(ACCESS_EXCLUSIVE, source="DROP TRIGGER takes ACCESS EXCLUSIVE on the table"),
}

# Type changes PostgreSQL makes without a rewrite: binary coercible (ALTER TABLE, "SET DATA TYPE").
_WIDENINGS = {("character varying", "text"), ("text", "character varying"), ("cidr", "inet"),
              ("character varying", "character varying"), ("numeric", "numeric"), ("bit varying", "bit varying"),
              ("character varying", "bpchar")}


def type_change_rewrites(old: str, new: str) -> bool:
    """Whether PostgreSQL rewrites the table for ``old -> new`` (canonical ``format_type`` spellings).

    No rewrite for a wider ``varchar``, ``varchar`` <-> ``text``, unconstrained ``numeric`` or a larger
    precision at the same scale; everything else is assumed to rewrite (measure() checks relfilenode).
    """
    base_old, mods_old = _split(old)
    base_new, mods_new = _split(new)
    if (base_old, base_new) not in _WIDENINGS:
        return True
    if base_new == "text" or not mods_new:
        return False
    if base_old == "text" or not mods_old:
        return True
    if base_old == "numeric":
        return not (len(mods_old) == len(mods_new) == 2 and mods_old[1] == mods_new[1] and mods_new[0] >= mods_old[0])
    return mods_new[0] < mods_old[0]


def _split(text: str) -> tuple[str, tuple[int, ...]]:
    base, _, rest = text.partition("(")
    mods = tuple(int(m) for m in rest.rstrip(")").split(",") if m.strip().isdigit()) if rest else ()
    return base.strip(), mods
