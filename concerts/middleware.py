"""The admitted fan's hottest reads, dates and seat map, answered ahead of the page middleware.

Every admitted fan's app refreshes these every few seconds. With an API token they need
nothing of sessions, CSRF, messages or DRF's dispatch: this middleware authenticates the
token (core.authentication's per-process cache), applies the waiting-room gate, and
answers from the snapshot (concerts.live) with an ETag, as the DRF views do with the same
bodies (concerts.api.reads). Anything else - a session cookie instead of a token, another
method, an Accept that is not JSON - goes down the stack to those views. The host is
still checked against ALLOWED_HOSTS, and every error is still problem JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from rest_framework.authentication import get_authorization_header

from concerts.api import reads
from core.authentication import CachedTokenAuthentication
from core.conditional import conditional_json
from core.errors import application_error_response, as_application_error, json_problem, response_for_unhandled
from queue_app.gate import require_active_pass

_DATES = re.compile(r"^/api/v1/concerts/([0-9]{1,18})/dates/?$")
_SEATS = re.compile(r"^/api/v1/concerts/([0-9]{1,18})/dates/([^/]+)/seats/?$")
_JSON_ACCEPTS = ("", "*/*", "application/json")


class BookingReadMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.authentication = CachedTokenAuthentication()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET" or not request.path_info.startswith("/api/v1/concerts/"):
            return self.get_response(request)
        dates = _DATES.match(request.path_info)
        seats = None if dates else _SEATS.match(request.path_info)
        if not (dates or seats) or not self._fast_enough(request):
            return self.get_response(request)
        try:
            request.get_host()  # CommonMiddleware's ALLOWED_HOSTS check, which this skips
            response = self._answer(request, dates, seats)
        except DisallowedHost:
            return json_problem(400, "VALIDATION_ERROR", "The Host header is not one this service answers to.")
        except Exception as exc:  # what DRF's handler and ApiProblemMiddleware would answer
            error = as_application_error(exc)
            response = application_error_response(error) if error else response_for_unhandled(request, exc)
            if response is None:
                raise
        response["Content-Length"] = str(len(response.content))
        return response

    @staticmethod
    def _fast_enough(request: HttpRequest) -> bool:
        """A token in the header (a session needs the page middleware) and a JSON answer wanted."""
        auth = get_authorization_header(request).split()
        accept = request.META.get("HTTP_ACCEPT", "").strip()
        return len(auth) == 2 and auth[0].lower() == b"token" and accept in _JSON_ACCEPTS

    def _answer(self, request: HttpRequest, dates, seats) -> HttpResponse:
        key = get_authorization_header(request).split()[1].decode("latin-1")
        request.user, _ = self.authentication.authenticate_credentials(key)
        concert_id = int((dates or seats).group(1))
        require_active_pass(request, concert_id)
        if dates:
            return conditional_json(request, reads.dates_body(concert_id=concert_id))
        return conditional_json(
            request, reads.seat_map_body(concert_id=concert_id, date=seats.group(2), user_id=request.user.pk)
        )
