"""Random schemas of any size and foreign-key density, for tests and benchmarks of diagrams and tools.

Sparse schemas look like most real ones (about one foreign key per table); hub-heavy ones send many
keys to a few tables (users, tenants), which is what makes graph layout slow.
"""

from __future__ import annotations

import random

from workbench.schema.builder import SchemaBuilder
from workbench.schema.model import Column, ForeignKey, PrimaryKey, Schema

HUBS = 10  # the first tables, which hub keys point at
ATTRIBUTE_TYPES = ("text", "integer", "timestamptz", "numeric(12,2)")


def synthetic_schema(tables: int, fks_per_table: float, hub_share: float = 0.0, seed: int = 7) -> Schema:
    """``tables`` tables ``t0000``... of 4-8 columns; foreign keys point at earlier tables, ``hub_share`` to hubs.

    Each table but the first gets ``fks_per_table`` keys on average (the fraction is drawn); the same
    ``seed`` gives the same schema.
    """
    rng = random.Random(seed)
    builder = SchemaBuilder(f"synthetic{tables}")
    for n in range(tables):
        draft = builder.add_table(f"t{n:04d}")
        draft.columns.append(Column("id", "bigint", nullable=False))
        draft.columns += [Column(f"attr{i}", rng.choice(ATTRIBUTE_TYPES)) for i in range(rng.randint(3, 7))]
        draft.primary_key = PrimaryKey(("id",))
        wanted = int(fks_per_table) + (rng.random() < fks_per_table % 1)
        for k in range(wanted if n else 0):
            hub = rng.random() < hub_share and n > HUBS
            parent = rng.randrange(min(n, HUBS)) if hub else rng.randrange(n)
            column = f"ref{k}_t{parent:04d}_id"
            draft.columns.append(Column(column, "bigint", nullable=rng.random() < 0.3))
            draft.foreign_keys.append(ForeignKey((column,), f"t{parent:04d}", ("id",)))
    return builder.build()
