"""Request-level middleware: a request id and one structured log line per request,
and a hard cap on request bodies.

``RequestLogMiddleware`` goes first in ``MIDDLEWARE`` so its line covers every
response, redirects and errors included. ``BodySizeLimitMiddleware`` follows it:
DRF's JSON parser streams the body straight from the WSGI input and never checks
``DATA_UPLOAD_MAX_MEMORY_SIZE`` (only Django's ``request.body``/``request.POST``
do), so without it a client could make a worker parse a body of any size.
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from core.logs import log_json_line, redact, request_id_var

logger = logging.getLogger("encore.request")

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only if it is short and plain (no log injection, no secrets smuggled in).
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


def _request_id(request: HttpRequest) -> str:
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    if _SANE_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def _user_id(request: HttpRequest) -> int | None:
    """The authenticated user's id, without a query of our own: DRF sets ``request.user``
    after token authentication; for sessions, only if something already loaded it."""
    user = getattr(request, "user", None)
    if user is None:
        return None
    if getattr(user, "_wrapped", None) is empty:  # a lazy user nobody looked at
        return None
    try:
        return user.pk if user.is_authenticated else None
    except Exception:  # the database went away while loading it; the line still gets written
        return None


# name -> function of the request: extra fields of the request line that apps contribute
# (e.g. the waiting room's pass prefix) without this module knowing of them.
_request_log_fields: dict[str, Callable[[HttpRequest], object]] = {}


def register_request_log_field(name: str, value: Callable[[HttpRequest], object]) -> None:
    _request_log_fields[name] = value


def _extra_fields(request: HttpRequest) -> dict[str, object]:
    return {name: value(request) for name, value in _request_log_fields.items()}


class RequestLogMiddleware:
    """Assigns a request id (kept from ``X-Request-ID`` if sane, echoed back) and logs
    one JSON line per request: method, path, status, duration, user, and the fields apps
    register. Every 4xx, 5xx and slow (``LOG_SLOW_MS``) request is logged; of the others a
    ``LOG_REQUEST_SAMPLE`` share (all by default), each sampled line saying so."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = _request_id(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        reset = request_id_var.set(request_id)
        started = time.monotonic()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            duration_ms = round((time.monotonic() - started) * 1000, 1)
            sample = settings.LOG_REQUEST_SAMPLE
            if sample >= 1 or status >= 400 or duration_ms >= settings.LOG_SLOW_MS or random.random() < sample:
                path = redact(request.path)
                fields = {
                    "event": "request",
                    "method": request.method,
                    "path": path,
                    "status": status,
                    "duration_ms": duration_ms,
                    "user_id": _user_id(request),
                    **_extra_fields(request),
                }
                if sample < 1 and status < 400 and duration_ms < settings.LOG_SLOW_MS:
                    fields["sample"] = sample  # one line of about 1/sample such requests
                log_json_line(logger, logging.INFO, f"{request.method} {path} {status} {duration_ms}ms", fields)
            request_id_var.reset(reset)


class BodySizeLimitMiddleware:
    """413 for a declared body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``, before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return too_large_response(request, limit)
        return self.get_response(request)


def too_large_response(request: HttpRequest, limit: int) -> HttpResponse:
    from core.errors import RequestTooLarge, application_error_response

    detail = f"The request body is larger than {limit // 1024} KiB."
    if request.path.startswith("/api/"):
        return application_error_response(RequestTooLarge(detail))
    return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")
