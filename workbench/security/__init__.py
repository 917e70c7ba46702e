"""Multi-tenancy and access control: tenancy models measured, roles and row-level security from a spec, proven.

- ``Policy.from_toml(path)``: roles, least-privilege grants, tenant-scoped tables, views, column masks;
  ``policy.sql(engine)`` is the dry-run twin of ``policy.apply(engine)`` (roles named ``wb_<sandbox id>_<name>``,
  dropped with the sandbox).
- ``prove(engine, policy)``: the attack suite as each role and tenant on the real PostgreSQL -> :class:`Proof`
  (``.frame``, ``.holes``, ``.plot()``, ``.to_json()``).
- ``lint(schema, ...)``: the WB3xx security rules over a DDL file, a policy or a live catalog.
- ``tenancy_study(...)``, ``tenant_growth(...)``, ``noisy_neighbour(...)``: tenancy models (shared tables, RLS,
  a schema or a database per tenant) measured by the study runner and as tenants grow.
- ``shard_keys(engine, schema, workload)``: candidate distribution keys for a Citus-style cluster.
"""

from workbench.security.apply import Applied
from workbench.security.attacks import ATTACKS, Attack
from workbench.security.lint import lint
from workbench.security.measure import Growth, TenancyStudy, by_tenant, tenancy_study, tenant_growth
from workbench.security.noisy import noisy_neighbour
from workbench.security.posture import Posture
from workbench.security.prove import Proof, prove
from workbench.security.rules import SECURITY_RULES
from workbench.security.shard import Distribution, ShardAnalysis, shard_keys
from workbench.security.spec import Policy
from workbench.security.tenancy import TenancyModel, tenancy_variants

__all__ = [
    "ATTACKS",
    "SECURITY_RULES",
    "Applied",
    "Attack",
    "Distribution",
    "Growth",
    "Policy",
    "Posture",
    "Proof",
    "ShardAnalysis",
    "TenancyModel",
    "TenancyStudy",
    "by_tenant",
    "lint",
    "noisy_neighbour",
    "prove",
    "shard_keys",
    "tenancy_study",
    "tenancy_variants",
    "tenant_growth",
]
