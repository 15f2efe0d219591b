"""A real Redis Cluster on free ports: three masters and three replicas
(`redis-server --cluster-enabled yes`, joined by `redis-cli --cluster create`), no
persistence, in a directory of its own; started by the tests that need it and stopped
at the end of the session."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis as redis_lib
from redis.cluster import RedisCluster as ClusterClient

from tools.procs import Processes, wait_until


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(n: int) -> list[int]:
    """``n`` ports whose cluster bus ports (port + 10000) are free too."""
    found: list[int] = []
    port = 21000 + (time.monotonic_ns() // 1000) % 20000
    while len(found) < n:
        port = 21000 + (port - 21000 + 7) % 24000
        if _free(port) and _free(port + 10000) and port not in found:
            found.append(port)
    return found


class RedisClusterServers:
    def __init__(self, processes: Processes, *, nodes: int = 6) -> None:
        self.processes = processes
        self.ports = _ports(nodes)
        self.dir = Path(tempfile.mkdtemp(prefix="encore-redis-cluster-"))
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.procs: dict[int, object] = {}

    @property
    def url(self) -> str:
        """What QUEUE_REDIS_URL (or REDIS_URL) takes for a cluster: any node as the seed."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}/0"

    def start_node(self, port: int) -> None:
        node = self.dir / str(port)
        node.mkdir(exist_ok=True)
        command = [
            self.binary,
            *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--cluster-enabled", "yes", "--cluster-config-file", str(node / "nodes.conf")),
            *("--cluster-node-timeout", "1000", "--dir", str(node), "--repl-diskless-sync-delay", "0"),
        ]
        self.procs[port] = self.processes.start_command(f"redis-{port}", command, {})
        wait_until(lambda: self._ping(port), timeout=10, what=f"redis-server on {port}")

    def _ping(self, port: int) -> bool:
        try:
            return bool(redis_lib.Redis(port=port, socket_timeout=0.5).ping())
        except redis_lib.RedisError:
            return False

    def start(self) -> RedisClusterServers:
        for port in self.ports:
            self.start_node(port)
        create = ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports)]
        done = subprocess.run(
            [*create, "--cluster-replicas", "1", "--cluster-yes"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
        wait_until(self._ok, timeout=30, what="the cluster to be ok")
        return self

    def _ok(self) -> bool:
        for port in self.ports:
            try:
                info = redis_lib.Redis(port=port, socket_timeout=0.5, decode_responses=True).cluster("info")
            except redis_lib.RedisError:
                return False
            if info.get("cluster_state") != "ok":
                return False
            # A replica that has not synced once would never take over (no data to vouch for).
            replication = redis_lib.Redis(port=port, socket_timeout=0.5, decode_responses=True).info("replication")
            if replication["role"] == "slave" and replication.get("master_link_status") != "up":
                return False
        return True

    def client(self) -> ClusterClient:
        """A cluster client seeded with a node that still runs."""
        port = next(p for p in self.ports if self.procs[p].alive())
        return ClusterClient(host="127.0.0.1", port=port, decode_responses=True)

    def flush(self) -> None:
        client = self.client()
        try:
            client.flushall(target_nodes=ClusterClient.PRIMARIES)
        finally:
            client.close()

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.kill9()
        shutil.rmtree(self.dir, ignore_errors=True)
