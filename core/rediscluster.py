"""Django's Redis cache and django-q2's Redis broker on a Redis Cluster.

A URL of the form ``redis+cluster://host:port`` names a cluster by any of its nodes
(queue_app.backends.redis.client_for makes the waiting room's client from it). Neither
Django's cache nor django-q2 knows that scheme: these two classes, which settings pick for
such a URL, give each a cluster client. Every key the cache and the broker use is a key of
its own (rate-limit counters, the task list), so each command lands on one shard; the cache's
multi-key calls are split by slot.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django_q.brokers.redis_broker import Redis as RedisBroker
from redis.cluster import RedisCluster

SCHEME = "redis+cluster://"


def is_cluster(url: str) -> bool:
    return url.startswith(SCHEME)


def cluster_client(url: str, **options) -> RedisCluster:
    return RedisCluster.from_url("redis://" + url.removeprefix(SCHEME), **options)


class _ClusterCacheClient(RedisCacheClient):
    def __init__(self, servers, **options) -> None:
        super().__init__(servers, **options)
        options = {k: v for k, v in self._pool_options.items() if k != "parser_class"}
        self._cluster = cluster_client(servers[0], **options)

    def get_client(self, key=None, *, write=False) -> RedisCluster:
        return self._cluster

    def get_many(self, keys, *args, **kwargs):
        values = self._cluster.mget_nonatomic(keys)
        return {k: self._serializer.loads(v) for k, v in zip(keys, values, strict=True) if v is not None}

    def set_many(self, data, timeout):
        for key, value in data.items():
            self.set(key, value, timeout)


class ClusterRedisCache(RedisCache):
    """``LOCATION``: one ``redis+cluster://host:port`` URL."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = _ClusterCacheClient


class ClusterBroker(RedisBroker):
    """django-q2's Redis broker (one list per cluster name) on a cluster client."""

    @staticmethod
    def get_connection(list_key: str | None = None) -> RedisCluster:
        from django_q.conf import Conf

        return cluster_client(Conf.REDIS)
