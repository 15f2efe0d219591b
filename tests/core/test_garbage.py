"""Garbage in, 4xx out: every operation in the OpenAPI schema, fed malformed
paths, bodies and headers, anonymously and signed in, never answers 5xx and
always answers problem JSON."""

import itertools

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PATH_VALUES = ["abc", "0", "-1", str(10**30), "2026-13-45", "%00", "1.5", "00000000-0000-0000-0000-000000000000"]
BODIES = [
    ("application/json", "{not json"),
    ("application/json", "[]"),
    ("application/json", "null"),
    ("application/json", '"text"'),
    ("application/json", '{"amount": 1e400, "seat_number": 99999999999999999999999, "date": "2026-13-45"}'),
    ("application/json", '{"concert_id": "x", "reservation_id": [1], "username": {"a": 1}, "password": null}'),
    ("application/json", '{"concert_id": -1, "date": "tomorrow", "seat_number": 0, "amount": -5}'),
    ("text/plain", "hello"),
    ("application/x-www-form-urlencoded", "amount=abc&seat_number="),
]
HEADERS = [
    {},
    {"HTTP_X_QUEUE_TOKEN": "not-a-uuid"},
    {"HTTP_X_QUEUE_TOKEN": "00000000-0000-0000-0000-000000000000"},
    {"HTTP_IDEMPOTENCY_KEY": "k" * 300},
]


def operations(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path, item in schema["paths"].items():
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method, path


def fill(path, value):
    out = path
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        out = out[:start] + value + out[end + 1 :]
    return out


def check(res, method, url):
    assert res.status_code < 500, f"{method.upper()} {url} -> {res.status_code}: {res.content[:300]!r}"
    if res.status_code >= 400:
        assert res["Content-Type"] == "application/problem+json", f"{method.upper()} {url}"
        assert res.json()["code"]


@pytest.mark.parametrize("signed_in", [False, True])
def test_every_operation_survives_garbage(signed_in, user):
    client = APIClient()
    if signed_in:
        client.force_authenticate(user=user)
    ops = list(operations(client))
    assert len(ops) >= 4
    for (method, path), value in itertools.product(ops, PATH_VALUES):
        url = fill(path, value)
        for headers in HEADERS:
            check(getattr(client, method)(url, **headers), method, url)
        if method in {"post", "put", "patch"}:
            for content_type, body in BODIES:
                res = getattr(client, method)(url, data=body, content_type=content_type)
                check(res, method, url)
