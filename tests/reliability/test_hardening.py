"""Regression tests for the defects an outside attack on the running service found
(docs/reliability.md lists each class and every place its fix covers)."""

from __future__ import annotations

import datetime as dt
import logging
import os

import pytest
import time_machine
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from concerts import services as concert_services
from concerts.exceptions import BookingNotOpen
from concerts.models import Reservation
from core.logs import PlainFormatter, RequestIdFilter
from core.ratelimit import RATES
from payments.models import OutboxEmail, Payment
from queue_app.models import ConcertQueue
from queue_app.selectors import queue_config_cache_clear
from tests.concerts.test_holds import fan, hold
from tests.concurrency import run_concurrently
from tests.core.test_errors import assert_problem
from tests.factories import ConcertFactory, UserFactory, make_performance
from tests.payments.test_payments import fund, pay

pytestmark = pytest.mark.django_db

# A Redis database of its own: clearing it must not touch the queue tests' one.
TEST_CACHE_REDIS_URL = os.environ.get("TEST_CACHE_REDIS_URL", "redis://127.0.0.1:6379/13")

JSON_ENDPOINTS = [
    ("post", "/api/v1/auth/register", False),
    ("post", "/api/v1/auth/token", False),
    ("post", "/api/v1/reservations", True),
    ("post", "/api/v1/wallet/charges", True),
    ("post", "/api/v1/payments", True),
]


# --- 2. Every malformed body is a 400 problem, never a 500 ---------------------------

MALFORMED_BODIES = {
    "nested arrays": b"[" * 2000 + b"]" * 2000,
    "nested objects": b'{"a":' * 1500 + b"1" + b"}" * 1500,
    "nested inside a field": b'{"amount": ' + b"[" * 900 + b"]" * 900 + b"}",
    "moderately nested field": b'{"amount": ' + b"[" * 40 + b"]" * 40 + b"}",
    "invalid utf-8": b'{"amount": "\xff\xfe"}',
    "huge number": b'{"amount": 1' + b"0" * 5000 + b"}",
    "infinite number": b'{"amount": 1e999}',
    "nan literal": b'{"amount": NaN}',
    "top-level array": b"[1, 2, 3]",
    "top-level string": b'"hello"',
    "top-level number": b"42",
    "top-level null": b"null",
    "truncated": b'{"amount": ',
}


@pytest.mark.parametrize(("method", "path", "signed_in"), JSON_ENDPOINTS)
@pytest.mark.parametrize("body", sorted(MALFORMED_BODIES))
def test_malformed_bodies_are_400_problems(method, path, signed_in, body):
    client = APIClient()
    if signed_in:
        client.force_authenticate(UserFactory())
    response = getattr(client, method)(path, MALFORMED_BODIES[body], content_type="application/json")
    assert response.status_code == 400, (body, response.status_code, response.content[:200])
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "VALIDATION_ERROR"


# --- 3. Values copied into another model's column fit it ----------------------------


def test_a_200_character_title_can_be_paid_and_refunded(django_capture_on_commit_callbacks):
    concert = ConcertFactory(title="긴" * 200)
    performance = make_performance(concert, days=10)
    client = fan(concert)
    fund(client.user, 1_000_000)
    reservation = hold(client, performance, 1).json()
    with django_capture_on_commit_callbacks(execute=True):
        assert pay(client, reservation["id"]).status_code == 201
        assert client.delete(f"/api/v1/reservations/{reservation['id']}").status_code == 204
    subjects = list(OutboxEmail.objects.values_list("subject", flat=True))
    assert len(subjects) == 2
    limit = OutboxEmail._meta.get_field("subject").max_length
    assert all(len(s) <= limit and s.endswith("…") for s in subjects)


# --- 4. Admin actions check the permission they need --------------------------------


