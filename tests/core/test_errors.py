import re

import pytest

pytestmark = pytest.mark.django_db


def assert_problem(res, status, code):
    assert res.status_code == status, res.content
    assert res["Content-Type"] == "application/problem+json"
    body = res.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].startswith("https://")
    assert body["title"] and body["detail"]
    return body


def test_unknown_api_url_is_problem_json(api):
    assert_problem(api.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    assert_problem(api.post("/api/v2/concerts", {}, format="json"), 404, "NOT_FOUND")


def test_method_not_allowed_is_problem_json(api):
    body = assert_problem(api.delete("/api/v1/concerts"), 405, "METHOD_NOT_ALLOWED")
    assert "DELETE" in body["detail"]


def test_unparsable_json_is_validation_error(api):
    res = api.post("/api/v1/auth/register", data="{not json", content_type="application/json")
    body = assert_problem(res, 400, "VALIDATION_ERROR")
    assert body["errors"]


def test_unsupported_media_type_is_validation_error(api):
    res = api.post("/api/v1/auth/token", data="user=x", content_type="text/plain")
    assert_problem(res, 400, "VALIDATION_ERROR")


def test_anonymous_call_to_user_endpoint_is_401_not_403(api, concert_with_dates):
    res = api.get(f"/api/v1/concerts/{concert_with_dates.pk}/dates")
    assert_problem(res, 401, "NOT_AUTHENTICATED")
    assert res["WWW-Authenticate"].startswith("Token")


def test_bad_token_is_401(api, concert_with_dates):
    api.credentials(HTTP_AUTHORIZATION="Token deadbeef")
    assert_problem(api.get(f"/api/v1/concerts/{concert_with_dates.pk}/dates"), 401, "NOT_AUTHENTICATED")


def test_schema_and_docs_are_served(api):
    res = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert res.status_code == 200
    schema = res.json()
    paths = schema["paths"]
    for path in ("/api/v1/auth/register", "/api/v1/auth/token", "/api/v1/concerts", "/api/v1/concerts/{id}"):
        assert path in paths, sorted(paths)
    assert "Problem" in schema["components"]["schemas"]
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    # Every script and style is served from here (the sidecar): no external address in the page.
    # (A plain search for "cdn" once matched a random token in the page.)
    page = docs.content.decode().lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), page[:500]
    assert "cdn." not in page
