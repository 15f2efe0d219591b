import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from concerts import selectors
from concerts.models import Concert, Performance

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_rolls_forward():
    call_command("seed_demo")
    concerts = Concert.objects.count()
    performances = Performance.objects.count()
    call_command("seed_demo")
    assert Concert.objects.count() == concerts >= 4
    assert Performance.objects.count() == performances

    for concert in Concert.objects.filter(booking_opens_at__isnull=True):
        _check_demo_concert(concert)
    soon = Concert.objects.get(booking_opens_at__isnull=False)
    assert timezone.now() < soon.booking_opens_at <= timezone.now() + dt.timedelta(minutes=10)

    # Every run moves the pre-queue concert's opening a few minutes ahead again, even before it opened.
    with time_machine.travel(soon.booking_opens_at - dt.timedelta(minutes=1), tick=False):
        call_command("seed_demo")
        soon.refresh_from_db()
        assert soon.booking_opens_at >= timezone.now() + dt.timedelta(minutes=4)

    # Two months later the same database still offers dates in the coming month.
    with time_machine.travel(timezone.now() + dt.timedelta(days=60), tick=False):
        assert all(not selectors.bookable_performances(concert=c).exists() for c in Concert.objects.all())
        call_command("seed_demo")
        for concert in Concert.objects.filter(booking_opens_at__isnull=True):
            _check_demo_concert(concert)


def _check_demo_concert(concert):
    today, last = selectors.booking_window()
    dates = list(selectors.bookable_performances(concert=concert))
    assert len(dates) >= 6
    assert concert.performances.filter(date__gt=last).exists()
    assert concert.performances.filter(date__lt=today).exists()
    perf = dates[0]
    grades = {s.number: (s.grade, s.price) for s in perf.seats.all()}
    assert len(grades) == 50
    assert grades[1][0] == "VIP" and grades[11][0] == "R" and grades[50][0] == "S"
