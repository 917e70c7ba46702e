"""A stand-in for a user's own PostgreSQL: a second embedded server where role ``app`` (not a superuser) must
authenticate with a password made of every URL-special character (scram-sha-256 in pg_hba.conf), and owns
database ``appdb`` holding an application schema ``app`` with data and pg_stat_statements entries.

``appdb`` has pg_stat_statements and pg_trgm (in schema ``extensions``, off the search path); ``bare`` has
neither: the two situations a study meets on a user's server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from workbench.engines.pgserver import EmbeddedServer, embedded_server

PASSWORD = "Pw/#?@:% 'q\"x&=;Z9"  # every character a URL or a conninfo treats specially
ROLE = "app"
USER_TABLES = ("accounts", "invoices")


@dataclass
class UserServer:
    server: EmbeddedServer

    @property
    def socket(self) -> str:
        return self.server.address.get("host")

    @property
    def port(self) -> str:
        return self.server.address.get("port")

    def url(self, database: str = "appdb", password: str = PASSWORD) -> str:
        """The URL a user would write, the password percent-encoded as it must be."""
        return (f"postgresql://{ROLE}:{quote(password, safe='')}@/{database}?host={quote(self.socket, safe='')}"
                f"&port={self.port}")

    def admin(self, database: str = "appdb") -> psycopg.Connection:
        """A superuser connection (the server's owner; over the socket, trusted)."""
        return self.server.connect(database)

    def user_stats(self) -> dict[tuple[str, str], tuple]:
        """Maintenance and write counters of every table outside the workbench's schemas (pg_stat_user_tables)."""
        with self.admin() as connection:
            connection.execute("SELECT pg_stat_clear_snapshot()")
            rows = connection.execute(
                "SELECT schemaname, relname, last_vacuum, last_analyze, vacuum_count, analyze_count, n_tup_ins,"
                " n_tup_upd, n_tup_del FROM pg_stat_user_tables s WHERE NOT EXISTS (SELECT 1 FROM pg_namespace n"
                " WHERE n.nspname = s.schemaname AND obj_description(n.oid, 'pg_namespace') LIKE '%created_by%')"
            ).fetchall()
        return {(row[0], row[1]): row[2:] for row in rows}

    def user_statements(self) -> dict[int, int]:
        """calls per query id of the user's own statements (those naming schema ``app``) in pg_stat_statements."""
        with self.admin() as connection:
            rows = connection.execute("SELECT queryid, calls FROM pg_stat_statements WHERE query LIKE '%app.%'"
                                      " AND dbid = (SELECT oid FROM pg_database WHERE datname = 'appdb')").fetchall()
        return dict(rows)


def start(pgdata: Path) -> UserServer:
    server = embedded_server(pgdata)
    with server.connect() as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(ROLE), sql.Literal(PASSWORD)))
        for database in ("appdb", "bare"):
            admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(ROLE)))
    hba = Path(server.data_directory) / "pg_hba.conf"
    hba.write_text(f"local all {ROLE} scram-sha-256\n" + hba.read_text())
    with server.connect() as admin:
        admin.execute("SELECT pg_reload_conf()")
    with server.connect("appdb") as admin:
        admin.execute("CREATE EXTENSION pg_stat_statements")
        admin.execute("CREATE SCHEMA extensions")
        admin.execute("CREATE EXTENSION pg_trgm SCHEMA extensions")
        admin.execute(f"GRANT USAGE ON SCHEMA extensions TO {ROLE}")
    with psycopg.connect(UserServer(server).url(), autocommit=True) as user:
        user.execute("CREATE SCHEMA app")
        user.execute("CREATE TABLE app.accounts (id int PRIMARY KEY, email text NOT NULL)")
        user.execute("CREATE TABLE app.invoices (id int PRIMARY KEY, account_id int REFERENCES app.accounts,"
                     " total numeric(10, 2))")
        user.execute("INSERT INTO app.accounts SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 500) g")
        user.execute("INSERT INTO app.invoices SELECT g, 1 + g % 500, g / 7.0 FROM generate_series(1, 2000) g")
        for _ in range(3):
            user.execute("SELECT count(*) FROM app.invoices WHERE total > 10")
            user.execute("SELECT email FROM app.accounts WHERE id = 42")
        user.execute("ANALYZE app.accounts")  # the user's own maintenance, before the workbench arrives
    return UserServer(server)
