"""The waiting-room poll, answered ahead of the page middleware.

At a ticket opening every fan in line polls `GET /api/v1/queue/status`: it is by far
the busiest request, and it needs nothing of sessions, CSRF, users, messages, static
files or URL resolution (the pass in its header is all it reads). This middleware sits
right after the request log, the security headers and the body cap, and answers the
poll itself; everything else goes down the stack as usual. The host is still checked
against ALLOWED_HOSTS, and every error is still problem JSON.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

from core.errors import json_problem, response_for_unhandled

POLL_PATHS = frozenset({"/api/v1/queue/status", "/api/v1/queue/status/"})


class QueuePollMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET" or request.path_info not in POLL_PATHS:
            return self.get_response(request)
        from queue_app.api.views import pass_status_fast

        try:
            request.get_host()  # CommonMiddleware's ALLOWED_HOSTS check, which this skips
            response = pass_status_fast(request)
        except DisallowedHost:
            return json_problem(400, "VALIDATION_ERROR", "The Host header is not one this service answers to.")
        except Exception as exc:  # what ApiProblemMiddleware would answer further down
            response = response_for_unhandled(request, exc)
            if response is None:
                raise
        response["Content-Length"] = str(len(response.content))
        return response
