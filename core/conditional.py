"""ETag and 304 for JSON reads that pages refresh in a loop (the seat map every few
seconds): an unchanged answer costs the client a header, not the body."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone


def iso_datetime(value: dt.datetime) -> str:
    """A datetime as DRF's DateTimeField writes it: ISO 8601 in the current time zone, "Z" for UTC."""
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True)
class PreparedJson:
    """A JSON answer made once (compact, as the API's renderer writes it) with its ETag, so
    that one rendering can serve many requests."""

    body: bytes
    etag: str


def prepare_json(data: Any) -> PreparedJson:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    return PreparedJson(body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"')


def conditional_json(request: HttpRequest, data: Any) -> HttpResponse:
    """200 with the data as compact JSON (as the API's renderer writes it) and its ETag, or
    304 when the client's If-None-Match names it. Private and revalidated on every use: the
    answer is per user and changes by the second. ``data`` may be a PreparedJson."""
    prepared = data if isinstance(data, PreparedJson) else prepare_json(data)
    presented = {tag.strip() for tag in request.META.get("HTTP_IF_NONE_MATCH", "").split(",")}
    if prepared.etag in presented or "*" in presented:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(prepared.body, content_type="application/json")
    response["ETag"] = prepared.etag
    response["Cache-Control"] = "private, no-cache"
    return response
