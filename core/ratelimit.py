"""Cache-backed rate limits (Redis when REDIS_URL is set). `RATE_LIMITS=off`
turns every limit off, for load tests and acceptance runs from one address.

A limit is a guard, not a dependency: when the cache cannot be reached (Redis
restarting), the request is let through and a warning is logged (at most one
every few seconds per process), rather than every request failing.

Addresses come from the socket unless ``NUM_PROXIES`` says how many proxies in
front may be trusted for X-Forwarded-For (DRF's rule), so a client cannot dodge
the per-address limits by inventing a new X-Forwarded-For for each request.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from types import SimpleNamespace

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)
CACHE_ERROR_LOG_EVERY_SECONDS = 10.0
_last_cache_error_log = 0.0

# scope -> rate; a view names its scope with `throttle_scope`.
RATES = {
    "register": "10/min",
    "login": "20/min",
    "queue_join": "30/min",
    "charge": "30/min",
    "payment": "30/min",
    "password_reset": "5/min",
}
IP_RATES = {
    "register": "100/min",
    "login": "200/min",
    "queue_join": "600/min",
    "charge": "300/min",
    "payment": "300/min",
    "password_reset": "50/min",
}


class _ScopedLimit(SimpleRateThrottle):
    """A sliding-window limit kept as two atomic counters per client and scope.

    Each request adds one to the counter of the current window with the cache's
    atomic ``incr`` and is judged by the number that increment returned, so any
    number of concurrent requests (threads or worker processes sharing Redis) get
    distinct counts and exactly the limit gets through. The previous window's count
    is weighted by how much of it still lies within the last ``duration`` seconds.
    Without Redis the cache is per process, and so is every limit.
    """

    rates: dict[str, str] = RATES
    by_ip = False

    def allow_request(self, request, view) -> bool:
        if not settings.RATE_LIMITS:
            return True
        self.scope = getattr(view, "throttle_scope", None)
        if not self.scope or self.scope not in self.rates:
            return True
        self.rate = self.rates[self.scope]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return self._hit(self.get_cache_key(request, view))
        except Exception as exc:  # the cache is down: fail open, a guard must not take the API down
            _log_cache_error(self.scope, exc)
            return True

    def _hit(self, key: str) -> bool:
        now = time.time()
        window = int(now // self.duration)
        into = (now - window * self.duration) / self.duration
        current_key = f"{key}:{window}"
        # Kept two windows long: the next window weighs this one.
        if self.cache.add(current_key, 1, timeout=2 * self.duration):
            current = 1
        else:
            try:
                current = self.cache.incr(current_key)
            except ValueError:  # expired between add and incr
                self.cache.add(current_key, 1, timeout=2 * self.duration)
                current = 1
        previous = self.cache.get(f"{key}:{window - 1}", 0)
        count = current + math.ceil(previous * (1 - into))
        self._wait = max(1.0, (1 - into) * self.duration) if count > self.num_requests else 0.0
        return count <= self.num_requests

    def wait(self) -> float:
        return self._wait

    def get_rate(self):  # the rate is set per request in allow_request
        return None

    def get_cache_key(self, request, view) -> str | None:
        if not self.by_ip and request.user and request.user.is_authenticated:
            ident = f"u{request.user.pk}"
        else:
            ident = f"ip{self.get_ident(request)}"
        return f"rl:{self.scope}:{'ip' if self.by_ip else 'who'}:{ident}"


class PerUserLimit(_ScopedLimit):
    """Per signed-in user (per address for anonymous callers)."""


class PerIPLimit(_ScopedLimit):
    rates = IP_RATES
    by_ip = True


THROTTLES = [PerUserLimit, PerIPLimit]


def check_limits(request, view) -> None:
    """What DRF's ``check_throttles`` does, for the few API requests answered without its
    dispatch (core.fastpath): every limit counts the request, and the longest wait is
    the Retry-After of the 429."""
    waits = [limit.wait() for limit in (cls() for cls in THROTTLES) if not limit.allow_request(request, view)]
    if waits:
        raise Throttled(max(waits))


# The pages that do what the limited API endpoints do get the same limits (a login form
# is as good for guessing passwords as the token endpoint, a reset form for mail bombing).
PAGE_SCOPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^/accounts/login/$"), "login"),
    (re.compile(r"^/admin/login/$"), "login"),
    (re.compile(r"^/accounts/signup/$"), "register"),
    (re.compile(r"^/accounts/password_reset/$"), "password_reset"),
    (re.compile(r"^/concerts/\d+/waiting-room/enter/$"), "queue_join"),
    (re.compile(r"^/wallet/$"), "charge"),
    (re.compile(r"^/reservations/\d+/pay/$"), "payment"),
]


class PageRateLimitMiddleware:
    """The API's rate limits for the form posts of the pages: 429 with Retry-After.
    Goes after AuthenticationMiddleware (signed-in users are limited per user)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and settings.RATE_LIMITS:
            scope = next((scope for pattern, scope in PAGE_SCOPES if pattern.match(request.path)), None)
            if scope is not None:
                view = SimpleNamespace(throttle_scope=scope)
                for limit in (PerUserLimit(), PerIPLimit()):
                    if not limit.allow_request(request, view):
                        wait = max(1, int(limit.wait() or 1))
                        response = HttpResponse(
                            f"Too many attempts; please wait {wait} seconds and try again.",
                            status=429,
                            content_type="text/plain; charset=utf-8",
                        )
                        response["Retry-After"] = str(wait)
                        return response
        return self.get_response(request)


def _log_cache_error(scope: str, exc: Exception) -> None:
    global _last_cache_error_log
    now = time.monotonic()
    if now - _last_cache_error_log >= CACHE_ERROR_LOG_EVERY_SECONDS:
        _last_cache_error_log = now
        logger.warning("rate limit %s not applied, the cache is unavailable: %s: %s", scope, type(exc).__name__, exc)
