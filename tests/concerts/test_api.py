import datetime as dt

import pytest
from django.utils import timezone

from concerts.models import Reservation
from tests.core.test_errors import assert_problem
from tests.factories import ConcertFactory, admit, make_performance

pytestmark = pytest.mark.django_db


def test_concert_list_is_public_and_paginated(api, concert_with_dates):
    ConcertFactory(title="No dates yet")
    res = api.get("/api/v1/concerts")
    assert res.status_code == 200
    body = res.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    first = body["results"][0]
    assert set(first) == {"id", "title", "artist", "venue", "description", "price_from", "booking_opens_at"}
    assert first["price_from"] == 80_000
    assert body["results"][1]["price_from"] is None


def test_concert_detail_and_not_found(api, concert_with_dates):
    res = api.get(f"/api/v1/concerts/{concert_with_dates.pk}")
    assert res.status_code == 200
    assert res.json()["id"] == concert_with_dates.pk
    for bad in ("999999", "abc", "1.5", str(10**30), "-1"):
        assert_problem(api.get(f"/api/v1/concerts/{bad}"), 404, "CONCERT_NOT_FOUND")


def test_booking_opens_at_is_iso_with_offset(api):
    opens = timezone.now() + dt.timedelta(hours=1)
    concert = ConcertFactory(booking_opens_at=opens)
    value = api.get(f"/api/v1/concerts/{concert.pk}").json()["booking_opens_at"]
    assert value.endswith("+09:00")
    assert dt.datetime.fromisoformat(value) == opens.replace(microsecond=opens.microsecond)


@pytest.fixture
def user_api(user_api, concert_with_dates):
    admit(user_api, concert_with_dates)
    return user_api


def test_dates_lists_window_only_sorted_with_counts(user_api, concert_with_dates):
    res = user_api.get(f"/api/v1/concerts/{concert_with_dates.pk}/dates")
    assert res.status_code == 200
    dates = res.json()["dates"]
    today = timezone.localdate()
    assert [d["date"] for d in dates] == [
        (today + dt.timedelta(days=2)).isoformat(),
        (today + dt.timedelta(days=9)).isoformat(),
    ]
    assert all(d["available_seats"] == 50 for d in dates)
    assert dates[0]["starts_at"].endswith("T19:30:00+09:00")
    assert isinstance(dates[0]["performance_id"], int)


def test_dates_of_unknown_concert(user_api):
    assert_problem(user_api.get("/api/v1/concerts/424242/dates"), 404, "CONCERT_NOT_FOUND")


def test_seat_map_lists_all_seats_and_available(user_api, concert_with_dates):
    day = timezone.localdate() + dt.timedelta(days=2)
    performance = concert_with_dates.performances.get(date=day)
    seat = performance.seats.get(number=7)
    Reservation.objects.create(
        user=user_api.user,
        performance=performance,
        seat=seat,
        price=seat.price,
        held_until=timezone.now() + dt.timedelta(minutes=5),
    )
    res = user_api.get(f"/api/v1/concerts/{concert_with_dates.pk}/dates/{day.isoformat()}/seats")
    assert res.status_code == 200
    body = res.json()
    assert body["date"] == day.isoformat()
    assert body["performance_id"] == performance.pk
    assert len(body["seats"]) == 50
    assert body["seats"][6] == {"number": 7, "price": 150_000, "grade": "VIP", "status": "HELD", "mine": True}
    assert 7 not in body["available"]
    assert len(body["available"]) == 49
    dates = user_api.get(f"/api/v1/concerts/{concert_with_dates.pk}/dates").json()["dates"]
    assert dates[0]["available_seats"] == 49


@pytest.mark.parametrize("offset", [-1, 45, 5])
def test_seat_map_outside_window_or_without_performance(user_api, concert_with_dates, offset):
    day = timezone.localdate() + dt.timedelta(days=offset)
    res = user_api.get(f"/api/v1/concerts/{concert_with_dates.pk}/dates/{day.isoformat()}/seats")
    assert_problem(res, 404, "DATE_NOT_AVAILABLE")


@pytest.mark.parametrize("bad", ["2026-13-45", "tomorrow", "2026-1-5", "20261205", "0000-00-00"])
def test_seat_map_with_malformed_date_is_validation_error(user_api, concert_with_dates, bad):
    res = user_api.get(f"/api/v1/concerts/{concert_with_dates.pk}/dates/{bad}/seats")
    body = assert_problem(res, 400, "VALIDATION_ERROR")
    assert "date" in body["errors"]


def test_seat_count_and_prices_are_data(user_api):
    performance = make_performance(grades=[("A", 1, 3, 5_000)])
    admit(user_api, performance.concert)
    res = user_api.get(f"/api/v1/concerts/{performance.concert_id}/dates/{performance.date.isoformat()}/seats")
    assert [s["price"] for s in res.json()["seats"]] == [5_000, 5_000, 5_000]