def _staff(*perms: str) -> Client:
    user = UserFactory(is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    client = Client()
    client.force_login(user)
    return client


def _paid_reservation() -> Reservation:
    performance = make_performance(ConcertFactory(), days=10)
    client = fan(performance.concert)
    fund(client.user, 1_000_000)
    reservation_id = hold(client, performance, 1).json()["id"]
    assert pay(client, reservation_id).status_code == 201
    return Reservation.objects.get(pk=reservation_id)


def _run_action(client: Client, changelist: str, action: str, pk: int):
    return client.post(changelist, {"action": action, "_selected_action": [pk]}, follow=True)


def test_view_only_staff_cannot_refund_from_the_changelist():
    reservation = _paid_reservation()
    viewer = _staff("concerts.view_reservation")
    response = _run_action(viewer, "/admin/concerts/reservation/", "refund_tickets", reservation.pk)
    assert response.status_code == 200
    reservation.refresh_from_db()
    assert reservation.status == "CONFIRMED"
    assert Payment.objects.get(reservation=reservation).status == "PAID"

    refunder = _staff("concerts.view_reservation", "payments.refund_payment")
    _run_action(refunder, "/admin/concerts/reservation/", "refund_tickets", reservation.pk)
    reservation.refresh_from_db()
    assert reservation.status == "REFUNDED"


def test_view_only_staff_cannot_pause_from_the_changelist():
    concert = ConcertFactory()
    queue, _ = ConcertQueue.objects.get_or_create(concert=concert)
    viewer = _staff("queue_app.view_concertqueue")
    _run_action(viewer, "/admin/queue_app/concertqueue/", "pause", queue.pk)
    queue.refresh_from_db()
    assert queue.paused is False

    changer = _staff("queue_app.view_concertqueue", "queue_app.change_concertqueue")
    _run_action(changer, "/admin/queue_app/concertqueue/", "pause", queue.pk)
    queue.refresh_from_db()
    assert queue.paused is True


def test_view_only_staff_cannot_release_holds_or_send_mail_or_reconcile():
    performance = make_performance(ConcertFactory(), days=10)
    client = fan(performance.concert)
    reservation_id = hold(client, performance, 2).json()["id"]
    viewer = _staff("concerts.view_reservation", "payments.view_outboxemail", "wallet.view_charge")
    _run_action(viewer, "/admin/concerts/reservation/", "release_holds", reservation_id)
    assert Reservation.objects.get(pk=reservation_id).status == "HELD"
    for changelist, action in [
        ("/admin/concerts/reservation/", "release_holds"),
        ("/admin/payments/outboxemail/", "send_now"),
        ("/admin/wallet/charge/", "reconcile_pending"),
    ]:
        page = viewer.get(changelist)
        assert page.status_code == 200
        assert f'value="{action}"' not in page.content.decode(), f"{action} offered to a view-only user"


# --- 5. Rate limits hold under concurrency ------------------------------------------


@pytest.fixture(params=["locmem", "redis"])
def shared_cache(request, settings):
    if request.param == "redis":
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": TEST_CACHE_REDIS_URL}
        }
    from django.core.cache import caches

    caches["default"].clear()
    settings.RATE_LIMITS = True
    yield request.param
    caches["default"].clear()


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_concurrent_logins_gets_exactly_the_limit_through(shared_cache):
    user = UserFactory()
    limit = int(RATES["login"].split("/")[0])

    def attempt(_):
        body = {"username": user.username, "password": "wrong password"}
        return APIClient().post("/api/v1/auth/token", body, format="json").status_code

    statuses = run_concurrently(limit * 3, attempt)
    assert statuses.count(429) == limit * 2, statuses
    assert statuses.count(400) == limit


