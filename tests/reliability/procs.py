"""Real processes for the fault tests: the app in a small WSGI server subprocess, a
TCP proxy that can cut PostgreSQL away, a throwaway Redis, a row lock held from
another connection, and plain HTTP calls.

Ports, waiting and process tracking come from `tools.procs`: every process started
is tracked by its `Processes` and killed (its whole process group) when the test
ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import psycopg

from tools.procs import Proc, Processes, database_url, free_port, wait_for_port, wait_until, without_redis


def base_env(settings_dict: dict, **extra: str) -> dict[str, str]:
    """The environment of a subprocess: the test database, debug off, the fault settings."""
    env = {k: v for k, v in without_redis(os.environ).items() if not k.startswith(("PYTEST_", "QUEUE_BACKEND"))}
    env.update(
        DATABASE_URL=database_url(settings_dict),
        DJANGO_SETTINGS_MODULE="tests.reliability.fault_settings",
        DJANGO_DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        RATE_LIMITS="off",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


# --- HTTP -----------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: object
    seconds: float

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def http(method: str, url: str, *, json_body: object = None, headers: dict | None = None, timeout: float = 15) -> Reply:
    data = None if json_body is None else json.dumps(json_body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, hdrs = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, raw, hdrs = exc.code, exc.read(), exc.headers
    elapsed = time.monotonic() - started
    text = raw.decode(errors="replace")
    try:
        body: object = json.loads(text)
    except ValueError:
        body = text
    return Reply(status, {k.lower(): v for k, v in hdrs.items()}, body, elapsed)


def assert_unavailable(reply: Reply) -> None:
    """A clean 503: problem JSON with SERVICE_UNAVAILABLE and Retry-After."""
    assert reply.status == 503, (reply.status, reply.body)
    assert reply.header("content-type") == "application/problem+json", reply.headers
    assert isinstance(reply.body, dict) and reply.body["code"] == "SERVICE_UNAVAILABLE", reply.body
    assert reply.header("retry-after") and int(reply.header("retry-after")) >= 1, reply.headers


def start_web(processes: Processes, env: dict[str, str]) -> tuple[Proc, str]:
    """The app in a single-threaded WSGI server subprocess (one thread: its pooled
    database connections are reused across requests, as in a production worker)."""
    port = free_port()
    proc = processes.start("web", ["-m", "tests.reliability.wsgi_server", str(port)], env)
    wait_for_port(port, timeout=30, proc=proc, what="the web server")
    return proc, f"http://127.0.0.1:{port}"


# --- A TCP proxy that can cut a connection away ------------------------------------------


class TcpProxy:
    """127.0.0.1:<port> -> target. ``cut()`` drops every open connection and refuses new
    ones (the server is gone); ``restore()`` listens again on the same port."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by cut()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def restore(self) -> None:
        self.start()

    def stop(self) -> None:
        self.cut()


# --- A throwaway Redis ---------------------------------------------------------------------


class RedisServer:
    """`redis-server` on a free port, no persistence (as the test of a restart needs)."""

    def __init__(self, processes: Processes) -> None:
        self.processes = processes
        self.port = free_port()
        self.proc: Proc | None = None
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = self.processes.start_command("redis", command, os.environ.copy())
        wait_until(self._ping, timeout=10, what="redis-server")
        return self

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.kill9()


# --- Locks held from another connection ------------------------------------------------------


def connect(settings_dict: dict) -> psycopg.Connection:
    return psycopg.connect(
        host=settings_dict.get("HOST") or "127.0.0.1",
        port=int(settings_dict.get("PORT") or 5432),
        user=settings_dict.get("USER") or "postgres",
        password=settings_dict.get("PASSWORD") or None,
        dbname=settings_dict["NAME"],
        autocommit=False,
    )


def lock_waiters(settings_dict: dict, query_like: str = "%") -> int:
    """Sessions of the test database waiting for a lock (heavyweight or advisory)."""
    with psycopg.connect(
        host=settings_dict.get("HOST") or "127.0.0.1",
        port=int(settings_dict.get("PORT") or 5432),
        user=settings_dict.get("USER") or "postgres",
        password=settings_dict.get("PASSWORD") or None,
        dbname=settings_dict["NAME"],
        autocommit=True,
    ) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' "
            "AND query LIKE %s AND pid <> pg_backend_pid()",
            [settings_dict["NAME"], query_like],
        ).fetchone()
        return int(row[0])


class ActiveMonitor:
    """Samples the number of ACTIVE passes of a concert from its own connection."""

    def __init__(self, db_settings: dict, concert_id: int) -> None:
        self.db_settings, self.concert_id = db_settings, concert_id
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with connect(self.db_settings) as conn:
            conn.autocommit = True
            while not self._stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM queue_app_queuepass WHERE concert_id = %s AND status = 'ACTIVE'",
                    [self.concert_id],
                ).fetchone()
                self.samples.append(int(row[0]))
                self._stop.wait(0.02)

    def __enter__(self) -> ActiveMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
