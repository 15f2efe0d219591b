"""Ownership and permissions, table-driven.

Every endpoint and page that takes an object id refuses another user's object with a
404 (never a 403 that would confirm it exists) and changes nothing; somebody else's
waiting-room pass opens no gate. Every admin view (each registered ModelAdmin's
changelist, add, change, delete and history, and the waiting-room dashboard, its JSON
and its controls) sends non-staff to the admin login and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import NoReverseMatch, reverse
from rest_framework.test import APIClient

from concerts import services as concert_services
from concerts.models import Reservation
from payments import services as payment_services
from payments.models import Payment
from queue_app.models import ConcertQueue, QueuePass
from queue_app.services import pass_join, queue_admit_now
from tests.factories import ConcertFactory, UserFactory, make_performance
from wallet import services as wallet_services
from wallet.models import Charge, LedgerEntry

pytestmark = pytest.mark.django_db


@dataclass
class World:
    concert_id: int
    owner_id: int
    held: int  # the owner's live hold
    paid: int  # the owner's paid reservation
    payment: int
    charge: int
    owner_pass: str
    intruder: object
    intruder_pass: str


@pytest.fixture
def world() -> World:
    concert = ConcertFactory()
    performance = make_performance(concert, days=5)
    owner, intruder = UserFactory(), UserFactory()
    passes = {}
    for person in (owner, intruder):
        view, _ = pass_join(user_id=person.pk, concert_id=concert.pk)
        passes[person.pk] = str(view.token)
        wallet_services.wallet_credit(user=person, amount=500_000, kind="CHARGE", reference=f"seed:{person.pk}")
    queue_admit_now(concert_id=concert.pk, count=10)
    hold = dict(user_id=owner.pk, concert_id=concert.pk, date=performance.date)
    held = concert_services.seat_hold(**hold, seat_number=2)  # first: it keeps the owner's pass ACTIVE
    paid = concert_services.seat_hold(**hold, seat_number=1)
    payment = payment_services.payment_pay(user_id=owner.pk, reservation_id=paid.pk).payment
    charge = wallet_services.wallet_charge(user=owner, amount=1000).charge
    return World(
        concert_id=concert.pk,
        owner_id=owner.pk,
        held=held.pk,
        paid=paid.pk,
        payment=payment.pk,
        charge=charge.pk,
        owner_pass=passes[owner.pk],
        intruder=intruder,
        intruder_pass=passes[intruder.pk],
    )


def snapshot(world: World) -> dict:
    """Everything another user's request could have changed."""
    return {
        "reservations": dict(Reservation.objects.values_list("pk", "status")),
        "payments": dict(Payment.objects.values_list("pk", "status")),
        "ledger": LedgerEntry.objects.count(),
        "charges": Charge.objects.count(),
        "passes": dict(QueuePass.objects.values_list("token", "status")),
    }


# (method, path template, body, status, code). {held} {paid} {payment} {charge} {owner_pass}
# {concert} are filled from the world; the caller is the intruder, signed in, with its own
# ACTIVE pass for the same concert, so only ownership stands in the way.
API_CASES = [
    ("get", "/api/v1/reservations/{held}", None, 404, "RESERVATION_NOT_FOUND"),
    ("get", "/api/v1/reservations/{paid}", None, 404, "RESERVATION_NOT_FOUND"),
    ("delete", "/api/v1/reservations/{held}", None, 404, "RESERVATION_NOT_FOUND"),
    ("delete", "/api/v1/reservations/{paid}", None, 404, "RESERVATION_NOT_FOUND"),
    ("post", "/api/v1/payments", {"reservation_id": "{held}"}, 404, "RESERVATION_NOT_FOUND"),
    ("post", "/api/v1/payments", {"reservation_id": "{paid}"}, 404, "RESERVATION_NOT_FOUND"),
    ("get", "/api/v1/payments/{payment}", None, 404, "NOT_FOUND"),
    ("get", "/api/v1/wallet/charges/{charge}", None, 404, "NOT_FOUND"),
    ("delete", "/api/v1/queue/tokens/{owner_pass}", None, 404, "QUEUE_TOKEN_NOT_FOUND"),
]


