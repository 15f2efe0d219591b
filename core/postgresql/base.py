from __future__ import annotations

from django.db.backends.postgresql import base

from core.postgresql.checks import check_connection


class DatabaseWrapper(base.DatabaseWrapper):
    """PostgreSQL, whose pool checks a borrowed connection by its socket (``check_connection``)
    rather than with a round trip. Django builds the pool with psycopg_pool's own check when
    CONN_HEALTH_CHECKS is on and offers no way to name another, so settings turn that off
    and the pool gets this check once, as it is made. psycopg_pool keeps the check in
    ``_check`` (tests/core/test_pool_check.py fails if that ever changes)."""

    @property
    def pool(self):
        pool = super().pool
        if pool is not None and getattr(pool, "_check", None) is None:
            pool._check = check_connection
        return pool
