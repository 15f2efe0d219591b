from __future__ import annotations

import pytest

from tests.engines.pgbouncer import PgBouncer

# The subprocess fixtures of the fault tests: a test database subprocesses can see, their
# environment, and the processes a test starts (all stopped at its end).
from tests.reliability.conftest import db_settings, env, processes  # noqa: F401
from tools.procs import database_url


@pytest.fixture
def pgbouncer(processes, db_settings):  # noqa: F811
    bouncer = PgBouncer(processes, db_settings, pool_size=2).start()
    yield bouncer
    bouncer.stop()


@pytest.fixture
def pooled_env(env, db_settings, pgbouncer):  # noqa: F811
    """A subprocess environment whose database is reached only through the PgBouncer."""

    def make(**extra: str) -> dict[str, str]:
        return env(DATABASE_URL=database_url(db_settings, port=pgbouncer.port), DB_POOLER="transaction", **extra)

    return make
