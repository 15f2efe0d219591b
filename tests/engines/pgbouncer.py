"""A real PgBouncer (Debian's `pgbouncer`, installed by `.ci/run`) in transaction pooling
mode on a free port, in front of the suite's PostgreSQL, started and stopped by the test.

Every database name is passed through to the same server (a `*` entry), so a subprocess
reaches the test database through it by changing only the port of its DATABASE_URL.
PgBouncer refuses to run as root; as root it is started with ``-u postgres``, its files in
a directory that user can write.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import tempfile
from pathlib import Path

import psycopg

from tools.procs import Proc, Processes, free_port, wait_until

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


class PgBouncer:
    def __init__(self, processes: Processes, settings_dict: dict, *, pool_size: int = 4) -> None:
        self.processes = processes
        self.server = (settings_dict.get("HOST") or "127.0.0.1", int(settings_dict.get("PORT") or 5432))
        self.user = settings_dict.get("USER") or "postgres"
        self.dbname = settings_dict["NAME"]
        self.pool_size = pool_size
        self.port = free_port()
        self.proc: Proc | None = None
        self.dir = Path(tempfile.mkdtemp(prefix="encore-pgbouncer-"))

    def start(self) -> PgBouncer:
        assert os.access(BINARY, os.X_OK), f"{BINARY} is missing: apt-get install pgbouncer (.ci/run does)"
        host, port = self.server
        ini = self.dir / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = host={host} port={port} user={self.user}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = any\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\n"
            "max_client_conn = 500\n"
            # psycopg may send it; PgBouncer would refuse the connection otherwise.
            "ignore_startup_parameters = extra_float_digits\n"
            f"logfile = {self.dir / 'pgbouncer.log'}\n"
            f"pidfile = {self.dir / 'pgbouncer.pid'}\n"
            f"admin_users = {self.user}\n"
        )
        command = [BINARY, str(ini)]
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            os.chown(ini, owner.pw_uid, owner.pw_gid)
            command = [BINARY, "-u", "postgres", str(ini)]
        self.proc = self.processes.start_command("pgbouncer", command, os.environ.copy())
        wait_until(self._listening, timeout=15, what="pgbouncer")
        return self

    def _listening(self) -> bool:
        assert self.proc is not None and self.proc.alive(), self.proc.output() if self.proc else ""
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def admin(self, command: str) -> list[dict]:
        """A command on PgBouncer's console (e.g. ``SHOW POOLS``), rows as dicts."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="pgbouncer", autocommit=True
        ) as conn:
            cursor = conn.execute(command, prepare=False)
            names = [c.name for c in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(grace=5)
        shutil.rmtree(self.dir, ignore_errors=True)
