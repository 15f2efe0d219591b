"""Shared OpenAPI pieces: the problem JSON schema and per-endpoint error listings."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from core.errors import PROBLEM_CONTENT_TYPE, status_of

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


def problems(*codes: str) -> dict[tuple[int, str], OpenApiResponse]:
    """OpenAPI responses for the given error codes, grouped by status, served as
    ``application/problem+json``. Malformed input (400) and the service being busy
    (503) can happen anywhere, so they are always listed."""
    by_status: dict[int, list[str]] = {}
    for code in (*codes, "VALIDATION_ERROR", "SERVICE_UNAVAILABLE"):
        names = by_status.setdefault(status_of(code), [])
        if code not in names:
            names.append(code)
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description="Problem: " + ", ".join(names))
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