def _fill(value, world: World):
    names = {
        "held": world.held,
        "paid": world.paid,
        "payment": world.payment,
        "charge": world.charge,
        "owner_pass": world.owner_pass,
        "concert": world.concert_id,
    }
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, str):
        for name, real in names.items():
            if value == "{" + name + "}":
                return real
            value = value.replace("{" + name + "}", str(real))
    return value


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), API_CASES)
def test_api_refuses_another_users_object(world, method, path, body, status, code):
    client = APIClient()
    client.force_authenticate(world.intruder)
    client.credentials(HTTP_X_QUEUE_TOKEN=world.intruder_pass)
    before = snapshot(world)
    response = getattr(client, method)(_fill(path, world), _fill(body, world), format="json")
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert snapshot(world) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/concerts/{concert}/dates", None),
        ("post", "/api/v1/reservations", {"concert_id": "{concert}", "date": "2000-01-01", "seat_number": 3}),
    ],
)
def test_someone_elses_pass_opens_no_gate(world, method, path, body):
    client = APIClient()
    client.force_authenticate(world.intruder)
    client.credentials(HTTP_X_QUEUE_TOKEN=world.owner_pass)  # the owner's ACTIVE pass
    response = getattr(client, method)(_fill(path, world), _fill(body, world), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "QUEUE_TOKEN_NOT_ACTIVE"


def test_lists_show_only_the_callers_own(world):
    client = APIClient()
    client.force_authenticate(world.intruder)
    assert client.get("/api/v1/reservations").json()["count"] == 0
    assert [e["reference"] for e in client.get("/api/v1/wallet/transactions").json()["results"]] == [
        f"seed:{world.intruder.pk}"
    ]


def test_an_idempotency_key_is_per_user(world):
    """Sending the owner's key (and body) replays nothing of theirs: the intruder's own charge."""
    owner = APIClient()
    owner.force_authenticate(world.intruder.__class__.objects.get(pk=world.owner_id))
    first = owner.post("/api/v1/wallet/charges", {"amount": 2000}, format="json", HTTP_IDEMPOTENCY_KEY="shared-key")
    intruder = APIClient()
    intruder.force_authenticate(world.intruder)
    second = intruder.post("/api/v1/wallet/charges", {"amount": 2000}, format="json", HTTP_IDEMPOTENCY_KEY="shared-key")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second


PAGE_CASES = [
    ("get", "/reservations/{held}/checkout/"),
    ("get", "/reservations/{paid}/checkout/"),
    ("post", "/reservations/{held}/release/"),
    ("post", "/reservations/{held}/pay/"),
    ("post", "/reservations/{paid}/cancel/"),
    ("post", "/reservations/{held}/cancel/"),
]


@pytest.mark.parametrize(("method", "path"), PAGE_CASES)
def test_pages_refuse_another_users_reservation(world, method, path):
    client = Client()
    client.force_login(world.intruder)
    client.cookies["queue_token"] = world.intruder_pass
    before = snapshot(world)
    response = getattr(client, method)(_fill(path, world))
    assert response.status_code == 404
    assert snapshot(world) == before


def test_pages_do_not_open_the_gate_with_someone_elses_pass(world):
    client = Client()
    client.force_login(world.intruder)
    client.cookies["queue_token"] = world.owner_pass
    response = client.get(f"/concerts/{world.concert_id}/book/")
    assert response.status_code == 302 and "/waiting-room/" in response["Location"]


def test_my_tickets_page_shows_only_mine(world):
    client = Client()
    client.force_login(world.intruder)
    page = client.get("/reservations/").content.decode()
    assert f"/reservations/{world.held}/" not in page and f"/reservations/{world.paid}/" not in page


# --- Admin -------------------------------------------------------------------------------


def _admin_urls() -> list[tuple[str, str, str]]:
    """(label, method, url) for every view of every registered ModelAdmin, and the
    waiting-room dashboard views."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        obj = model._default_manager.first()
        pk = obj.pk if obj is not None else 1
        for view, args in (("changelist", []), ("add", []), ("change", [pk]), ("delete", [pk]), ("history", [pk])):
            try:
                url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)
            except NoReverseMatch:
                continue
            urls.append((f"{opts.label}.{view}", "get", url))
            if view in {"changelist", "add", "change", "delete"}:
                urls.append((f"{opts.label}.{view}", "post", url))
        assert type(model_admin).__module__  # every registry entry was visited
    return urls


def _queue_urls(concert_id: int) -> list[tuple[str, str, str]]:
    return [
        ("dashboard", "get", reverse("admin:queue_dashboard", args=[concert_id])),
        ("dashboard-json", "get", reverse("admin:queue_dashboard_json", args=[concert_id])),
        ("control", "post", reverse("admin:queue_control", args=[concert_id])),
        ("index", "get", reverse("admin:index")),
    ]


POSTS = [{"action": "expire_all"}, {"action": "pause"}, {"action": "admit", "count": "100"}]


@pytest.mark.parametrize("who", ["anonymous", "fan"])
def test_admin_sends_non_staff_to_the_login_and_changes_nothing(world, who):
    ConcertQueue.objects.get_or_create(concert_id=world.concert_id)
    client = Client()
    if who == "fan":
        client.force_login(world.intruder)
    urls = _admin_urls() + _queue_urls(world.concert_id)
    assert len({label.rsplit(".", 1)[0] for label, _, _ in urls if "." in label}) == len(admin.site._registry)
    before = snapshot(world), ConcertQueue.objects.get(concert_id=world.concert_id).paused
    for label, method, url in urls:
        bodies = POSTS if method == "post" else [None]
        for body in bodies:
            response = getattr(client, method)(url, body or {})
            assert response.status_code == 302, (label, method, response.status_code)
            assert response["Location"].startswith(reverse("admin:login")), (label, response["Location"])
    assert (snapshot(world), ConcertQueue.objects.get(concert_id=world.concert_id).paused) == before


def test_staff_without_permissions_get_nothing_either(world):
    ConcertQueue.objects.get_or_create(concert_id=world.concert_id)
    clerk = UserFactory(is_staff=True)
    client = Client()
    client.force_login(clerk)
    before = snapshot(world), ConcertQueue.objects.get(concert_id=world.concert_id).paused
    for label, method, url in _admin_urls() + _queue_urls(world.concert_id):
        if label == "index":
            continue
        for body in POSTS if method == "post" else [None]:
            response = getattr(client, method)(url, body or {})
            assert response.status_code in {403, 302}, (label, method, response.status_code)
            if response.status_code == 302:
                # The controls bounce back with "You may not change"; history of an object
                # that does not exist goes to the index (Django checks existence first there).
                assert label == "control" or (
                    label.endswith(".history") and response["Location"] == reverse("admin:index")
                ), (label, method, response["Location"])
    assert (snapshot(world), ConcertQueue.objects.get(concert_id=world.concert_id).paused) == before


def test_staff_with_view_permission_see_the_dashboard(world):
    ConcertQueue.objects.get_or_create(concert_id=world.concert_id)
    clerk = UserFactory(is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_concertqueue"))
    client = Client()
    client.force_login(clerk)
    assert client.get(reverse("admin:queue_dashboard", args=[world.concert_id])).status_code == 200
    assert client.get(reverse("admin:queue_dashboard_json", args=[world.concert_id])).json()["active"] == 2
    client.post(reverse("admin:queue_control", args=[world.concert_id]), {"action": "expire_all"})
    assert QueuePass.objects.filter(status="ACTIVE").count() == 2  # viewing is not changing
