import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.utils import timezone

from concerts import selectors
from concerts.models import Reservation
from tests.factories import ConcertFactory, UserFactory, make_performance

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")


@pytest.mark.parametrize(
    ("today", "last"),
    [
        (dt.date(2026, 1, 31), dt.date(2026, 2, 28)),
        (dt.date(2028, 1, 31), dt.date(2028, 2, 29)),
        (dt.date(2026, 3, 31), dt.date(2026, 4, 30)),
        (dt.date(2026, 12, 15), dt.date(2027, 1, 15)),
        (dt.date(2026, 12, 31), dt.date(2027, 1, 31)),
        (dt.date(2026, 2, 28), dt.date(2026, 3, 28)),
    ],
)
def test_add_one_month_clamps_to_month_end(today, last):
    assert selectors.add_one_month(today) == last


def test_booking_window_uses_seoul_today_around_midnight():
    # 23:30 UTC on Dec 31 is already 08:30 on Jan 1 in Seoul.
    utc_late = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert selectors.booking_window(utc_late) == (dt.date(2027, 1, 1), dt.date(2027, 2, 1))
    # One minute before Seoul's midnight it is still Dec 31 there.
    seoul_before = dt.datetime(2026, 12, 31, 23, 59, tzinfo=SEOUL)
    assert selectors.booking_window(seoul_before) == (dt.date(2026, 12, 31), dt.date(2027, 1, 31))


@pytest.mark.django_db
def test_bookable_performances_window_edges():
    concert = ConcertFactory()
    with time_machine.travel(dt.datetime(2027, 1, 31, 10, 0, tzinfo=SEOUL), tick=False):
        today = timezone.localdate()
        for date in (today, dt.date(2027, 2, 28), dt.date(2027, 3, 1), today - dt.timedelta(days=1)):
            make_performance(concert, date=date)
        dates = [p.date for p in selectors.bookable_performances(concert=concert)]
    # Today's 19:30 show has not started; Feb 28 is the last day of the window.
    assert dates == [dt.date(2027, 1, 31), dt.date(2027, 2, 28)]


@pytest.mark.django_db
def test_started_performance_today_is_not_bookable():
    concert = ConcertFactory()
    with time_machine.travel(dt.datetime(2027, 5, 10, 19, 31, tzinfo=SEOUL), tick=False):
        make_performance(concert, date=timezone.localdate())
        assert list(selectors.bookable_performances(concert=concert)) == []


@pytest.mark.django_db
def test_seat_map_derives_state_in_one_query(django_assert_num_queries):
    performance = make_performance()
    user = UserFactory()
    seats = {s.number: s for s in performance.seats.all()}
    now = timezone.now()
    Reservation.objects.create(
        user=user,
        performance=performance,
        seat=seats[1],
        price=1,
        status="HELD",
        held_until=now + dt.timedelta(minutes=5),
    )
    Reservation.objects.create(
        user=user, performance=performance, seat=seats[2], price=1, status="CONFIRMED", held_until=now
    )
    # A hold that lapsed a second ago, never swept: the seat is free at once.
    Reservation.objects.create(
        user=user,
        performance=performance,
        seat=seats[3],
        price=1,
        status="HELD",
        held_until=now - dt.timedelta(seconds=1),
    )
    Reservation.objects.create(
        user=user, performance=performance, seat=seats[4], price=1, status="EXPIRED", held_until=now
    )
    with django_assert_num_queries(1):
        states = selectors.seat_map(performance=performance, now=now)
    by_number = {s.number: s for s in states}
    assert len(states) == 50
    assert by_number[1].status == "HELD" and by_number[1].holder_id == user.pk
    assert by_number[2].status == "SOLD"
    assert by_number[3].status == "AVAILABLE"
    assert by_number[4].status == "AVAILABLE"
    with django_assert_num_queries(1):
        (perf,) = selectors.bookable_performances(concert=performance.concert, now=now)
    assert perf.seat_count - perf.taken_count == 48
