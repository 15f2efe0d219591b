"""One error base for the whole service and its RFC 9457 rendering.

Apps subclass :class:`ApplicationError` in their ``exceptions.py``. The DRF
exception handler below turns every error - ours, DRF's own, database lock
timeouts - into ``application/problem+json`` with a stable ``code``.
"""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://encore.example/problems/"
RETRY_AFTER_SECONDS = 2


class ApplicationError(Exception):
    """A business error with a stable machine code and a detail a person can act on."""

    code: str = "APPLICATION_ERROR"
    http_status: int = 400
    title: str | None = None
    default_detail: str = "The request could not be completed."

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.default_detail
        self.extra = extra
        super().__init__(self.detail)

    def headers(self) -> dict[str, str]:
        return {}


class ValidationFailed(ApplicationError):
    code = "VALIDATION_ERROR"
    http_status = 400
    default_detail = "The request is malformed."

    def __init__(self, errors: dict[str, list[str]], detail: str | None = None) -> None:
        super().__init__(detail, errors=errors)


class NotFound(ApplicationError):
    code = "NOT_FOUND"
    http_status = 404
    default_detail = "Nothing is here."


class ServiceUnavailable(ApplicationError):
    code = "SERVICE_UNAVAILABLE"
    http_status = 503
    default_detail = "The service is busy; please retry in a moment."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}


