"""Dates and seat maps from a snapshot at most one second old: other fans' holds,
releases and payments show within a second, lapses and the fan's own seats at once."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from concerts.live import MAX_AGE
from tests.concerts.test_holds import fan, hold
from tests.factories import ConcertFactory, make_performance
from tests.payments.test_payments import fund, pay

pytestmark = pytest.mark.django_db

JUST_PAST = MAX_AGE + dt.timedelta(milliseconds=1)


@pytest.fixture
def performance():
    return make_performance(ConcertFactory(), days=5)


def seats_url(performance) -> str:
    return f"/api/v1/concerts/{performance.concert_id}/dates/{performance.date}/seats"


def seat(client, performance, number) -> dict:
    return client.get(seats_url(performance)).json()["seats"][number - 1]


def dates(client, performance) -> dict:
    body = client.get(f"/api/v1/concerts/{performance.concert_id}/dates").json()
    return next(d for d in body["dates"] if d["performance_id"] == performance.pk)


def test_others_see_a_hold_release_and_payment_within_a_second(performance):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        holder, other = fan(performance.concert), fan(performance.concert)
        fund(holder.user, 1_000_000)
        assert seat(other, performance, 5)["status"] == "AVAILABLE"
        assert dates(other, performance)["available_seats"] == 50
        reservation = hold(holder, performance, 5).json()
        # Within the second the other fan may still see the seat free (the hold itself decides).
        assert seat(other, performance, 5)["status"] == "AVAILABLE"
    with time_machine.travel(start + JUST_PAST, tick=False):
        assert seat(other, performance, 5) == {
            "number": 5,
            "price": 150_000,
            "grade": "VIP",
            "status": "HELD",
            "mine": False,
        }
        assert dates(other, performance)["available_seats"] == 49
        assert holder.delete(f"/api/v1/reservations/{reservation['id']}").status_code == 204
    with time_machine.travel(start + 2 * JUST_PAST, tick=False):
        assert seat(other, performance, 5)["status"] == "AVAILABLE"
        reservation = hold(holder, performance, 6).json()
        assert pay(holder, reservation["id"]).status_code == 201
    with time_machine.travel(start + 3 * JUST_PAST, tick=False):
        assert seat(other, performance, 6)["status"] == "SOLD"
        assert dates(other, performance)["available_seats"] == 49


def test_the_holder_sees_their_own_hold_release_and_payment_at_once(performance):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        holder = fan(performance.concert)
        fund(holder.user, 1_000_000)
        assert seat(holder, performance, 7)["status"] == "AVAILABLE"  # the snapshot is built now
        reservation = hold(holder, performance, 7).json()
        assert seat(holder, performance, 7) == {
            "number": 7,
            "price": 150_000,
            "grade": "VIP",
            "status": "HELD",
            "mine": True,
        }
        assert holder.delete(f"/api/v1/reservations/{reservation['id']}").status_code == 204
        assert seat(holder, performance, 7)["status"] == "AVAILABLE"
        reservation = hold(holder, performance, 8).json()
        assert seat(holder, performance, 8)["mine"] is True
        assert pay(holder, reservation["id"]).status_code == 201
    # Paying ended the pass, so the map is out of reach; my tickets show the sale at once.
    assert holder.get(f"/api/v1/reservations/{reservation['id']}").json()["status"] == "CONFIRMED"


def test_a_hold_lapsing_within_the_snapshots_second_is_free_at_once(performance, settings):
    """The snapshot taken half a second before the lapse still serves at the lapse: the seat
    reads HELD until held_until and free from that moment, whatever the snapshot says."""
    settings.HOLD_TTL_SECONDS = 3
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        holder, other = fan(performance.concert), fan(performance.concert)
        reservation = hold(holder, performance, 10).json()
    held_until = dt.datetime.fromisoformat(reservation["held_until"])
    built = held_until - dt.timedelta(milliseconds=500)
    with time_machine.travel(built, tick=False):
        assert seat(other, performance, 10)["status"] == "HELD"
    with time_machine.travel(held_until, tick=False):
        assert seat(other, performance, 10)["status"] == "AVAILABLE"


def test_the_seat_map_and_dates_answer_304_while_unchanged(performance):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client, other = fan(performance.concert), fan(performance.concert)
        first = client.get(seats_url(performance))
        assert first.status_code == 200 and first["ETag"] and "no-cache" in first["Cache-Control"]
        again = client.get(seats_url(performance), HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304 and again["ETag"] == first["ETag"] and not again.content
        dates_url = f"/api/v1/concerts/{performance.concert_id}/dates"
        listed = client.get(dates_url)
        assert client.get(dates_url, HTTP_IF_NONE_MATCH=listed["ETag"]).status_code == 304
        hold(other, performance, 11)
    with time_machine.travel(start + JUST_PAST, tick=False):
        changed = client.get(seats_url(performance), HTTP_IF_NONE_MATCH=first["ETag"])
        assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
        assert client.get(dates_url, HTTP_IF_NONE_MATCH=listed["ETag"]).status_code == 200


def test_warm_reads_cost_the_callers_own_seats_only(performance, settings, django_assert_num_queries):
    settings.QUEUE_BACKEND = "database"
    client = fan(performance.concert)
    client.get(seats_url(performance))  # warm: the snapshot, the queue settings, the gate's pass
    with django_assert_num_queries(1):  # the caller's own reservations
        assert client.get(seats_url(performance)).status_code == 200
    client.get(f"/api/v1/concerts/{performance.concert_id}/dates")
    with django_assert_num_queries(0):
        assert client.get(f"/api/v1/concerts/{performance.concert_id}/dates").status_code == 200


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_the_read_gate_may_be_a_second_stale_and_the_writes_never(performance, settings, backend):
    """A pass ended by another process still lets the reads through for up to a second (their
    bodies may be that old too), never a hold; ended in this process, it is refused at once."""
    from queue_app.backends import get_backend
    from tests.queue_app.conftest import TEST_REDIS_URL

    settings.QUEUE_BACKEND = backend
    if backend == "redis":
        settings.QUEUE_REDIS_URL = TEST_REDIS_URL
        get_backend().client.flushdb()
    concert = performance.concert
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = fan(concert)
        assert client.get(seats_url(performance)).status_code == 200
        # Ended behind this process's back, as another web process would (a payment there).
        assert get_backend().end(concert_id=concert.pk, user_id=client.user.pk, now=start, reason="paid")
        assert client.get(seats_url(performance)).status_code == 200
        assert client.get(f"/api/v1/concerts/{concert.pk}/dates").status_code == 200
        assert hold(client, performance, 3).json()["code"] == "QUEUE_TOKEN_NOT_ACTIVE"
    with time_machine.travel(start + JUST_PAST, tick=False):
        assert client.get(seats_url(performance)).json()["code"] == "QUEUE_TOKEN_NOT_ACTIVE"
        assert client.get(f"/api/v1/concerts/{concert.pk}/dates").json()["code"] == "QUEUE_TOKEN_NOT_ACTIVE"

    # Left through this process: refused at once.
    other = fan(concert)
    assert other.get(seats_url(performance)).status_code == 200
    token = other._credentials["HTTP_X_QUEUE_TOKEN"]
    assert other.delete(f"/api/v1/queue/tokens/{token}").status_code == 204
    assert other.get(seats_url(performance)).json()["code"] == "QUEUE_TOKEN_NOT_ACTIVE"
    if backend == "redis":
        get_backend().client.flushdb()


def test_fans_who_hold_nothing_share_one_rendering_of_the_snapshot(performance, monkeypatch):
    """The seat map is made into JSON once per snapshot for every fan holding no seat of the
    performance; a fan who holds one gets their own (with `mine`), and a lapse inside the
    snapshot's second still shows at once to everyone."""
    from concerts.api import reads

    renders = []
    real = reads._seat_map_json
    monkeypatch.setattr(reads, "_seat_map_json", lambda *args: renders.append(args[1]) or real(*args))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        holder, fans = fan(performance.concert), [fan(performance.concert) for _ in range(3)]
        assert hold(holder, performance, 4).status_code == 201
    with time_machine.travel(start + JUST_PAST, tick=False):
        bodies = [f.get(seats_url(performance)) for f in fans]
        assert len({b.content for b in bodies}) == 1 and len({b["ETag"] for b in bodies}) == 1
        assert renders == [None]  # rendered once, for no one in particular
        shared = bodies[0].json()["seats"][3]
        assert (shared["status"], shared["mine"]) == ("HELD", False)
        own = holder.get(seats_url(performance)).json()["seats"][3]
        assert (own["status"], own["mine"]) == ("HELD", True)
        assert renders == [None, holder.user.pk]
    held_until = dt.datetime.fromisoformat(holder.get("/api/v1/reservations").json()["results"][0]["held_until"])
    with time_machine.travel(held_until - dt.timedelta(milliseconds=500), tick=False):
        assert seat(fans[0], performance, 4)["status"] == "HELD"  # a new snapshot, shared
    with time_machine.travel(held_until, tick=False):  # the same snapshot, its hold lapsed
        assert [seat(f, performance, 4)["status"] for f in fans] == ["AVAILABLE"] * 3


