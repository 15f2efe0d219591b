"""`python -m tools.dbcheck`: make sure DATABASE_URL is a reachable PostgreSQL
database, creating it if missing. `make test` runs it first and stops loudly
when it fails: the suite never falls back to SQLite. With `--if-postgres`
(`make run`) any other database, or none, is fine and left alone."""

from __future__ import annotations

import os
import sys
import time

import dj_database_url
import psycopg
from psycopg import sql


def main(argv: list[str]) -> int:
    url = os.environ.get("DATABASE_URL", "")
    cfg = dj_database_url.parse(url) if url else {}
    if cfg.get("ENGINE") != "django.db.backends.postgresql":
        if "--if-postgres" in argv:
            return 0
        print(f"DATABASE_URL must point at PostgreSQL for the tests, got {url!r}", file=sys.stderr)
        return 2
    params = {
        "host": cfg.get("HOST") or "127.0.0.1",
        "port": cfg.get("PORT") or 5432,
        "user": cfg.get("USER") or "postgres",
        "password": cfg.get("PASSWORD") or None,
        "connect_timeout": 5,
    }
    last_error: Exception | None = None
    for _ in range(10):
        try:
            with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone()
                if not exists:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg["NAME"])))
                    print(f"created database {cfg['NAME']}")
            return 0
        except psycopg.OperationalError as exc:
            last_error = exc
            time.sleep(1)
    print(f"PostgreSQL is not reachable at {params['host']}:{params['port']}: {last_error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
