from __future__ import annotations

from django.conf import settings
from django.db.backends.postgresql import base

from core.postgresql.checks import check_connection


class DatabaseWrapper(base.DatabaseWrapper):
    """PostgreSQL, whose pool checks a borrowed connection by its socket (``check_connection``)
    rather than with a round trip, and which behind a transaction-pooling PgBouncer
    (``DB_POOLER=transaction``) sets ``lock_timeout`` inside every transaction it begins.

    Django builds the pool with psycopg_pool's own check when CONN_HEALTH_CHECKS is on and
    offers no way to name another, so settings turn that off and the pool gets this check
    once, as it is made. psycopg_pool keeps the check in ``_check``
    (tests/core/test_pool_check.py fails if that ever changes)."""

    @property
    def pool(self):
        pool = super().pool
        if pool is not None and getattr(pool, "_check", None) is None:
            pool._check = check_connection
        return pool

    def _set_autocommit(self, autocommit):
        super()._set_autocommit(autocommit)
        if not autocommit and getattr(settings, "DB_POOLER", ""):
            # The transaction's first statement (psycopg sends BEGIN before it): the server
            # session under it may have served any client before and keeps nothing of ours.
            with self.wrap_database_errors:
                self.connection.execute(f"SET LOCAL lock_timeout = {int(settings.LOCK_TIMEOUT_MS)}")
