import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_register_returns_token_that_authenticates(api):
    res = api.post(
        "/api/v1/auth/register",
        {"username": "mina", "password": "s3cure-Passw0rd", "email": "mina@example.com"},
        format="json",
    )
    assert res.status_code == 201
    body = res.json()
    assert set(body) == {"id", "username", "email", "token"}
    assert body["username"] == "mina"
    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    login = api.post("/api/v1/auth/token", {"username": "mina", "password": "s3cure-Passw0rd"}, format="json")
    assert login.status_code == 200
    assert login.json() == {"token": body["token"]}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"username": "x", "password": "123", "email": "x@example.com"}, "password"),
        ({"username": "x", "password": "s3cure-Passw0rd", "email": "not-an-email"}, "email"),
        ({"username": "bad name!", "password": "s3cure-Passw0rd", "email": "x@example.com"}, "username"),
        ({"password": "s3cure-Passw0rd", "email": "x@example.com"}, "username"),
        ({"username": ["a"], "password": "s3cure-Passw0rd", "email": "x@example.com"}, "username"),
    ],
)
def test_register_rejects_bad_input_with_field_errors(api, payload, field):
    res = api.post("/api/v1/auth/register", payload, format="json")
    assert res.status_code == 400
    assert res["Content-Type"] == "application/problem+json"
    assert res.json()["code"] == "VALIDATION_ERROR"
    assert field in res.json()["errors"]


def test_register_duplicate_username_is_validation_error(api, user):
    res = api.post(
        "/api/v1/auth/register",
        {"username": user.username.upper(), "password": "s3cure-Passw0rd", "email": "y@example.com"},
        format="json",
    )
    assert res.status_code == 400
    assert "username" in res.json()["errors"]
    assert get_user_model().objects.count() == 1


def test_token_with_wrong_password_is_invalid_credentials(api, user):
    res = api.post("/api/v1/auth/token", {"username": user.username, "password": "nope"}, format="json")
    assert res.status_code == 400
    assert res.json()["code"] == "INVALID_CREDENTIALS"
    res = api.post("/api/v1/auth/token", {"username": "ghost", "password": "nope"}, format="json")
    assert res.json()["code"] == "INVALID_CREDENTIALS"


def test_signup_page_creates_user_and_logs_in(client):
    res = client.post(
        "/accounts/signup/",
        {
            "username": "joon",
            "email": "joon@example.com",
            "password1": "s3cure-Passw0rd",
            "password2": "s3cure-Passw0rd",
        },
    )
    assert res.status_code == 302
    assert get_user_model().objects.filter(username="joon").exists()
    assert client.get("/").context["user"].username == "joon"


def test_signup_page_rejects_weak_password(client):
    res = client.post(
        "/accounts/signup/",
        {"username": "joon", "email": "joon@example.com", "password1": "12345678", "password2": "12345678"},
    )
    assert res.status_code == 200
    assert not get_user_model().objects.filter(username="joon").exists()
    assert "too common" in res.content.decode()


def test_login_logout_and_password_pages(client, user):
    assert client.get("/accounts/login/").status_code == 200
    res = client.post("/accounts/login/", {"username": user.username, "password": "correct horse battery"})
    assert res.status_code == 302
    assert client.get(reverse("password_change")).status_code == 200
    res = client.post(
        reverse("password_change"),
        {"old_password": "correct horse battery", "new_password1": "an0ther-Secret", "new_password2": "an0ther-Secret"},
    )
    assert res.status_code == 302
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").context["user"].is_anonymous


def test_password_reset_sends_email(client, user):
    res = client.post(reverse("password_reset"), {"email": user.email})
    assert res.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body