class RateLimited(ApplicationError):
    code = "RATE_LIMITED"
    http_status = 429
    default_detail = "Too many requests; slow down."

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(detail or f"Too many requests; retry in {self.retry_after} s.", retry_after=self.retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def problem_body(*, status: int, code: str, detail: str, title: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code.lower().replace("_", "-"),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(extra)
    return body


def problem_response(
    *, status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    response = Response(
        problem_body(status=status, code=code, detail=detail, **extra),
        status=status,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    return response


def _flatten_errors(data: Any) -> dict[str, list[str]]:
    """DRF's nested error detail as ``{field: [messages]}``."""
    if isinstance(data, dict):
        out: dict[str, list[str]] = {}
        for key, value in data.items():
            if isinstance(value, dict):
                for sub_key, msgs in _flatten_errors(value).items():
                    out[f"{key}.{sub_key}"] = msgs
            elif isinstance(value, list):
                out[str(key)] = [str(v) for v in value if not isinstance(v, dict | list)] or [str(value)]
            else:
                out[str(key)] = [str(value)]
        return out
    if isinstance(data, list):
        return {"non_field_errors": [str(v) for v in data]}
    return {"non_field_errors": [str(data)]}


_DRF_CODES: dict[type[Exception], tuple[str, int]] = {
    drf_exceptions.ParseError: ("VALIDATION_ERROR", 400),
    drf_exceptions.UnsupportedMediaType: ("VALIDATION_ERROR", 400),
    drf_exceptions.NotAuthenticated: ("NOT_AUTHENTICATED", 401),
    drf_exceptions.AuthenticationFailed: ("NOT_AUTHENTICATED", 401),
    drf_exceptions.PermissionDenied: ("PERMISSION_DENIED", 403),
    drf_exceptions.NotFound: ("NOT_FOUND", 404),
    drf_exceptions.MethodNotAllowed: ("METHOD_NOT_ALLOWED", 405),
    drf_exceptions.NotAcceptable: ("NOT_ACCEPTABLE", 406),
}


def is_lock_timeout(exc: BaseException) -> bool:
    """True for PostgreSQL's lock_timeout (55P03) and SQLite's busy timeout."""
    cause = getattr(exc, "__cause__", None)
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate in {"55P03", "57014"}:
        return True
    return "database is locked" in str(exc)


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: everything becomes problem JSON."""
    if isinstance(exc, ApplicationError):
        return problem_response(
            status=exc.http_status, code=exc.code, detail=exc.detail, headers=exc.headers(), **exc.extra
        )
    if isinstance(exc, Http404):
        return problem_response(status=404, code="NOT_FOUND", detail="Not found.")
    if isinstance(exc, SuspiciousOperation):
        status, code, detail = _suspicious(exc)
        return problem_response(status=status, code=code, detail=detail)
    if isinstance(exc, DjangoPermissionDenied):
        return problem_response(status=403, code="PERMISSION_DENIED", detail="You may not do this.")
    if isinstance(exc, drf_exceptions.ValidationError):
        return problem_response(
            status=400,
            code="VALIDATION_ERROR",
            detail="The request has invalid fields.",
            errors=_flatten_errors(exc.detail),
        )
    if isinstance(exc, drf_exceptions.Throttled):
        err = RateLimited(retry_after=math.ceil(exc.wait or 1))
        return problem_exception_handler(err, context)
    if isinstance(exc, drf_exceptions.APIException):
        code, status = next(
            (pair for cls, pair in _DRF_CODES.items() if isinstance(exc, cls)),
            (str(exc.default_code).upper(), exc.status_code),
        )
        extra: dict[str, Any] = {}
        if code == "VALIDATION_ERROR":
            extra["errors"] = {"body": [str(exc.detail)]}
        headers = {}
        if isinstance(exc, drf_exceptions.MethodNotAllowed):
            view = context.get("view")
            if view is not None:
                headers["Allow"] = ", ".join(view.allowed_methods)
        if status == 401:
            headers["WWW-Authenticate"] = 'Token realm="api"'
        return problem_response(status=status, code=code, detail=str(exc.detail), headers=headers, **extra)
    if isinstance(exc, OperationalError | InterfaceError) or (isinstance(exc, DatabaseError) and is_lock_timeout(exc)):
        logger.warning("database unavailable or lock timeout: %s", exc)
        err = ServiceUnavailable()
        return problem_exception_handler(err, context)
    return None


def _suspicious(exc: SuspiciousOperation) -> tuple[int, str, str]:
    """A request Django refuses to parse (too large, too many fields...): a client error, never a 500."""
    if isinstance(exc, RequestDataTooBig):
        return 413, "REQUEST_TOO_LARGE", "The request body is too large."
    return 400, "VALIDATION_ERROR", "The request could not be parsed."


def json_problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JsonResponse:
    response = JsonResponse(
        problem_body(status=status, code=code, detail=detail, **extra),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def application_error_response(exc: ApplicationError) -> JsonResponse:
    """The problem JSON of an error, for the few API views that answer without DRF."""
    return json_problem(exc.http_status, exc.code, exc.detail, exc.headers(), **exc.extra)


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown URLs under /api/ answer problem JSON, not an HTML page."""
    return json_problem(404, "NOT_FOUND", f"No endpoint at {request.path}.")


class ApiProblemMiddleware:
    """Last line of defence: on /api/ an unhandled error is problem JSON, never HTML;
    on pages, the database being away is a 503 with Retry-After, not a 500."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return response_for_unhandled(request, exception)


def response_for_unhandled(request: HttpRequest, exception: Exception) -> HttpResponse | None:
    """What `ApiProblemMiddleware` answers for an exception no view handled (None: Django's default)."""
    if not request.path.startswith("/api/"):
        unavailable = isinstance(exception, ApplicationError) and exception.http_status == 503
        if unavailable or isinstance(exception, OperationalError | InterfaceError):
            logger.warning("service unavailable on %s: %s", request.path, exception)
            response = HttpResponse(
                "Encore is briefly unavailable. Please try again in a moment.",
                status=503,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        return None
    if isinstance(exception, SuspiciousOperation):
        status, code, detail = _suspicious(exception)
        return json_problem(status, code, detail)
    if isinstance(exception, DatabaseError):
        logger.warning("database error on %s: %s", request.path, exception)
        return json_problem(
            503,
            "SERVICE_UNAVAILABLE",
            ServiceUnavailable.default_detail,
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    logger.exception("unhandled error on %s", request.path)
    return json_problem(500, "INTERNAL_ERROR", "Something went wrong on our side; it has been logged.")
