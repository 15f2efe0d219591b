"""The waiting room's two surge requests, answered ahead of the page middleware
(see core.fastpath).

At a ticket opening every fan in line polls `GET /api/v1/queue/status`: by far the
busiest request, and it needs nothing but the pass in its header. And in the first
minute everyone joins: `POST /api/v1/concerts/{id}/queue/tokens` with an API token
(a session-signed join from the page goes down the stack, through CSRF, to the DRF
view), with the same rate limits as the view.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse

from core.fastpath import FastPathMiddleware, Route


def _poll(request: HttpRequest, match: re.Match) -> HttpResponse:
    from queue_app.api.views import pass_status_fast

    return pass_status_fast(request)


def _join(request: HttpRequest, match: re.Match) -> HttpResponse:
    from queue_app.api.views import pass_create_fast

    return pass_create_fast(request, match.group(1))


class QueueFastPathMiddleware(FastPathMiddleware):
    routes = (
        Route("GET", re.compile(r"^/api/v1/queue/status/?$"), _poll, token=False),
        Route("POST", re.compile(r"^/api/v1/concerts/([^/]+)/queue/tokens/?$"), _join),
    )