def test_the_dates_are_rendered_once_per_snapshot_and_a_start_still_shows_at_once(monkeypatch):
    from concerts.api import reads

    concert = ConcertFactory()
    soon = make_performance(concert, days=0)
    later = make_performance(concert, days=3)
    renders = []
    real = reads._dates_json
    monkeypatch.setattr(reads, "_dates_json", lambda rows: renders.append(len(rows)) or real(rows))
    starts = timezone.make_aware(dt.datetime.combine(soon.date, soon.start_time))
    with time_machine.travel(starts - dt.timedelta(milliseconds=500), tick=False):
        fans = [fan(concert) for _ in range(3)]
        bodies = [f.get(f"/api/v1/concerts/{concert.pk}/dates") for f in fans]
        assert len({b.content for b in bodies}) == 1
        assert [d["performance_id"] for d in bodies[0].json()["dates"]] == [soon.pk, later.pk]
    with time_machine.travel(starts, tick=False):  # the same snapshot; the first show has begun
        assert [d["performance_id"] for d in fans[0].get(f"/api/v1/concerts/{concert.pk}/dates").json()["dates"]] == [
            later.pk
        ]
    assert renders == [2, 1]


@pytest.mark.parametrize("zone", ["Asia/Seoul", "UTC"])
def test_the_plain_answers_are_what_the_documented_serializers_give(performance, settings, zone):
    from concerts import live
    from concerts.api.serializers import DatesSerializer, SeatMapSerializer

    settings.TIME_ZONE = zone
    client = fan(performance.concert)
    rows = live.bookable_dates(concert_id=performance.concert_id)
    expected = DatesSerializer(
        {
            "dates": [
                {
                    "date": r.date,
                    "performance_id": r.performance_id,
                    "starts_at": r.starts_at,
                    "available_seats": r.available,
                }
                for r in rows
            ]
        }
    ).data
    assert client.get(f"/api/v1/concerts/{performance.concert_id}/dates").json() == expected
    body = client.get(seats_url(performance)).json()
    assert body == SeatMapSerializer({**body, "date": performance.date}).data
    assert body["date"] == performance.date.isoformat()
