"""A real fake payment gateway: an HTTP server on loopback speaking wallet.gateway's protocol."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class FakeGateway:
    """Approves, declines, stalls (answers only once ``release`` is set) or fails, per ``mode``."""

    def __init__(self) -> None:
        self.mode = "approve"
        self.charges: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _send(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up waiting (the stall case)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = json.loads(self.rfile.read(length))
                with gateway.lock:
                    gateway.calls.append(("POST", data["id"]))
                    mode = gateway.mode
                    if mode == "error":
                        record = None
                    elif data["id"] in gateway.charges:  # idempotent per id
                        record = gateway.charges[data["id"]]
                    else:
                        status = "declined" if mode == "decline" else "approved"
                        record = {"id": data["id"], "status": status, "ref": f"gw-{len(gateway.charges) + 1}"}
                        if status == "declined":
                            record["reason"] = "card limit reached"
                        gateway.charges[data["id"]] = record
                if record is None:
                    self._send(500, {"error": "boom"})
                    return
                if mode == "stall":
                    gateway.release.wait(10)
                self._send(201, record)

            def do_GET(self) -> None:
                charge_id = self.path.rsplit("/", 1)[-1]
                with gateway.lock:
                    gateway.calls.append(("GET", charge_id))
                    record = gateway.charges.get(charge_id)
                if record is None:
                    self._send(404, {"error": "unknown charge"})
                else:
                    self._send(200, record)

        return Handler

    def start(self) -> FakeGateway:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings):
    fake = FakeGateway().start()
    settings.PAYMENT_GATEWAY_URL = fake.url
    settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 1
    yield fake
    fake.stop()


@pytest.fixture
def limits(settings):
    settings.CHARGE_MIN = 1_000
    settings.CHARGE_MAX = 50_000
    settings.BALANCE_MAX = 100_000
    return settings
