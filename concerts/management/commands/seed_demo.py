"""Make sure the demo catalogue exists and has performances in the coming month.

Idempotent: run it any number of times, on any old database; each run adds only
the performances that are missing relative to today, so the demo rolls forward,
and moves the pre-queue concert's opening a few minutes ahead again.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

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

# Its booking opens a few minutes after every seeding, to show the pre-queue and its draw.
OPENING_SOON = {
    "title": "First Light Festival",
    "artist": "Aurora Lane",
    "venue": "Jamsil Arena, Seoul",
    "description": "One night only. Booking opens minutes from now: join the pre-queue and be in the opening draw.",
}
OPENING_DELAY = dt.timedelta(minutes=5)

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
            soon, _ = Concert.objects.get_or_create(
                title=OPENING_SOON["title"], artist=OPENING_SOON["artist"], defaults=OPENING_SOON
            )
            # Every run (every `make run`) moves the opening a few minutes ahead again.
            soon.booking_opens_at = timezone.now() + OPENING_DELAY
            soon.save(update_fields=["booking_opens_at"])
            created += self._ensure_dates(soon, today, last)
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
