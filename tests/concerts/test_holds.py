"""Seat holds: one winner per seat, exact lazy expiry, hold limits, the sweeper."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from concerts import selectors, services
from concerts.models import Performance, Reservation
from tests.concurrency import raise_first_error, run_concurrently
from tests.core.test_errors import assert_problem
from tests.factories import ConcertFactory, UserFactory, admit, make_performance

pytestmark = pytest.mark.django_db


def fan(concert, user=None) -> APIClient:
    """A signed-in client with an ACTIVE pass for the concert."""
    client = APIClient()
    client.user = user or UserFactory()
    client.force_authenticate(user=client.user)
    admit(client, concert)
    return client


def hold(client, performance, seat_number):
    return client.post(
        "/api/v1/reservations",
        {"concert_id": performance.concert_id, "date": performance.date.isoformat(), "seat_number": seat_number},
        format="json",
    )


@pytest.fixture
def performance(db):
    return make_performance(ConcertFactory(), days=3)


def test_hold_succeeds_and_extends_the_pass(performance, settings):
    client = fan(performance.concert)
    res = hold(client, performance, 12)
    assert res.status_code == 201, res.content
    body = res.json()
    assert set(body) == {"id", "concert_id", "performance_id", "date", "seat_number", "price", "status", "held_until"}
    assert body["status"] == "HELD" and body["seat_number"] == 12 and body["price"] == 110_000
    assert body["concert_id"] == performance.concert_id and body["performance_id"] == performance.pk
    held_until = dt.datetime.fromisoformat(body["held_until"])
    assert abs((held_until - timezone.now()).total_seconds() - settings.HOLD_TTL_SECONDS) < 5
    seats = client.get(f"/api/v1/concerts/{performance.concert_id}/dates/{performance.date}/seats").json()
    assert seats["seats"][11]["status"] == "HELD" and 12 not in seats["available"]
    # The pass lives at least as long as the hold.
    settings.QUEUE_ACTIVE_TTL_SECONDS = 1
    token = client._credentials["HTTP_X_QUEUE_TOKEN"]
    pass_expiry = dt.datetime.fromisoformat(
        APIClient().get("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN=token).json()["expires_at"]
    )
    assert pass_expiry >= held_until


def test_pass_is_extended_past_its_ttl_by_a_hold(performance, settings):
    settings.QUEUE_ACTIVE_TTL_SECONDS = 60
    settings.HOLD_TTL_SECONDS = 300
    client = fan(performance.concert)
    assert hold(client, performance, 1).status_code == 201
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=200)):
        seats = client.get(f"/api/v1/concerts/{performance.concert_id}/dates/{performance.date}/seats")
        assert seats.status_code == 200


def test_seat_taken_by_someone_else_or_sold(performance):
    first, second = fan(performance.concert), fan(performance.concert)
    assert hold(first, performance, 5).status_code == 201
    body = assert_problem(hold(second, performance, 5), 409, "SEAT_UNAVAILABLE")
    assert "Seat 5" in body["detail"]
    body = assert_problem(hold(first, performance, 5), 409, "SEAT_UNAVAILABLE")
    assert "You already hold seat 5" in body["detail"]
    Reservation.objects.filter(seat__number=5).update(status="CONFIRMED")
    assert_problem(hold(second, performance, 5), 409, "SEAT_UNAVAILABLE")


def test_lapsed_hold_frees_the_seat_at_once_before_any_sweep(performance, settings):
    settings.HOLD_TTL_SECONDS = 2
    first, second = fan(performance.concert), fan(performance.concert)
    reservation_id = hold(first, performance, 9).json()["id"]
    url = f"/api/v1/concerts/{performance.concert_id}/dates/{performance.date}/seats"
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=2, milliseconds=1)):
        assert second.get(url).json()["seats"][8]["status"] == "AVAILABLE"
        assert first.get(f"/api/v1/reservations/{reservation_id}").json()["status"] == "EXPIRED"
        dates = second.get(f"/api/v1/concerts/{performance.concert_id}/dates").json()["dates"]
        assert dates[0]["available_seats"] == 50
        res = hold(second, performance, 9)
        assert res.status_code == 201
    assert Reservation.objects.get(pk=reservation_id).status == "EXPIRED"


def test_hold_limit_counts_held_and_bought(performance, settings):
    settings.MAX_HOLDS_PER_USER = 3
    client = fan(performance.concert)
    assert hold(client, performance, 1).status_code == 201
    assert hold(client, performance, 2).status_code == 201
    Reservation.objects.filter(seat__number=2).update(status="CONFIRMED")
    assert hold(client, performance, 3).status_code == 201
    body = assert_problem(hold(client, performance, 4), 409, "HOLD_LIMIT_REACHED")
    assert "3" in body["detail"]
    # Another performance of the same concert has its own limit.
    other = make_performance(performance.concert, days=5)
    assert hold(client, other, 4).status_code == 201


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"seat_number": 51}, 404, "SEAT_NOT_FOUND"),
        ({"seat_number": 0}, 404, "SEAT_NOT_FOUND"),
        ({"seat_number": -3}, 404, "SEAT_NOT_FOUND"),
        ({"date": "past"}, 404, "DATE_NOT_AVAILABLE"),
        ({"date": "far"}, 404, "DATE_NOT_AVAILABLE"),
        ({"concert_id": 999999}, 404, "CONCERT_NOT_FOUND"),
        ({"seat_number": "x"}, 400, "VALIDATION_ERROR"),
        ({"seat_number": 10**40}, 400, "VALIDATION_ERROR"),
        ({"date": "2026-13-45"}, 400, "VALIDATION_ERROR"),
        ({"concert_id": None}, 400, "VALIDATION_ERROR"),
    ],
)
def test_hold_errors(performance, payload, status, code):
    client = fan(performance.concert)
    body = {"concert_id": performance.concert_id, "date": performance.date.isoformat(), "seat_number": 1}
    body.update(payload)
    if body["date"] == "past":
        body["date"] = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    if body["date"] == "far":
        body["date"] = (timezone.localdate() + dt.timedelta(days=60)).isoformat()
    res = client.post("/api/v1/reservations", body, format="json")
    problem = assert_problem(res, status, code)
    if code == "VALIDATION_ERROR":
        assert problem["errors"]


def test_hold_needs_auth_then_an_active_pass(performance):
    payload = {"concert_id": performance.concert_id, "date": performance.date.isoformat(), "seat_number": 1}
    assert_problem(APIClient().post("/api/v1/reservations", payload, format="json"), 401, "NOT_AUTHENTICATED")
    client = APIClient()
    client.force_authenticate(UserFactory())
    assert_problem(client.post("/api/v1/reservations", payload, format="json"), 403, "QUEUE_TOKEN_NOT_ACTIVE")
    # A pass for another concert does not open this one.
    admit(client, ConcertFactory())
    assert_problem(client.post("/api/v1/reservations", payload, format="json"), 403, "QUEUE_TOKEN_NOT_ACTIVE")


def test_list_retrieve_and_release_are_owner_only(performance):
    owner, other = fan(performance.concert), fan(performance.concert)
    first = hold(owner, performance, 1).json()
    second = hold(owner, performance, 2).json()
    listing = owner.get("/api/v1/reservations").json()
    assert listing["count"] == 2 and [r["id"] for r in listing["results"]] == [second["id"], first["id"]]
    assert other.get("/api/v1/reservations").json()["count"] == 0
    assert owner.get(f"/api/v1/reservations/{first['id']}").json() == first
    for client, rid in ((other, first["id"]), (owner, 999999), (owner, "abc")):
        assert_problem(client.get(f"/api/v1/reservations/{rid}"), 404, "RESERVATION_NOT_FOUND")
        assert_problem(client.delete(f"/api/v1/reservations/{rid}"), 404, "RESERVATION_NOT_FOUND")
    assert owner.delete(f"/api/v1/reservations/{first['id']}").status_code == 204
    assert owner.get(f"/api/v1/reservations/{first['id']}").json()["status"] == "CANCELLED"
    assert_problem(owner.delete(f"/api/v1/reservations/{first['id']}"), 409, "RESERVATION_NOT_HELD")
    # Released seats are free at once.
    assert hold(other, performance, 1).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_hundred_threads_on_one_seat_one_winner():
    performance = make_performance(ConcertFactory())
    clients = [fan(performance.concert) for _ in range(100)]

    def attempt(i):
        return hold(clients[i], performance, 7).status_code

    codes = Counter(raise_first_error(run_concurrently(100, attempt)))
    assert codes == {201: 1, 409: 99}
    assert Reservation.objects.filter(seat__number=7, status="HELD").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_hundred_users_on_fifty_seats():
    performance = make_performance(ConcertFactory())
    clients = [fan(performance.concert) for _ in range(200)]

    def attempt(index):
        return [hold(clients[index], performance, (index * 7 + k) % 50 + 1).status_code for k in range(3)]

    results = raise_first_error(run_concurrently(len(clients), attempt, workers=32))
    codes = Counter(code for result in results for code in result)
    assert codes[201] == 50 and codes[201] + codes[409] == 600
    live = Reservation.objects.filter(performance=performance, status="HELD")
    assert live.count() == 50
    assert live.values("seat").distinct().count() == 50


@pytest.mark.django_db(transaction=True)
def test_one_user_firing_ten_holds_at_once_gets_at_most_the_limit(settings):
    settings.MAX_HOLDS_PER_USER = 4
    performance = make_performance(ConcertFactory())
    client = fan(performance.concert)

    def attempt(i):
        return hold(client, performance, i + 1).status_code

    codes = Counter(raise_first_error(run_concurrently(10, attempt)))
    assert codes == {201: 4, 409: 6}
    assert Reservation.objects.filter(user=client.user, status="HELD").count() == 4


def test_sweeper_expires_only_lapsed_holds(performance, settings):
    settings.HOLD_TTL_SECONDS = 60
    client = fan(performance.concert)
    lapsing = hold(client, performance, 1).json()["id"]
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=30), tick=False):
        fresh = hold(client, performance, 2).json()["id"]
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61), tick=False):
        assert services.holds_sweep() == 1
        assert services.holds_sweep() == 0
    assert Reservation.objects.get(pk=lapsing).status == "EXPIRED"
    assert Reservation.objects.get(pk=fresh).status == "HELD"


@pytest.mark.django_db(transaction=True)
def test_sweeper_racing_a_new_hold_on_the_same_seat_never_expires_the_new_one(settings):
    settings.HOLD_TTL_SECONDS = 1
    performance = make_performance(ConcertFactory())
    old_holder, new_holder = fan(performance.concert), fan(performance.concert)
    hold(old_holder, performance, 3)
    later = timezone.now() + dt.timedelta(seconds=2)

    def race(i):
        # Both in flight at once: the sweeper, and a new hold on the lapsed seat.
        return services.holds_sweep() if i == 0 else hold(new_holder, performance, 3).status_code

    for _ in range(3):
        # One clock for both threads: the old hold has lapsed for the sweeper and the taker alike.
        with time_machine.travel(later):
            _swept, code = raise_first_error(run_concurrently(2, race))
            assert code == 201
        new = Reservation.objects.filter(seat__number=3, seat__performance=performance).order_by("-pk").first()
        assert new.user_id == new_holder.user.pk and new.status == "HELD"
        Reservation.objects.filter(pk=new.pk).update(user=old_holder.user)  # set up the next round
        later += dt.timedelta(seconds=2)


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_at_once_expire_each_hold_once():
    performance = make_performance(ConcertFactory())
    user = UserFactory()
    past = timezone.now() - dt.timedelta(seconds=1)
    Reservation.objects.bulk_create(
        Reservation(user=user, performance=performance, seat=seat, price=seat.price, held_until=past)
        for seat in performance.seats.all()
    )
    counts = raise_first_error(run_concurrently(2, lambda i: services.holds_sweep(batch_size=7)))
    assert sum(counts) == 50
    assert Reservation.objects.filter(status="EXPIRED").count() == 50


def test_seat_map_api_marks_my_seats(performance):
    client = fan(performance.concert)
    hold(client, performance, 4)
    states = selectors.seat_map(performance=performance)
    assert states[3].holder_id == client.user.pk


def test_a_hold_is_one_short_transaction(performance, settings, django_assert_num_queries):
    """The gate's pass lookup, then one transaction: the user's lock taken with the seat found
    and locked, the insert (made only if the seat is free and the user under the limit), and
    the pass extension. (The test's own transaction makes BEGIN/COMMIT a SAVEPOINT and its
    RELEASE.)"""
    settings.QUEUE_BACKEND = "database"
    client = fan(performance.concert)
    with django_assert_num_queries(6):
        res = hold(client, performance, 12)
    assert res.status_code == 201 and res.json()["seat_number"] == 12
    assert Reservation.objects.get(pk=res.json()["id"]).seat.number == 12


def test_hold_of_a_seat_number_beyond_the_column_is_not_found(performance):
    client = fan(performance.concert)
    assert_problem(hold(client, performance, 40_000), 404, "SEAT_NOT_FOUND")
    assert_problem(hold(client, performance, 2**31 - 1), 404, "SEAT_NOT_FOUND")


def test_a_performance_that_started_today_is_not_bookable():
    noon = timezone.make_aware(dt.datetime.combine(timezone.localdate() + dt.timedelta(days=2), dt.time(12, 0)))
    with time_machine.travel(noon, tick=False):
        concert = ConcertFactory()
        started = make_performance(concert, days=0, start_time=dt.time(11, 59))
        client = fan(concert)
        assert_problem(hold(client, started, 3), 404, "DATE_NOT_AVAILABLE")
        Performance.objects.filter(pk=started.pk).update(start_time=dt.time(12, 1))
        assert hold(client, started, 3).status_code == 201
