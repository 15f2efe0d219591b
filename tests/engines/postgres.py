"""A PostgreSQL primary of the test's own and its streaming replica, on free ports: initdb,
then `pg_basebackup -R` of it, both started by the test and stopped (immediately) at its
end. The suite's own server is never touched (it need not allow replication). As root the
servers run as the `postgres` user, in directories it owns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tools.procs import free_port, wait_until


def _bindir() -> Path:
    """Debian keeps the server's tools (initdb, pg_ctl, pg_basebackup) per version, off PATH."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    found = versions[-1] if versions else Path(shutil.which("initdb") or "initdb").resolve()
    assert found.exists(), "PostgreSQL's server tools (initdb, pg_ctl, pg_basebackup) are missing"
    return found.parent


class PostgresPair:
    def __init__(self) -> None:
        self.bin = _bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="encore-pg-"))
        self.primary_port, self.replica_port = free_port(), free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"{command[0]} failed: {done.stdout}\n{done.stderr}"

    def _ctl(self, name: str, *args: str) -> None:
        data = self.dir / name
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.dir / f"{name}.log"), *args)

    def url(self, port: int, dbname: str = "encore") -> str:
        return f"postgres://postgres@127.0.0.1:{port}/{dbname}"

    def connect(self, port: int, dbname: str = "encore") -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname=dbname, autocommit=True)

    def start(self) -> PostgresPair:
        primary = self.dir / "primary"
        self._run(
            str(self.bin / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"
        )
        with (primary / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.primary_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
                "wal_level = replica\nmax_wal_senders = 4\nfsync = off\nshared_buffers = 32MB\nmax_connections = 40\n"
            )
        self._ctl("primary", "-w", "start")
        with self.connect(self.primary_port, "postgres") as conn:
            conn.execute("CREATE DATABASE encore")
        replica = self.dir / "replica"
        self._run(
            str(self.bin / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres", "-D", str(replica)),
            *("-R", "-X", "stream", "--no-sync", "--checkpoint=fast"),
        )
        with (replica / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {self.replica_port}\n")
        self.start_replica()
        return self

    def start_replica(self) -> None:
        self._ctl("replica", "-w", "start")
        wait_until(self._replica_streaming, timeout=30, what="the replica to stream")

    def _replica_streaming(self) -> bool:
        with self.connect(self.primary_port, "postgres") as conn:
            return bool(
                conn.execute("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'").fetchone()[0]
            )

    def stop_replica(self) -> None:
        self._ctl("replica", "-m", "immediate", "stop")

    def stop(self) -> None:
        for name in ("replica", "primary"):
            if (self.dir / name / "postmaster.pid").exists():
                self._ctl(name, "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
