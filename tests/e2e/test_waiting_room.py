"""The waiting room before and after booking opens, and what a screen reader hears."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from concerts.models import Concert
from queue_app.selectors import queue_config_cache_clear
from queue_app.services import queue_admit_now
from tests.e2e.support import MOBILE, concert_on_sale, in_seconds, join, set_queue, shot
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_before_opening_the_page_counts_down_then_shows_a_place_in_line(new_page):
    concert, _ = concert_on_sale(title="First Light", booking_opens_at=in_seconds(3600))
    # Paused, so that after the opening the fan stays in line long enough to be seen there.
    set_queue(concert, paused=True)
    page = new_page(UserFactory(), viewport=MOBILE)
    page.goto(f"/concerts/{concert.pk}/")
    expect(page.locator(".badge.soon")).to_contain_text("Booking opens")
    # The opening moves up to a few seconds from now (however slow the page load was).
    Concert.objects.filter(pk=concert.pk).update(booking_opens_at=in_seconds(4))
    queue_config_cache_clear()
    page.get_by_role("button", name="Book").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Waiting room")
    headline = page.locator("#wr-headline")
    expect(headline).to_contain_text("You are in the opening draw.")
    expect(page.locator("#wr-eta-label")).to_have_text("Booking opens in")
    expect(page.locator("#wr-position")).to_have_text("—")
    eta = page.locator("#wr-eta")
    expect(eta).to_have_text(re.compile(r"^[1-4] s$"))
    first = eta.inner_text()
    expect(eta).not_to_have_text(first)  # it counts down
    bar_top = page.get_by_role("progressbar").bounding_box()["y"]
    shot(page, "phone-waiting-room-before-opening", docs=True)

    # Booking opens: the draw gives the fan a place, without a reload.
    expect(page.locator("#wr-position")).to_have_text("1", timeout=10_000)
    expect(headline).to_have_text("You are next in line.")
    expect(page.locator("#wr-eta-label")).to_have_text("Estimated wait")
    expect(eta).to_have_text(re.compile(r"^\d+ s$"))
    # Nothing jumped while the text changed.
    assert page.get_by_role("progressbar").bounding_box()["y"] == bar_top


def test_position_updates_are_announced(new_page):
    concert, _ = concert_on_sale()
    set_queue(concert, paused=True)
    for fan in UserFactory.create_batch(2):
        join(fan, concert)
    page = new_page(UserFactory())
    page.goto(f"/concerts/{concert.pk}/")
    page.get_by_role("button", name="Book").click()

    live = page.locator("[aria-live]").filter(has_text="in line")
    expect(live).to_have_attribute("aria-live", "polite")
    expect(live).to_have_text("You are number 3 in line.")
    assert queue_admit_now(concert_id=concert.pk, count=1) == 1
    expect(live).to_have_text("You are number 2 in line.")
    assert queue_admit_now(concert_id=concert.pk, count=1) == 1
    expect(live).to_have_text("You are next in line.")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
