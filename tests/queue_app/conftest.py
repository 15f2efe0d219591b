import os

import pytest
import redis as redis_lib

# A Redis database of the suite's own (flushed around each test); override to run two suites at once.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(params=["database", "redis"])
def queue_backend(request, settings):
    """Run the test against each waiting-room backend (real PostgreSQL, real Redis)."""
    settings.QUEUE_BACKEND = request.param
    if request.param == "redis":
        settings.QUEUE_REDIS_URL = TEST_REDIS_URL
        client = redis_lib.Redis.from_url(TEST_REDIS_URL)
        client.flushdb()
        yield request.param
        client.flushdb()
    else:
        yield request.param
