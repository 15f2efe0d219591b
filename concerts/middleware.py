"""The admitted fan's hottest reads, dates and seat map, answered ahead of the page middleware.

Every admitted fan's app refreshes these every few seconds. With an API token they need
nothing of sessions, CSRF, messages or DRF's dispatch (see core.fastpath): this
middleware authenticates the token (core.authentication's per-process cache), applies
the waiting-room gate, and answers from the snapshot (concerts.live) with an ETag, as
the DRF views do with the same bodies (concerts.api.reads).
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse

from concerts.api import reads
from core.conditional import conditional_json
from core.fastpath import FastPathMiddleware, Route
from queue_app.gate import READ_GATE_MAX_AGE, require_active_pass


def _dates(request: HttpRequest, match: re.Match) -> HttpResponse:
    concert_id = int(match.group(1))
    require_active_pass(request, concert_id, max_age=READ_GATE_MAX_AGE)
    return conditional_json(request, reads.dates_body(concert_id=concert_id))


def _seats(request: HttpRequest, match: re.Match) -> HttpResponse:
    concert_id = int(match.group(1))
    require_active_pass(request, concert_id, max_age=READ_GATE_MAX_AGE)
    body = reads.seat_map_body(concert_id=concert_id, date=match.group(2), user_id=request.user.pk)
    return conditional_json(request, body)


class BookingReadMiddleware(FastPathMiddleware):
    prefix = "/api/v1/concerts/"
    routes = (
        Route("GET", re.compile(r"^/api/v1/concerts/([0-9]{1,18})/dates/?$"), _dates),
        Route("GET", re.compile(r"^/api/v1/concerts/([0-9]{1,18})/dates/([^/]+)/seats/?$"), _seats),
    )
