"""The seat map under contention, and a hold that runs out while the fan looks at it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from concerts.models import Reservation
from tests.e2e.support import concert_on_sale, seats_path, shot
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def open_seat_map(page, performance) -> None:
    """Through the front door: the concert page's "Book" (instant entry when there is no line)."""
    page.goto(f"/concerts/{performance.concert_id}/")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pick a date")
    page.locator(".dates .card a").first.click()
    expect(page).to_have_url(re.compile(re.escape(seats_path(performance)) + "$"))
    expect(page.locator("#sm-available")).to_have_text("50")


def seat(page, number: int):
    return page.locator(f'.seat-grid [data-number="{number}"]')


def test_two_fans_click_the_same_seat_at_once_one_gets_it_the_other_is_told(new_page):
    _, performance = concert_on_sale()
    pages = [new_page(UserFactory(username=name)) for name in ("ara", "bora")]
    for page in pages:
        open_seat_map(page, performance)

    # Both clicks leave before either answer comes back.
    for page in pages:
        page.evaluate("document.querySelector('.seat-grid [data-number=\"7\"]').click()")
    outcome = {}
    for page in pages:
        settled = page.locator("#checkout").or_(page.locator(".messages .msg.error"))
        expect(settled).to_be_visible()
        outcome[page] = "won" if page.locator("#checkout").count() else "lost"
    assert sorted(outcome.values()) == ["lost", "won"]
    winner = next(p for p, o in outcome.items() if o == "won")
    loser = next(p for p, o in outcome.items() if o == "lost")

    expect(winner.get_by_role("heading", level=1)).to_have_text("Checkout")
    expect(winner.locator(".facts")).to_contain_text("7 (VIP)")
    expect(winner.locator("#co-countdown")).to_have_text(re.compile(r"^\d:\d\d$"))

    expect(loser.locator(".messages .msg.error")).to_have_text(
        "Someone just took seat 7. The map is up to date: pick another seat."
    )
    # The map the loser sees is already the new one: seat 7 held, 49 left.
    expect(seat(loser, 7)).to_have_class(re.compile(r"\bheld\b"))
    expect(seat(loser, 7)).to_be_disabled()
    expect(seat(loser, 7)).to_have_attribute("aria-label", "Seat 7, VIP, ₩150,000, held")
    expect(loser.locator("#sm-available")).to_have_text("49")
    shot(loser, "seat-taken")
    assert Reservation.objects.filter(seat__number=7, status=Reservation.Status.HELD).count() == 1


def test_a_hold_lapses_on_the_checkout_page_and_the_seat_is_free_again(new_page, settings):
    settings.HOLD_TTL_SECONDS = 4
    _, performance = concert_on_sale()
    page = new_page(UserFactory())
    open_seat_map(page, performance)
    seat(page, 33).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    countdown = page.locator("#co-countdown")
    expect(countdown).to_have_text(re.compile(r"^0:0[1-4]$"))
    lapsed = page.get_by_role("alert").filter(has_text="Your hold has lapsed")
    expect(lapsed).to_be_hidden()

    expect(countdown).to_have_text("0:00", timeout=8_000)
    expect(lapsed).to_be_visible()
    expect(lapsed).to_contain_text("the seat is free again")
    expect(page.get_by_role("button", name=re.compile(r"^Pay "))).to_be_hidden()
    shot(page, "checkout-lapsed")

    lapsed.get_by_role("link", name="Back to the seat map").click()
    expect(page.locator("#sm-available")).to_have_text("50")
    expect(seat(page, 33)).to_have_class(re.compile(r"\bavailable\b"))
    expect(seat(page, 33)).to_be_enabled()
