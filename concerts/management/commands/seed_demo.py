"""Make sure the demo catalogue exists and has performances in the coming month.

Idempotent: run it any number of times, on any old database; each run adds only
the performances that are missing relative to today, so the demo rolls forward.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand
from django.db import transaction

from concerts import selectors, services
from concerts.models import Concert, Performance

DEMO_CONCERTS = (
    {
        "title": "Midnight Orbit",
        "artist": "The Satellites",
        "venue": "Olympic Hall, Seoul",
        "description": "Synth-pop under a planetarium dome of light.",
    },
    {
        "title": "Strings of Han River",
        "artist": "Seoul Chamber Ensemble",
        "venue": "Lotte Concert Hall, Seoul",
        "description": "Vivaldi's Four Seasons and new Korean works for strings.",
    },
    {
        "title": "Blue Hour Live",
        "artist": "Yuna & The Tides",
        "venue": "KSPO Dome, Seoul",
        "description": "The comeback tour: two hours, one band, no backing tracks.",
    },
)

# Days from today of the performances inside the one-month window.
WINDOW_OFFSETS = (1, 3, 6, 10, 15, 21, 27)
PAST_OFFSET = -7
BEYOND_WINDOW_DAYS = 7


class Command(BaseCommand):
    help = "Create or roll forward the demo concerts, performances and seats."

    def handle(self, *args, **options) -> None:
        today, last = selectors.booking_window()
        created = 0
        with transaction.atomic():
            for spec in DEMO_CONCERTS:
                concert, _ = Concert.objects.get_or_create(title=spec["title"], artist=spec["artist"], defaults=spec)
                created += self._ensure_dates(concert, today, last)
        self.stdout.write(f"Demo catalogue ready ({created} performances added).")

    def _ensure_dates(self, concert: Concert, today: dt.date, last: dt.date) -> int:
        wanted = {today + dt.timedelta(days=d) for d in WINDOW_OFFSETS}
        wanted.add(last + dt.timedelta(days=BEYOND_WINDOW_DAYS))
        if not concert.performances.filter(date__lt=today).exists():
            wanted.add(today + dt.timedelta(days=PAST_OFFSET))
        existing = set(Performance.objects.filter(concert=concert, date__in=wanted).values_list("date", flat=True))
        for date in sorted(wanted - existing):
            services.performance_create(concert=concert, date=date)
        return len(wanted - existing)
