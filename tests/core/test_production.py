"""Production settings from the environment: `DJANGO_DEBUG=0 SECURE_SSL_REDIRECT=1`
(with SECRET_KEY and ALLOWED_HOSTS) passes `manage.py check --deploy` without a
single warning, and gives secure cookies, HSTS and the HTTPS redirect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

from tests.factories import UserFactory

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "SECURE_SSL_REDIRECT": "1",
    "SECRET_KEY": "k7#Vq2!xP9@mZ4$wL8^tR1&nB6*yH3(cJ5)fD0_gS+eA-uO=iT[oW]lE{rY}",
    "ALLOWED_HOSTS": "tickets.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://tickets.example.com,https://www.tickets.example.com",
}


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_has_no_warnings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_does_warn_without_tls():
    """The control: the same check is not silent when the HTTPS settings are off."""
    result = run(["manage.py", "check", "--deploy"], **{**PRODUCTION, "SECURE_SSL_REDIRECT": "0"})
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout, warning


def test_debug_off_requires_a_secret_key():
    result = run(["manage.py", "check"], **{**PRODUCTION, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_come_from_the_environment():
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ("
        "'DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
        "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', 'SECURE_SSL_REDIRECT', "
        "'SECURE_PROXY_SSL_HEADER', 'CSRF_TRUSTED_ORIGINS', 'ALLOWED_HOSTS', 'X_FRAME_OPTIONS', "
        "'SECURE_CONTENT_TYPE_NOSNIFF')}))"
    )
    result = run(["-c", script], DJANGO_SETTINGS_MODULE="config.settings", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "CSRF_TRUSTED_ORIGINS": ["https://tickets.example.com", "https://www.tickets.example.com"],
        "ALLOWED_HOSTS": ["tickets.example.com"],
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
    }


TLS = dict(
    SECURE_SSL_REDIRECT=True,
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
    SECURE_HSTS_SECONDS=31536000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SECURE_HSTS_PRELOAD=True,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)


@pytest.mark.django_db
@override_settings(**TLS)
def test_behind_tls_plain_http_is_redirected_and_https_gets_hsts_and_secure_cookies():
    plain = Client().get("/wallet/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    client = Client()
    user = UserFactory()
    page = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert page["X-Frame-Options"] == "DENY" and page["X-Content-Type-Options"] == "nosniff"
    login = client.post(
        "/accounts/login/",
        {"username": user.username, "password": "correct horse battery"},
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert login.status_code == 302
    session = login.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
