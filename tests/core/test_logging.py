"""Structured logs: one JSON line per request with a request id (also the X-Request-ID
response header), the user, the queue pass prefix, method, path, status and duration;
and never a password, a full auth token, a full queue pass or an API key."""

from __future__ import annotations

import io
import json
import logging

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.logs import JsonFormatter, redact
from tests.factories import ConcertFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Wr0ng-Horse-Battery-Staple-42"


@pytest.fixture
def log_output():
    """What the configured console handler writes, captured (its filters, and the JSON
    formatter that production uses; debug runs default to plain lines)."""
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))
    buffer = io.StringIO()
    previous = handler.setStream(buffer), handler.formatter
    handler.setFormatter(JsonFormatter())
    yield buffer
    handler.setStream(previous[0])
    handler.setFormatter(previous[1])


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def request_lines(buffer: io.StringIO) -> list[dict]:
    return [line for line in lines(buffer) if line.get("event") == "request"]


def test_one_json_line_per_request_with_its_fields(log_output):
    concert = ConcertFactory()
    user = UserFactory()
    token = Token.objects.create(user=user).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    joined = client.post(f"/api/v1/concerts/{concert.pk}/queue/tokens", HTTP_X_REQUEST_ID="req-123.abc")
    assert joined["X-Request-ID"] == "req-123.abc"
    pass_token = joined.json()["token"]
    status = APIClient().get("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN=pass_token)
    generated = status["X-Request-ID"]
    assert len(generated) == 32

    first, second = request_lines(log_output)
    assert first == {
        "ts": first["ts"],
        "level": "INFO",
        "logger": "encore.request",
        "msg": first["msg"],
        "request_id": "req-123.abc",
        "event": "request",
        "method": "POST",
        "path": f"/api/v1/concerts/{concert.pk}/queue/tokens",
        "status": 201,
        "duration_ms": first["duration_ms"],
        "user_id": user.pk,
        "queue_token": None,
    }
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert second["request_id"] == generated and second["status"] == 200 and second["user_id"] is None
    assert second["queue_token"] == pass_token[:8]


@pytest.mark.parametrize("incoming", ["has spaces", "x" * 65, "new\nline", "", "../../etc"])
def test_an_insane_incoming_request_id_is_replaced(incoming):
    response = APIClient().get("/api/v1/concerts", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] != incoming and len(response["X-Request-ID"]) == 32


def test_no_secret_reaches_the_log(log_output, settings):
    settings.RATE_LIMITS = True  # throttles run, and must not log anything secret either
    concert = ConcertFactory()
    client = APIClient()
    registered = client.post(
        "/api/v1/auth/register",
        {"username": "logfan", "password": PASSWORD, "email": "logfan@example.com"},
        format="json",
    )
    assert registered.status_code == 201
    auth_token = registered.json()["token"]
    weak = client.post("/api/v1/auth/register", {"username": "weak", "password": "123", "email": "w@example.com"})
    assert weak.status_code == 400
    login = client.post("/api/v1/auth/token", {"username": "logfan", "password": PASSWORD}, format="json")
    assert login.json()["token"] == auth_token
    wrong = client.post("/api/v1/auth/token", {"username": "logfan", "password": PASSWORD + "x"}, format="json")
    assert wrong.status_code == 400
    client.credentials(HTTP_AUTHORIZATION=f"Token {auth_token}")
    pass_token = client.post(f"/api/v1/concerts/{concert.pk}/queue/tokens").json()["token"]
    assert APIClient().get("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN=pass_token).status_code == 200
    # The pass in the URL, and on someone else's request (a 404 that Django logs as a warning).
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    assert stranger.delete(f"/api/v1/queue/tokens/{pass_token}").status_code == 404
    assert client.delete(f"/api/v1/queue/tokens/{pass_token}").status_code == 204
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token " + "f" * 40)
    assert bad.get("/api/v1/wallet").status_code == 401
    # Pages: login form with a password, and an idempotency key.
    page = client.post("/accounts/login/", {"username": "logfan", "password": PASSWORD})
    assert page.status_code == 302
    client.post("/api/v1/wallet/charges", {"amount": 1000}, format="json", HTTP_IDEMPOTENCY_KEY="idem-secret-key")
    logging.getLogger("encore.test").warning(
        "gateway said: api_key=sk_live_abcdef123456 via https://user:hunter2@gateway.example/charges"
    )

    output = log_output.getvalue()
    assert len(request_lines(log_output)) >= 10
    for secret in (PASSWORD, auth_token, pass_token, "f" * 40, "sk_live_abcdef123456", "hunter2"):
        assert secret not in output, f"{secret!r} leaked into the log"
    assert pass_token[:8] in output  # the prefix is there to correlate
    assert all(line["request_id"] for line in request_lines(log_output))


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Token 0123456789abcdef0123456789abcdef01234567", "0123456789abcdef0123456789abcdef01234567"),
        ("pass 3f0c1a2b-1111-2222-3333-444455556666 polled", "3f0c1a2b-1111-2222-3333-444455556666"),
        ('{"password": "hunter2", "username": "x"}', "hunter2"),
        ("password=hunter2&next=/", "hunter2"),
        ("EMAIL_URL=smtp://mailer:s3cr3t@smtp.example:587", "s3cr3t"),
        ("Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9.payload.sig"),
        ("api_key: AKIA1234567890", "AKIA1234567890"),
    ],
)
def test_redact(text, secret):
    assert secret not in redact(text)


