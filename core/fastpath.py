"""The opening surge's hottest API requests, answered ahead of the page middleware.

At a ticket opening nearly every request is one of a few: the waiting-room poll, the
join, and an admitted fan's dates and seat-map refreshes. None of them needs sessions,
CSRF, messages, static files or DRF's dispatch when it carries an API token (or, for
the poll, only a pass). An app's middleware subclasses `FastPathMiddleware`, lists its
routes and answers them; anything it does not take (a session instead of a token,
another method, an Accept that is not JSON) goes down the stack to the DRF views, which
give the same answers. The host is still checked against ALLOWED_HOSTS (CommonMiddleware
is skipped), and every error is the same problem JSON the views would write.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from rest_framework.authentication import get_authorization_header

from core.authentication import CachedTokenAuthentication
from core.errors import application_error_response, as_application_error, json_problem, response_for_unhandled

_JSON_ACCEPTS = ("", "*/*", "application/json")
_authentication = CachedTokenAuthentication()

# A handler gets the request and the path's match, and returns the response.
Handler = Callable[[HttpRequest, re.Match], HttpResponse]


@dataclass(frozen=True)
class Route:
    method: str
    path: re.Pattern[str]
    handler: Handler
    # Taken only with `Authorization: Token …` and a JSON Accept (the user is then set);
    # else the request goes down the stack.
    token: bool = True


def json_body(data: Any, status: int = 200) -> HttpResponse:
    """Compact UTF-8 JSON, byte for byte as the API's renderer writes it."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return HttpResponse(body, status=status, content_type="application/json")


def _token_key(request: HttpRequest) -> str | None:
    """The API token, if the request carries one and wants JSON back."""
    auth = get_authorization_header(request).split()
    if len(auth) != 2 or auth[0].lower() != b"token":
        return None
    if request.META.get("HTTP_ACCEPT", "").strip() not in _JSON_ACCEPTS:
        return None
    return auth[1].decode("latin-1")


class FastPathMiddleware:
    routes: tuple[Route, ...] = ()
    # Every route's path starts with this (a cheap first test for all other requests).
    prefix = "/api/"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._methods = frozenset(route.method for route in self.routes)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in self._methods and request.path_info.startswith(self.prefix):
            for route in self.routes:
                if route.method != request.method:
                    continue
                match = route.path.match(request.path_info)
                if match is None:
                    continue
                key = _token_key(request) if route.token else None
                if route.token and key is None:
                    break
                return self._answer(request, route, match, key)
        return self.get_response(request)

    def _answer(self, request: HttpRequest, route: Route, match: re.Match, key: str | None) -> HttpResponse:
        try:
            request.get_host()  # CommonMiddleware's ALLOWED_HOSTS check, which this skips
            if key is not None:
                request.user, _ = _authentication.authenticate_credentials(key)
            response = route.handler(request, match)
        except DisallowedHost:
            return json_problem(400, "VALIDATION_ERROR", "The Host header is not one this service answers to.")
        except Exception as exc:  # what DRF's handler and ApiProblemMiddleware would answer
            error = as_application_error(exc)
            response = application_error_response(error) if error else response_for_unhandled(request, exc)
            if response is None:
                raise
        response["Content-Length"] = str(len(response.content))
        return response
