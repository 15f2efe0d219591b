"""The server under test (`make serve` on a free port, through the shared process
harness) and a keep-alive HTTP client for the threaded rows."""

from __future__ import annotations

import http.client
import json
import tempfile
from pathlib import Path

from tools.procs import Processes, free_port, wait_for_url

SECRET = "bench-only-secret-key-" + "x" * 40


class Server:
    """`make serve` in its own process group, on a free port; the whole group is stopped on exit."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port)}
        self.processes: Processes | None = None

    def __enter__(self) -> Server:
        self.processes = Processes(Path(tempfile.mkdtemp(prefix="encore-serve-")))
        proc = self.processes.start_command("serve", ["make", "-s", "serve"], self.env)
        try:
            wait_for_url(f"{self.base}/healthz", timeout=90, proc=proc, what="make serve")
        except AssertionError as exc:
            self.processes.stop_all()
            raise RuntimeError(f"make serve did not come up; see {proc.log}") from exc
        except BaseException:  # interrupted while waiting: leave nothing running
            self.processes.stop_all()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.processes is not None:
            self.processes.stop_all(grace=20)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Client:
    """A keep-alive HTTP client for one thread."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, auth: str = "", qtok: str = "", body: dict | None = None):
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Token {auth}"
        if qtok:
            headers["X-Queue-Token"] = qtok
        payload = json.dumps(body) if body is not None else None
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                res = self.conn.getresponse()
                data = res.read()
                return res.status, (json.loads(data) if data else None)
            except (http.client.HTTPException, OSError):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
