"""Security lint: the WB3xx rules over a schema and its posture, with the design lint's Findings.

The posture is read from the live catalog when an engine holds the schema (PostgreSQL), else from SQL text:
``sql=`` (a DDL file's text or statements), or the file an ImportResult came from, or a policy's generated
statements (a dry run of ``policy.sql()``). Tenant rules run on the policy's tenant tables, else on the
tables with ``tenant_column``; without either they are noted as not run.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from workbench.advisor.findings import Findings
from workbench.advisor.lint import run, selected
from workbench.ddl import ImportResult
from workbench.schema.model import Schema
from workbench.security.posture import Posture
from workbench.security.rules import SECURITY_RULES, SecurityContext
from workbench.security.spec import Policy

TENANT_RULES = ("WB301",)


def lint(schema: Schema | ImportResult, *, engine: Any = None, sql: str | list[str] | None = None,
         policy: Policy | None = None, tenant_column: str | None = None, disable: Iterable[str] = ()) -> Findings:
    """Security findings for ``schema`` (see the module docstring for where the posture comes from).

    ``disable`` takes rule codes or names; data rules (sampled values) need ``engine``.
    """
    report = schema.report if isinstance(schema, ImportResult) else None
    model = schema.schema if isinstance(schema, ImportResult) else schema
    notes: list[str] = []
    if engine is not None and engine.dialect == "postgres":
        posture = Posture.from_engine(engine, _namespaces(engine, model))
    elif sql is not None:
        posture = Posture.from_sql(sql)
    elif report is not None and report.file and Path(report.file).is_file() and model.dialect == "postgres":
        posture = Posture.from_sql(Path(report.file).read_text(encoding="utf-8-sig"))
    elif policy is not None:
        posture = Posture.from_sql(policy.sql())
        notes.append("posture read from the policy's generated SQL (a dry run, roles prefixed wb_dryrun_)")
    else:
        posture = Posture()
        notes.append("no security statements to read (give sql=, a PostgreSQL DDL file, a policy or a PostgreSQL "
                     "engine): every table is taken as having no row-level security, policies or grants")
    notes += [f"security statement not read: {unread}" for unread in posture.unread]
    tenant_column = tenant_column or (policy.tenant_column if policy is not None else None)
    ctx = SecurityContext(model, engine=engine, tenant_column=tenant_column, report=report, notes=notes,
                          posture=posture, tenant_tables=tuple(policy.tenant_tables) if policy is not None else ())
    rules = selected(SECURITY_RULES, disable)
    if not ctx.tenant_scoped() and any(r.code in TENANT_RULES for r in rules):
        ctx.notes.append(f"{', '.join(TENANT_RULES)} not run without tenant-scoped tables (tenant_column= or a "
                         f"policy)")
    return run(ctx, rules)


def _namespaces(engine: Any, schema: Schema) -> list[str]:
    return sorted({table.db or "public" for table in engine.places(schema).values()})
