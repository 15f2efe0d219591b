"""Helpers for the browser tests: data set-up through the services, login, screenshots."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

from django.conf import settings
from django.test import Client

from concerts.models import Performance
from tests.factories import ConcertFactory, make_performance

DESKTOP = {"width": 1000, "height": 760}
MOBILE = {"width": 390, "height": 844}
EXPECT_TIMEOUT_MS = 10_000

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
DOCS_SHOTS = ROOT / "docs" / "screenshots"


def login(context, user, url: str) -> None:
    """Log a browser context in without the form: a real session, its cookie handed over."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": url}])


def concert_on_sale(*, days: int = 2, **fields) -> tuple:
    """A concert with one performance ``days`` ahead (50 seats: VIP 1-10, R 11-30, S 31-50)."""
    fields.setdefault("title", "Midnight Strings")
    fields.setdefault("artist", "The Night Quartet")
    fields.setdefault("venue", "Blue Square Hall")
    fields.setdefault("description", "Four strings, one long night: Haydn, Shostakovich and a surprise.")
    concert = ConcertFactory(**fields)
    return concert, make_performance(concert, days=days)


def set_queue(concert, **fields) -> None:
    """Change a concert's waiting-room settings, as staff do in admin."""
    from queue_app.models import ConcertQueue
    from queue_app.selectors import queue_config_cache_clear

    ConcertQueue.objects.update_or_create(concert=concert, defaults=fields)
    queue_config_cache_clear()


def join(user, concert):
    from queue_app.services import pass_join

    view, _ = pass_join(user_id=user.pk, concert_id=concert.pk)
    return view


def confirmed_ticket(user, performance: Performance, seat_number: int):
    """A paid ticket made through the services: charge, admit, hold, pay."""
    from concerts.services import seat_hold
    from payments.services import payment_pay
    from wallet.services import wallet_charge

    seat = performance.seats.get(number=seat_number)
    wallet_charge(user=user, amount=seat.price)
    join(user, performance.concert)
    reservation = seat_hold(
        user_id=user.pk, concert_id=performance.concert_id, date=performance.date, seat_number=seat_number
    )
    payment_pay(user_id=user.pk, reservation_id=reservation.pk)
    reservation.refresh_from_db()
    return reservation


def seats_path(performance: Performance) -> str:
    return f"/concerts/{performance.concert_id}/book/{performance.date.isoformat()}/"


def in_seconds(seconds: float) -> dt.datetime:
    from django.utils import timezone

    return timezone.now() + dt.timedelta(seconds=seconds)


def shot(page, name: str, *, docs: bool = False, full_page: bool = True) -> Path:
    """A PNG of the page in test-artifacts/ (gitignored). With ENCORE_SCREENSHOTS=1 the
    ``docs`` ones also refresh docs/screenshots/, the set docs/architecture.md shows."""
    if not re.fullmatch(r"[0-9a-z-]+", name):
        raise ValueError(name)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    if docs and os.environ.get("ENCORE_SCREENSHOTS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SHOTS / path.name)
    return path


def page_width(page) -> tuple[int, int]:
    """(scrollWidth, innerWidth): the first larger means the page scrolls sideways."""
    return tuple(page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]"))
