"""ETag and 304 for JSON reads that pages refresh in a loop (the seat map every few
seconds): an unchanged answer costs the client a header, not the body."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from rest_framework.response import Response


def iso_datetime(value: dt.datetime) -> str:
    """A datetime as DRF's DateTimeField writes it: ISO 8601 in the current time zone, "Z" for UTC."""
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def etag_of(data: Any) -> str:
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.blake2b(body.encode(), digest_size=12).hexdigest() + '"'


def conditional_response(request: HttpRequest, data: Any) -> Response:
    """200 with the data and its ETag, or 304 when the client's If-None-Match has it.
    Private and revalidated on every use: the answer is per user and changes by the second."""
    etag = etag_of(data)
    presented = {tag.strip() for tag in request.META.get("HTTP_IF_NONE_MATCH", "").split(",")}
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if etag in presented or "*" in presented:
        return Response(status=304, headers=headers)
    return Response(data, headers=headers)