def test_a_token_login_line_keeps_its_status():
    """'token 200' is a path and a status, not a credential: only real credentials are masked."""
    assert redact("POST /api/v1/auth/token 400 3.1ms") == "POST /api/v1/auth/token 400 3.1ms"
    assert redact("POST /api/v1/auth/token/ 200 3.1ms") == "POST /api/v1/auth/token/ 200 3.1ms"
    assert redact("Authorization: Token " + "ab12" * 10) == "Authorization: Token ***"


def test_the_direct_request_line_is_the_formatters_line(log_output, monkeypatch):
    """With the production setup (every handler a JSON stream handler), the request line is
    written without a LogRecord; it must be the line JsonFormatter writes for the record."""
    from core import logs

    root = logging.getLogger()
    console = next(h for h in root.handlers if isinstance(h, logging.StreamHandler))
    request_logger = logging.getLogger("encore.request")
    fields = {"event": "request", "method": "GET", "path": "/x/12345678-aaaa-bbbb-cccc-1234567890ab", "status": 200}
    message = "GET /x/12345678-aaaa-bbbb-cccc-1234567890ab 200 1.5ms password=hunter22"

    # As pytest runs it (a capture handler beside the console): the record goes through logging.
    assert logs._json_streams(request_logger, logging.INFO) is None
    logs.log_json_line(request_logger, logging.INFO, message, fields)
    monkeypatch.setattr(root, "handlers", [console])  # as settings.LOGGING alone sets it up
    assert logs._json_streams(request_logger, logging.INFO) == [console]
    token = logs.request_id_var.set("req-1")
    try:
        logs.log_json_line(request_logger, logging.INFO, message, fields)
    finally:
        logs.request_id_var.reset(token)
    via_record, direct = lines(log_output)
    assert list(direct) == ["ts", "level", "logger", "msg", "request_id", *fields]
    assert direct.pop("request_id") == "req-1"
    direct_ts, record_ts = direct.pop("ts"), via_record.pop("ts")
    assert direct == via_record
    assert "hunter22" not in log_output.getvalue() and "1234567890ab" not in log_output.getvalue()
    assert len(direct_ts) == len(record_ts) and direct_ts.endswith("+00:00")
    # Below the level: nothing written either way.
    previous = request_logger.level
    request_logger.setLevel(logging.WARNING)
    try:
        assert logs._json_streams(request_logger, logging.INFO) is None
    finally:
        request_logger.setLevel(previous)


def test_sampled_request_lines_never_lose_errors_or_slow_requests(log_output, settings):
    settings.LOG_REQUEST_SAMPLE = 0.0
    client = APIClient()
    client.get("/healthz")
    client.get("/api/v1/nowhere")
    settings.LOG_SLOW_MS = 0  # every request is slow now
    client.get("/healthz")
    settings.LOG_SLOW_MS, settings.LOG_REQUEST_SAMPLE = 1000, 1.0
    client.get("/healthz")
    logged = request_lines(log_output)
    assert [(line["path"], line["status"]) for line in logged] == [
        ("/api/v1/nowhere", 404),
        ("/healthz", 200),
        ("/healthz", 200),
    ]
    assert all("sample" not in line for line in logged)  # each of these stands for itself


def test_a_sampled_line_says_it_is_one(log_output, settings):
    settings.LOG_REQUEST_SAMPLE = 0.999999
    client = APIClient()
    for _ in range(5):
        client.get("/healthz")
    logged = request_lines(log_output)
    assert logged and all(line["sample"] == 0.999999 for line in logged)
