import os

import pytest
import redis as redis_lib

# A Redis database of the suite's own (flushed around each test); override to run two suites at once.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(params=["database", "redis", "redis-cluster"])
def queue_backend(request, settings):
    """Run the test against each waiting-room backend (real PostgreSQL, real Redis) and the
    Redis backend on a real Redis Cluster. Yields the backend's name."""
    settings.QUEUE_BACKEND = request.param.removesuffix("-cluster")
    if request.param == "redis":
        settings.QUEUE_REDIS_URL = TEST_REDIS_URL
        client = redis_lib.Redis.from_url(TEST_REDIS_URL)
        client.flushdb()
        yield "redis"
        client.flushdb()
    elif request.param == "redis-cluster":
        cluster = request.getfixturevalue("redis_cluster")
        settings.QUEUE_REDIS_URL = cluster.url
        cluster.flush()
        yield "redis"
        cluster.flush()
    else:
        yield request.param
