"""The card payment gateway adapter.

Two implementations of one small interface:

- ``SandboxGateway`` (default, ``PAYMENT_GATEWAY_URL`` unset) approves every
  charge at once. For development, demos and tests.
- ``HttpGateway`` speaks the JSON protocol below to ``PAYMENT_GATEWAY_URL``,
  with ``PAYMENT_GATEWAY_TIMEOUT_SECONDS`` as both the connect and the read
  timeout.

Protocol (all bodies JSON, ``{url}`` is ``PAYMENT_GATEWAY_URL`` without a
trailing slash)::

    POST {url}/charges
        {"id": "<charge uid>", "amount": 50000, "currency": "KRW", "user_id": 7}
      -> 200/201 {"id": "<charge uid>", "status": "approved" | "declined" | "pending",
                  "ref": "<gateway reference>", "reason": "<optional, for declines>"}

    GET {url}/charges/{id}
      -> 200 the same object; 404 when the gateway never received that id

``id`` is our idempotency key at the gateway: POSTing the same id again must
not charge the card again but answer with the first outcome. That is what
makes reconciliation safe: a charge whose first POST timed out is looked up,
and if the gateway never saw it, authorised again under the same id.

Any other outcome - a timeout, a refused connection, a 5xx, a body that is not
the object above - is ``pending``: we do not know, nothing is credited, and
reconciliation asks again later.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

logger = logging.getLogger(__name__)

APPROVED = "approved"
DECLINED = "declined"
PENDING = "pending"
NOT_FOUND = "not_found"


@dataclass(frozen=True)
class GatewayResult:
    status: str  # APPROVED, DECLINED, PENDING (unknown yet) or NOT_FOUND (lookup only)
    ref: str = ""
    reason: str = ""

    @property
    def settled(self) -> bool:
        return self.status in {APPROVED, DECLINED}


class Gateway(Protocol):
    def authorize(self, *, charge_id: str, amount: int, user_id: int) -> GatewayResult:
        """Take ``amount`` won from the user's card; idempotent per ``charge_id``."""
        ...

    def lookup(self, *, charge_id: str) -> GatewayResult:
        """What became of ``charge_id`` (our charge uid)."""
        ...


class SandboxGateway:
    """Approves every charge at once; nothing leaves the process."""

    def authorize(self, *, charge_id: str, amount: int, user_id: int) -> GatewayResult:
        return GatewayResult(APPROVED, ref=f"sandbox-{charge_id}")

    def lookup(self, *, charge_id: str) -> GatewayResult:
        return GatewayResult(APPROVED, ref=f"sandbox-{charge_id}")


class HttpGateway:
    def __init__(self, base_url: str, timeout: float) -> None:
        scheme = urllib.parse.urlsplit(base_url).scheme
        if scheme not in {"http", "https"}:
            raise ValueError(f"PAYMENT_GATEWAY_URL must be http(s), got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def authorize(self, *, charge_id: str, amount: int, user_id: int) -> GatewayResult:
        body = {"id": charge_id, "amount": amount, "currency": "KRW", "user_id": user_id}
        return self._call("POST", "/charges", body, charge_id)

    def lookup(self, *, charge_id: str) -> GatewayResult:
        return self._call("GET", f"/charges/{urllib.parse.quote(charge_id, safe='')}", None, charge_id)

    def _call(self, method: str, path: str, body: dict | None, charge_id: str) -> GatewayResult:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            # The timeout bounds the connect and every blocking read alike.
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, _read_quietly(exc)
        except (OSError, ValueError) as exc:  # timeouts, refused connections, resets, bad URLs
            logger.warning("gateway %s %s for charge %s failed: %s", method, path, charge_id, exc)
            return GatewayResult(PENDING)
        if method == "GET" and status == 404:
            return GatewayResult(NOT_FOUND)
        try:
            payload = json.loads(raw)
            outcome, ref, reason = payload["status"], str(payload.get("ref") or ""), str(payload.get("reason") or "")
        except (ValueError, TypeError, KeyError):
            outcome, ref, reason = None, "", ""
        if status >= 500 or outcome not in {APPROVED, DECLINED, PENDING}:
            logger.warning("gateway %s %s for charge %s answered %s: %.200r", method, path, charge_id, status, raw)
            return GatewayResult(PENDING)
        return GatewayResult(outcome, ref=ref[:255], reason=reason[:255])


def _read_quietly(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read()
    except OSError:
        return b""


def get_gateway() -> Gateway:
    """The configured gateway, chosen from settings at call time."""
    url = settings.PAYMENT_GATEWAY_URL
    if not url:
        return SandboxGateway()
    return HttpGateway(url, timeout=float(settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS))
