"""Redis's three roles on instances of their own: QUEUE_REDIS_URL, CACHE_REDIS_URL and
BROKER_REDIS_URL each take their role from REDIS_URL, and a process configured with all
three never touches REDIS_URL (here an address nothing listens on)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import redis as redis_lib

from tests.queue_app.conftest import TEST_REDIS_URL
from tools.procs import REPO, without_redis

SERVER = TEST_REDIS_URL.rsplit("/", 1)[0]
ROLES = {"QUEUE_REDIS_URL": f"{SERVER}/9", "CACHE_REDIS_URL": f"{SERVER}/10", "BROKER_REDIS_URL": f"{SERVER}/11"}

# Each role used for real, in a process of its own (the settings are read at start).
PROBE = """
import datetime as dt, json
import django
django.setup()
from django.core.cache import cache
from django.utils import timezone
from django_q.brokers import get_broker
from queue_app.backends import get_backend

now = timezone.now()
backend = get_backend()
joined = backend.join(concert_id=41, user_id=7, now=now, prequeue=False,
                      waiting_until=now + dt.timedelta(seconds=60), poll_after=1)
cache.set("roles-probe", "cached", 60)
cache.add("roles-count", 1, 60)  # what the rate limits do
assert cache.incr("roles-count") == 2 and cache.get_many(["roles-probe", "roles-count"]) == {
    "roles-probe": "cached", "roles-count": 2}
get_broker().enqueue("roles-probe-task")
print(json.dumps({"backend": backend.name, "token": str(joined.record.token)}))
"""


def _run_probe(**redis_env: str) -> dict:
    env = {k: v for k, v in without_redis(os.environ).items() if k != "QUEUE_BACKEND"}
    env.update(redis_env, DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING")
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _flush() -> list[redis_lib.Redis]:
    clients = [redis_lib.Redis.from_url(url) for url in ROLES.values()]
    for client in clients:
        client.flushdb()
    return clients


def test_each_role_uses_its_own_redis_and_none_uses_redis_url():
    queue, cache, broker = _flush()
    try:
        probe = _run_probe(**ROLES, REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
        assert probe["backend"] == "redis"
        # The pass is in the queue's Redis only.
        assert queue.hget("encore:q:{c41}:users", "7").decode() == probe["token"]
        assert queue.exists(f"encore:qt:{probe['token']}")
        assert cache.keys("*roles-probe*") and broker.keys("django_q:*") == [b"django_q:encore:q"]
        assert broker.lrange("django_q:encore:q", 0, -1) == [b"roles-probe-task"]
        assert not queue.keys("*roles-probe*") and not queue.keys("django_q:*")
        assert not cache.keys("encore:*") and not cache.keys("django_q:*")
        assert not broker.keys("encore:*") and not broker.keys("*roles-probe*")
    finally:
        _flush()


def test_redis_url_alone_gives_every_role_the_same_redis():
    queue, _, _ = _flush()
    try:
        probe = _run_probe(REDIS_URL=ROLES["QUEUE_REDIS_URL"])
        assert probe["backend"] == "redis"
        assert queue.hget("encore:q:{c41}:users", "7").decode() == probe["token"]
        assert queue.keys("*roles-probe*")
        assert queue.lrange("django_q:encore:q", 0, -1) == [b"roles-probe-task"]
    finally:
        _flush()


def test_every_role_on_a_redis_cluster(redis_cluster):
    """REDIS_URL naming a cluster (redis+cluster://): the line, the cache and the broker all
    work on it, each key on the shard of its slot."""
    redis_cluster.flush()
    client = redis_cluster.client()
    try:
        probe = _run_probe(REDIS_URL=redis_cluster.url)
        assert probe["backend"] == "redis"
        assert client.hget("encore:q:{c41}:users", "7") == probe["token"]
        assert client.exists(f"encore:qt:{probe['token']}")
        assert client.keys("*roles-probe", target_nodes=client.PRIMARIES)
        assert client.lrange("django_q:encore:q", 0, -1) == ["roles-probe-task"]
    finally:
        client.close()
        redis_cluster.flush()
