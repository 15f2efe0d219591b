"""Cache-backed rate limits (Redis when REDIS_URL is set). `RATE_LIMITS=off`
turns every limit off, for load tests and acceptance runs from one address."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

# scope -> rate; a view names its scope with `throttle_scope`.
RATES = {
    "register": "10/min",
    "login": "20/min",
    "queue_join": "30/min",
    "charge": "30/min",
    "payment": "30/min",
}
IP_RATES = {
    "register": "100/min",
    "login": "200/min",
    "queue_join": "600/min",
    "charge": "300/min",
    "payment": "300/min",
}


class _ScopedLimit(SimpleRateThrottle):
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
        return super().allow_request(request, view)

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
