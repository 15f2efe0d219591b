"""Shared OpenAPI pieces: the problem JSON schema and per-endpoint error listings."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ProblemSerializer = inline_serializer(
    name="Problem",
    fields={
        "type": serializers.CharField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "code": serializers.CharField(),
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
    },
)

STATUS_OF = {
    "VALIDATION_ERROR": 400,
    "INVALID_CREDENTIALS": 400,
    "CHARGE_AMOUNT_OUT_OF_RANGE": 400,
    "NOT_AUTHENTICATED": 401,
    "QUEUE_TOKEN_NOT_ACTIVE": 403,
    "PERMISSION_DENIED": 403,
    "CONCERT_NOT_FOUND": 404,
    "QUEUE_TOKEN_NOT_FOUND": 404,
    "DATE_NOT_AVAILABLE": 404,
    "SEAT_NOT_FOUND": 404,
    "RESERVATION_NOT_FOUND": 404,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "SEAT_UNAVAILABLE": 409,
    "HOLD_LIMIT_REACHED": 409,
    "RESERVATION_NOT_HELD": 409,
    "HOLD_EXPIRED": 409,
    "ALREADY_PAID": 409,
    "INSUFFICIENT_BALANCE": 409,
    "BALANCE_LIMIT_EXCEEDED": 409,
    "QUEUE_TOKEN_EXPIRED": 410,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "RATE_LIMITED": 429,
    "GATEWAY_DECLINED": 502,
    "SERVICE_UNAVAILABLE": 503,
}


PROBLEM_MEDIA_TYPE = "application/problem+json"


def problems(*codes: str) -> dict[tuple[int, str], OpenApiResponse]:
    """OpenAPI responses for the given error codes, grouped by status, served as
    ``application/problem+json``. Malformed input (400) and the service being busy
    (503) can happen anywhere, so they are always listed."""
    by_status: dict[int, list[str]] = {}
    for code in (*codes, "VALIDATION_ERROR", "SERVICE_UNAVAILABLE"):
        by_status.setdefault(STATUS_OF[code], [])
        if code not in by_status[STATUS_OF[code]]:
            by_status[STATUS_OF[code]].append(code)
    return {
        (status, PROBLEM_MEDIA_TYPE): OpenApiResponse(ProblemSerializer, description="Problem: " + ", ".join(names))
        for status, names in sorted(by_status.items())
    }


def strip_trailing_slashes(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: document paths as the contract writes them."""
    out = []
    for path, path_regex, method, callback in endpoints:
        if path.startswith("/api/v1/") and path.endswith("/"):
            path = path.rstrip("/")
        out.append((path, path_regex, method, callback))
    return out
