"""Turn pglast nodes back into SQL text the way PostgreSQL's ruleutils writes it (``'x'::regclass``)."""

from __future__ import annotations

from pglast import ast
from pglast.stream import RawStream, maybe_double_quote_name

_BARE_CAST_ARGS = (ast.A_Const, ast.ColumnRef, ast.FuncCall, ast.ParamRef, ast.TypeCast)


class _PgStream(RawStream):
    """pglast's printer, but casts come out as ``arg::type`` (as pg_dump and pg_get_expr print them)."""

    def print_node(self, node, is_name=False, is_symbol=False):
        if isinstance(node, ast.TypeCast):
            if isinstance(node.arg, _BARE_CAST_ARGS):
                self.print_node(node.arg)
            else:
                with self.expression(True):
                    self.print_node(node.arg)
            self.write("::")
            self.print_node(node.typeName)
            self.separator()
            return
        super().print_node(node, is_name, is_symbol)


def deparse(node: ast.Node) -> str:
    """SQL text of an expression or statement node."""
    return _PgStream()(node)


def quote_ident(name: str) -> str:
    """Quote an identifier when PostgreSQL would (upper case, non-ASCII, reserved words...)."""
    return maybe_double_quote_name(name)


def names_of(nodes: tuple | list | None) -> tuple[str, ...]:
    """The plain strings of a pglast name list (``(String('public'), String('t'))``)."""
    return tuple(n.sval for n in nodes or ())