# --- 8. Unknown API URLs are 404 problems for every method --------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v2/reservations", "/api/v1/concerts/1/nope/"])
def test_unknown_api_urls_are_404_problems_for_every_method(method, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_token_login_tolerates_a_trailing_slash():
    user = UserFactory()
    body = {"username": user.username, "password": "correct horse battery"}
    response = Client(enforce_csrf_checks=True).post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 200 and "token" in response.json()


# --- 10. Unicode digits in a query string -------------------------------------------


@pytest.mark.parametrize("amount", ["²", "٣٠٠٠", "1_000", " 5000", "-5", "9" * 40, ""])
def test_odd_amounts_on_the_wallet_page_are_ignored_not_500(amount):
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/wallet/", {"amount": amount})
    assert response.status_code == 200
    assert response.context["form"].initial["amount"] is None


def test_a_plain_amount_still_prefills_the_form():
    client = Client()
    client.force_login(UserFactory())
    assert client.get("/wallet/", {"amount": "5000"}).context["form"].initial["amount"] == 5000


# --- 11. Login does the same work whether or not the username exists ----------------


class CountingHasher(MD5PasswordHasher):
    algorithm = "counting_md5"
    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/accounts/login/"])
def test_an_unknown_username_costs_a_password_hash_like_a_known_one(settings, path):
    settings.PASSWORD_HASHERS = ["tests.reliability.test_hardening.CountingHasher"]
    UserFactory(username="known", password="correct horse battery")
    costs = {}
    for username in ["known", "nobody-by-this-name"]:
        CountingHasher.calls = 0
        body = {"username": username, "password": "a wrong password"}
        if path.startswith("/api/"):
            APIClient().post(path, body, format="json")
        else:
            Client().post(path, body)
        costs[username] = CountingHasher.calls
    assert costs["known"] == costs["nobody-by-this-name"] >= 1


# --- 12. A request cannot write a forged log line -----------------------------------


def test_a_newline_in_the_path_stays_on_one_plain_log_line(caplog):
    handler = logging.StreamHandler()
    import io

    handler.setStream(buffer := io.StringIO())
    handler.setFormatter(PlainFormatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("encore.request")
    logger.addHandler(handler)
    try:
        Client().get("/concerts/1/%0aINFO encore.request GET /admin/ 200 1.0ms%0d%1b[2J")
    finally:
        logger.removeHandler(handler)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert "\\nINFO encore.request GET /admin/" in lines[0] and "\\x1b" in lines[0]


# --- 6. Release and re-hold cannot keep a seat and a pass forever -------------------


def test_release_and_rehold_in_a_loop_ends_at_the_pass_hard_end(settings):
    settings.QUEUE_ACTIVE_TTL_SECONDS = 60
    settings.QUEUE_ACTIVE_MAX_SECONDS = 120
    settings.HOLD_TTL_SECONDS = 300
    performance = make_performance(ConcertFactory(), days=5)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        hoarder = fan(performance.concert)
    token = hoarder._credentials["HTTP_X_QUEUE_TOKEN"]
    held_until = None
    for step in range(0, 120, 20):  # every 20 s: release the seat and hold it again
        with time_machine.travel(start + dt.timedelta(seconds=step), tick=False):
            reply = hold(hoarder, performance, 7)
            assert reply.status_code == 201, (step, reply.content)
            held_until = dt.datetime.fromisoformat(reply.json()["held_until"])
            assert held_until <= start + dt.timedelta(seconds=120), "a hold outlives its pass"
            assert hoarder.delete(f"/api/v1/reservations/{reply.json()['id']}").status_code == 204
    with time_machine.travel(start + dt.timedelta(seconds=100), tick=False):
        assert hold(hoarder, performance, 7).status_code == 201
    with time_machine.travel(start + dt.timedelta(seconds=121), tick=False):
        assert APIClient().get("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN=token).status_code == 410
        assert_problem(hold(hoarder, performance, 8), 403, "QUEUE_TOKEN_NOT_ACTIVE")
        other = fan(performance.concert)
        assert hold(other, performance, 7).status_code == 201, "the hoarded seat is free again"


# --- 7. A seat costs at least 1 won: every path agrees ------------------------------


def test_a_free_seat_cannot_be_made():
    performance = make_performance(ConcertFactory(), days=5)
    seat = performance.seats.get(number=1)
    seat.price = 0
    with pytest.raises(ValidationError):
        seat.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        seat.save()
    with pytest.raises(ValueError):
        concert_services.performance_create(
            concert=performance.concert, date=performance.date + dt.timedelta(days=1), grades=[("F", 1, 50, 0)]
        )


def test_staff_cannot_price_a_seat_at_0_in_admin():
    performance = make_performance(ConcertFactory(), days=5)
    seat = performance.seats.get(number=1)
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = admin.post(
        f"/admin/concerts/seat/{seat.pk}/change/",
        {"performance": performance.pk, "number": 1, "grade": "VIP", "price": 0},
    )
    assert page.status_code == 200 and "at least 1 won" in page.content.decode()
    seat.refresh_from_db()
    assert seat.price == 150_000


# --- 9. A pass cookie left by someone else on a shared browser ----------------------


def test_someone_elses_pass_cookie_is_ignored_and_logout_clears_ours():
    concert = ConcertFactory()
    make_performance(concert, days=5)
    first = fan(concert)
    first_token = first._credentials["HTTP_X_QUEUE_TOKEN"]

    browser = Client()
    browser.cookies["queue_token"] = first_token
    browser.force_login(UserFactory())
    page = browser.get(f"/concerts/{concert.pk}/waiting-room/")
    assert page.status_code == 200, "no redirect loop through another fan's ACTIVE pass"
    assert page.context["pass"] is None
    assert first_token not in page.content.decode()
    assert browser.get(f"/concerts/{concert.pk}/book/").status_code == 302

    bye = browser.post("/accounts/logout/")
    assert bye.cookies["queue_token"].value == "" and bye.cookies["queue_token"]["max-age"] == 0


# --- 13. Moving the opening later closes booking for passes already admitted --------


def test_moving_the_opening_later_closes_booking_until_then():
    performance = make_performance(ConcertFactory(), days=5)
    concert = performance.concert
    early = fan(concert)
    token = early._credentials["HTTP_X_QUEUE_TOKEN"]
    assert hold(early, performance, 1).status_code == 201

    opens = timezone.now() + dt.timedelta(minutes=2)
    concert.booking_opens_at = opens
    concert.save(update_fields=["booking_opens_at"])
    queue_config_cache_clear()
    assert_problem(hold(early, performance, 2), 403, "QUEUE_TOKEN_NOT_ACTIVE")
    assert early.get(f"/api/v1/concerts/{concert.pk}/dates").status_code == 403
    status = APIClient().get("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN=token).json()
    assert status["status"] == "WAITING" and status["position"] is None
    assert 0 < status["eta_seconds"] <= 2 * 60
    with pytest.raises(BookingNotOpen):
        concert_services.seat_hold(user_id=early.user.pk, concert_id=concert.pk, date=performance.date, seat_number=3)

    with time_machine.travel(opens + dt.timedelta(seconds=1), tick=False):
        queue_config_cache_clear()
        assert APIClient().get("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN=token).json()["status"] == "ACTIVE"


@pytest.mark.parametrize(("page_size", "status"), [("1" * 25, 200), ("٣", 400), ("1_0", 400), ("0" * 30, 400)])
def test_page_size_takes_ascii_digits_only_and_caps_any_length(page_size, status):
    client = APIClient()
    client.force_authenticate(UserFactory())
    response = client.get("/api/v1/reservations", {"page_size": page_size})
    assert response.status_code == status, response.content
