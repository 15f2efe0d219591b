"""Pooled connections are checked by their socket when borrowed, not with a round trip;
a connection whose server end went away is still caught and replaced."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from core.postgresql.base import DatabaseWrapper
from core.postgresql.checks import check_connection

pytestmark = pytest.mark.django_db


def _conninfo() -> str:
    params = connection.get_connection_params()
    keep = {"dbname", "user", "password", "host", "port"}
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if k in keep and v})


def test_a_healthy_idle_connection_passes_without_a_statement():
    with psycopg.connect(_conninfo(), autocommit=True) as conn:
        conn.execute("SELECT 1")
        sent = []
        conn.add_notice_handler(sent.append)
        real_execute = conn.execute
        conn.execute = lambda *a, **k: sent.append(a) or real_execute(*a, **k)
        check_connection(conn)
        assert sent == []


def test_a_connection_whose_server_went_away_is_refused():
    with (
        psycopg.connect(_conninfo(), autocommit=True) as victim,
        psycopg.connect(_conninfo(), autocommit=True) as admin,
    ):
        pid = victim.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        admin.execute("SELECT pg_sleep(0.2)")
        with pytest.raises(psycopg.OperationalError):
            check_connection(victim)


def test_the_pool_made_by_the_backend_uses_this_check(settings):
    wrapper = DatabaseWrapper(
        {
            **settings.DATABASES["default"],
            "OPTIONS": {**settings.DATABASES["default"]["OPTIONS"], "pool": {"min_size": 0, "max_size": 1}},
        }
    )
    try:
        pool = wrapper.pool
        assert isinstance(pool, ConnectionPool) and pool._check is check_connection
    finally:
        wrapper.close_pool()
