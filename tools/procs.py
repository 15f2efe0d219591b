"""Subprocesses and ports for the drivers that start real servers (the benchmarks, the
soak run, the fault tests): free ports, waiting for a port or a URL, and processes
tracked so that whatever was started is stopped at the end.

Every process is started in its own session, so it leads its own process group and
stopping it (gracefully or with SIGKILL) takes whatever it started too (a web server's
workers, a django-q2 cluster's children).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
# What points a process at Redis (config/settings.py): a child meant to run without Redis
# (or with Redis of its own) is started without any of them.
REDIS_ENV = ("REDIS_URL", "QUEUE_REDIS_URL", "CACHE_REDIS_URL", "BROKER_REDIS_URL")


def without_redis(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in REDIS_ENV}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], object], *, timeout: float, interval: float = 0.05, what: str = "") -> object:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def url_ok(url: str, *, timeout: float = 2) -> bool:
    """Whether a GET of ``url`` (plain HTTP, never through a proxy) answers 200."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        return conn.getresponse().status == 200
    except (http.client.HTTPException, OSError):
        return False
    finally:
        conn.close()


def wait_for_port(port: int, *, timeout: float, proc: Proc | None = None, what: str = "") -> None:
    """Wait until ``port`` accepts connections; fail at once, with its output, if ``proc`` dies."""
    _wait_serving(lambda: port_open(port), timeout=timeout, interval=0.05, proc=proc, what=what or f"port {port}")


def wait_for_url(url: str, *, timeout: float, proc: Proc | None = None, what: str = "") -> None:
    """Wait until a GET of ``url`` answers 200; fail at once, with its output, if ``proc`` dies."""
    _wait_serving(lambda: url_ok(url), timeout=timeout, interval=0.3, proc=proc, what=what or url)


def _wait_serving(ready: Callable[[], bool], *, timeout: float, interval: float, proc: Proc | None, what: str) -> None:
    def check() -> bool:
        if proc is not None and not proc.alive():
            code = proc.popen.returncode
            raise AssertionError(f"{proc.name} exited with {code} before {what} was up:\n{proc.output()}")
        return ready()

    wait_until(check, timeout=timeout, interval=interval, what=what)


def database_url(settings_dict: dict, *, host: str | None = None, port: int | None = None) -> str:
    """A DATABASE_URL for a Django connection's ``settings_dict``, optionally through another host or port."""
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    host = host or settings_dict.get("HOST") or "127.0.0.1"
    port = port or int(settings_dict.get("PORT") or 5432)
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


@dataclass
class Proc:
    """One started process, the leader of its own process group, with its output in ``log``."""

    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        """SIGKILL the process and everything it started."""
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)

    def stop(self, grace: float = 20) -> None:
        """SIGTERM the process group, then SIGKILL it if it is still running after ``grace`` seconds."""
        self.signal_group(signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill9()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the process group, if the process still runs."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)


class Processes:
    """Starts subprocesses in their own sessions, logging to ``workdir``, and stops
    whatever is left at the end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[Proc] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        """This Python with ``args`` (``["-m", "module", ...]`` or ``["manage.py", ...]``), in the repository."""
        return self.start_command(name, [sys.executable, *args], env)

    def start_command(self, name: str, command: list[str], env: dict[str, str], *, cwd: Path = REPO) -> Proc:
        """Any executable with its arguments."""
        log = self.workdir / f"{name}-{len(self.started)}.log"
        with log.open("wb") as handle:
            popen = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stopping it takes its children too
            )
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def kill_all(self) -> None:
        """SIGKILL everything still running (a test's cleanup: no grace needed)."""
        for proc in self.started:
            proc.kill9()

    def stop_all(self, grace: float = 20) -> None:
        """SIGTERM everything still running at once, then SIGKILL whatever outlives ``grace`` seconds."""
        for proc in self.started:
            proc.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.started:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill9()
