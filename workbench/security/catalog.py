"""The security posture of a live PostgreSQL database, read from its catalog (``Posture.from_engine``).

Grants come from the ACLs themselves (``aclexplode``), with PostgreSQL's defaults where an ACL is still NULL
(functions are executable by PUBLIC until revoked), so what is reported is what the server enforces.
"""

from __future__ import annotations

from typing import Any

from workbench.security.generate import require_postgres
from workbench.security.posture import (
    COMMANDS,
    MASKED,
    PUBLIC,
    Function,
    PolicyRule,
    Posture,
    Privilege,
    RoleAttributes,
    RowSecurity,
    ViewSecurity,
)

_GRANTEE = "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END"


def read_catalog(engine: Any, namespaces: list[str] | None = None) -> Posture:
    """Row-level security, policies, views, functions, grants and the grantees' attributes in ``namespaces``."""
    require_postgres(engine)
    spaces = namespaces or [engine.sandbox or "public"]
    tables = {name: RowSecurity(bool(rls), bool(force)) for name, rls, force in _rows(engine, (
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = "
        "c.relnamespace WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition"), spaces)}
    policies = tuple(PolicyRule(name, table, COMMANDS[command], bool(permissive), tuple(roles), using, check)
                     for name, table, command, permissive, roles, using, check in _rows(engine, (
                         "SELECT p.polname, c.relname, p.polcmd, p.polpermissive, ARRAY(SELECT CASE WHEN r = 0 THEN "
                         "'PUBLIC' ELSE pg_get_userbyid(r) END FROM unnest(p.polroles) r), "
                         "pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid) "
                         "FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON "
                         "n.oid = c.relnamespace WHERE n.nspname = ANY(%s) ORDER BY c.relname, p.polname"), spaces))
    views = tuple(ViewSecurity(name, bool(invoker), tuple(reads)) for name, invoker, reads in _rows(engine, (
        "SELECT v.relname, coalesce(array_to_string(v.reloptions, ',') ~ 'security_invoker=(true|on|1)', false), "
        "ARRAY(SELECT DISTINCT t.relname FROM pg_rewrite w JOIN pg_depend d ON d.objid = w.oid AND d.classid = "
        "'pg_rewrite'::regclass JOIN pg_class t ON t.oid = d.refobjid WHERE w.ev_class = v.oid AND t.oid <> v.oid "
        "ORDER BY 1) FROM pg_class v JOIN pg_namespace n ON n.oid = v.relnamespace "
        "WHERE n.nspname = ANY(%s) AND v.relkind = 'v'"), spaces))
    functions = tuple(Function(signature, bool(definer), bool(path)) for signature, definer, path in _rows(engine, (
        "SELECT p.oid::regprocedure::text, p.prosecdef, coalesce(array_to_string(p.proconfig, ',') ~ "
        "'search_path=', false) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = ANY(%s) AND p.prokind IN ('f', 'p')"), spaces))
    grants = [Privilege(grantee, privilege.lower(), kind, name) for kind, name, grantee, privilege in _rows(engine, (
        f"SELECT 'table', c.relname, {_GRANTEE}, a.privilege_type FROM pg_class c JOIN pg_namespace n ON n.oid = "
        "c.relnamespace, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a WHERE n.nspname = ANY(%s) "
        "AND c.relkind IN ('r', 'p', 'v', 'm') AND a.grantee <> c.relowner "
        f"UNION ALL SELECT 'schema', n.nspname, {_GRANTEE}, a.privilege_type FROM pg_namespace n, "
        "aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a WHERE n.nspname = ANY(%s) "
        "AND a.grantee <> n.nspowner "
        f"UNION ALL SELECT 'function', p.oid::regprocedure::text, {_GRANTEE}, a.privilege_type FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace, aclexplode(coalesce(p.proacl, acldefault('f', "
        "p.proowner))) a WHERE n.nspname = ANY(%s) AND a.grantee <> p.proowner"), spaces, spaces, spaces)]
    grants += [Privilege(grantee, privilege.lower(), "table", table, (column,))
               for table, column, grantee, privilege in _rows(engine, (
                   f"SELECT c.relname, t.attname, {_GRANTEE}, a.privilege_type FROM pg_attribute t "
                   "JOIN pg_class c ON c.oid = t.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace, "
                   "aclexplode(t.attacl) a WHERE n.nspname = ANY(%s) AND t.attacl IS NOT NULL AND t.attnum > 0"),
                   spaces)]
    named = sorted({g.grantee for g in grants} | {r for p in policies for r in p.roles} - {PUBLIC})
    roles = {name: RoleAttributes(name, bool(superuser), bool(bypass), bool(login))
             for name, superuser, bypass, login in _rows(engine, (
                 "SELECT rolname, rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = ANY(%s)"), named)}
    masked = frozenset((table, column.removesuffix(MASKED)) for table, column in _rows(engine, (
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped AND "
        "a.attname LIKE %s"), spaces, f"%{MASKED}"))
    return Posture(tables, policies, views, functions, tuple(grants), roles, masked, source="catalog")


def _rows(engine: Any, query: str, *params: Any) -> list[tuple]:
    return list(engine.query(query, list(params)).itertuples(index=False, name=None))
