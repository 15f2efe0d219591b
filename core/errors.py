"""One error base for the whole service and its RFC 9457 rendering.

Apps subclass :class:`ApplicationError` in their ``exceptions.py``; each class
names its stable ``code`` and HTTP status once, and every table that maps codes
to statuses (the OpenAPI listings, the DRF mapping) is derived from the classes.
The DRF exception handler below turns every error - ours, DRF's own, database
lock timeouts - into ``application/problem+json`` with that ``code``.
"""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import page_not_found
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://encore.example/problems/"
RETRY_AFTER_SECONDS = 2


class ApplicationError(Exception):
    """A business error with a stable machine code and a detail a person can act on.

    Every subclass that sets ``code`` is recorded in ``registry`` (code -> HTTP
    status); a code may be raised by several classes but always with one status.
    """

    code: str = "APPLICATION_ERROR"
    http_status: int = 400
    title: str | None = None
    default_detail: str = "The request could not be completed."
    registry: ClassVar[dict[str, int]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        known = ApplicationError.registry.get(cls.code)
        if known is not None and known != cls.http_status:
            raise TypeError(f"{cls.__name__}: code {cls.code} is already HTTP {known}, not {cls.http_status}")
        ApplicationError.registry[cls.code] = cls.http_status

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


class NotAuthenticated(ApplicationError):
    code = "NOT_AUTHENTICATED"
    http_status = 401
    default_detail = "Sign in first: send 'Authorization: Token <key>' or use a session."

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Token realm="api"'}


class PermissionDenied(ApplicationError):
    code = "PERMISSION_DENIED"
    http_status = 403
    default_detail = "You may not do this."


class NotFound(ApplicationError):
    code = "NOT_FOUND"
    http_status = 404
    default_detail = "Nothing is here."


class MethodNotAllowed(ApplicationError):
    code = "METHOD_NOT_ALLOWED"
    http_status = 405
    default_detail = "This method is not allowed here."


class NotAcceptable(ApplicationError):
    code = "NOT_ACCEPTABLE"
    http_status = 406
    default_detail = "This endpoint answers application/json only."


class RequestTooLarge(ApplicationError):
    code = "REQUEST_TOO_LARGE"
    http_status = 413
    default_detail = "The request body is too large."


class IdempotencyKeyReused(ApplicationError):
    code = "IDEMPOTENCY_KEY_REUSED"
    http_status = 422
    default_detail = "This Idempotency-Key was already used with a different request; send a new key for a new request."


class RateLimited(ApplicationError):
    code = "RATE_LIMITED"
    http_status = 429
    default_detail = "Too many requests; slow down."

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(detail or f"Too many requests; retry in {self.retry_after} s.", retry_after=self.retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class InternalError(ApplicationError):
    code = "INTERNAL_ERROR"
    http_status = 500
    default_detail = "Something went wrong on our side; it has been logged."


class ServiceUnavailable(ApplicationError):
    code = "SERVICE_UNAVAILABLE"
    http_status = 503
    default_detail = "The service is busy; please retry in a moment."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}


def status_of(code: str) -> int:
    """The HTTP status of an error code, from the class that declares it."""
    if code not in ApplicationError.registry:
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("exceptions")  # every app's error classes, declared once each
    return ApplicationError.registry[code]


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


# DRF's own errors, as the classes above: each one's code and status come from there.
_DRF_ERRORS: dict[type[Exception], type[ApplicationError]] = {
    drf_exceptions.ParseError: ValidationFailed,
    drf_exceptions.UnsupportedMediaType: ValidationFailed,
    drf_exceptions.NotAuthenticated: NotAuthenticated,
    drf_exceptions.AuthenticationFailed: NotAuthenticated,
    drf_exceptions.PermissionDenied: PermissionDenied,
    drf_exceptions.NotFound: NotFound,
    drf_exceptions.MethodNotAllowed: MethodNotAllowed,
    drf_exceptions.NotAcceptable: NotAcceptable,
}


def is_lock_timeout(exc: BaseException) -> bool:
    """True for PostgreSQL's lock_timeout (55P03) and SQLite's busy timeout."""
    cause = getattr(exc, "__cause__", None)
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate in {"55P03", "57014"}:
        return True
    return "database is locked" in str(exc)


def as_application_error(exc: Exception, view: Any = None) -> ApplicationError | None:
    """The ApplicationError an exception stands for (None: not one we know how to answer)."""
    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, Http404):
        return NotFound("Not found.")
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, SuspiciousOperation):
        return ValidationFailed({"body": ["The request could not be parsed."]}, "The request could not be parsed.")
    if isinstance(exc, DjangoPermissionDenied):
        return PermissionDenied()
    if isinstance(exc, drf_exceptions.ValidationError):
        return ValidationFailed(_flatten_errors(exc.detail), "The request has invalid fields.")
    if isinstance(exc, drf_exceptions.Throttled):
        return RateLimited(retry_after=math.ceil(exc.wait or 1))
    if isinstance(exc, drf_exceptions.APIException):
        cls = next((ours for theirs, ours in _DRF_ERRORS.items() if isinstance(exc, theirs)), None)
        if cls is ValidationFailed:
            return ValidationFailed({"body": [str(exc.detail)]}, str(exc.detail))
        if cls is MethodNotAllowed:
            err = MethodNotAllowed(str(exc.detail))
            if view is not None:
                err.allow = ", ".join(view.allowed_methods)
            return err
        if cls is not None:
            return cls(str(exc.detail))
        err = ApplicationError(str(exc.detail))
        err.code, err.http_status = str(exc.default_code).upper(), exc.status_code
        return err
    if isinstance(exc, OperationalError | InterfaceError) or (isinstance(exc, DatabaseError) and is_lock_timeout(exc)):
        logger.warning("database unavailable or lock timeout: %s", exc)
        return ServiceUnavailable()
    return None


def _headers(err: ApplicationError) -> dict[str, str]:
    headers = err.headers()
    allow = getattr(err, "allow", None)
    if allow:
        headers["Allow"] = allow
    return headers


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: everything becomes problem JSON."""
    err = as_application_error(exc, context.get("view"))
    if err is None:
        return None
    return problem_response(
        status=err.http_status, code=err.code, detail=err.detail, headers=_headers(err), **err.extra
    )


def json_problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JsonResponse:
    response = JsonResponse(
        problem_body(status=status, code=code, detail=detail, **extra),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
        # Byte for byte what DRF's renderer writes for the same problem.
        json_dumps_params={"separators": (",", ":"), "ensure_ascii": False},
    )
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def application_error_response(exc: ApplicationError) -> JsonResponse:
    """The problem JSON of an error, for the few API views that answer without DRF."""
    return json_problem(exc.http_status, exc.code, exc.detail, _headers(exc), **exc.extra)


@csrf_exempt  # nothing here to protect: a POST to an unknown URL is a 404, not a CSRF page
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown URLs under /api/ answer problem JSON (any method), not an HTML page."""
    return application_error_response(NotFound(f"No endpoint at {request.path}."))


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
        if isinstance(exception, ApplicationError) and exception.http_status == 404:
            # A page asked for something that is not there (or not the viewer's): the 404 page.
            return page_not_found(request, Http404(exception.detail))
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
    err = as_application_error(exception)
    if err is None:
        # Not the database being away or busy (that is a 503 above) but a bug, e.g. a value
        # too long for its column: a 500 with its traceback logged, never a "retry" 503.
        logger.exception("unhandled error on %s", request.path)
        err = InternalError()
    return application_error_response(err)
