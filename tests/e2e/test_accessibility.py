"""Phones and keyboards: every page fits 390 px without sideways scrolling, and a seat
can be held with Tab and Enter alone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.support import MOBILE, concert_on_sale, confirmed_ticket, page_width, set_queue, shot
from tests.factories import ConcertFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def fits(page, what: str) -> None:
    """The page fits the viewport, says what it is in its title and has one main heading."""
    expect(page).to_have_title(re.compile(r"\S · Encore$"))
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    scroll_width, inner_width = page_width(page)
    assert scroll_width <= inner_width, f"{what} ({page.url}) scrolls sideways: {scroll_width} > {inner_width}"
    shot(page, "mobile-" + re.sub(r"[^a-z]+", "-", what).strip("-"))


def test_every_page_fits_a_phone_screen(new_page):
    concert, performance = concert_on_sale(
        title="A Very Long Concert Title That Goes On And On Across The Whole Screen",
        venue="Grand Philharmonic Auditorium of the Riverside Arts Centre",
    )
    waiting_concert = ConcertFactory(title="Sold Out Stadium Night")
    set_queue(waiting_concert, paused=True)
    fan = UserFactory(username="a-rather-long-username-for-a-phone")
    confirmed_ticket(fan, performance, 1)

    guest = new_page(viewport=MOBILE)
    for path, what in [
        ("/", "concerts"),
        (f"/concerts/{concert.pk}/", "concert"),
        ("/accounts/login/", "log in"),
        ("/accounts/signup/", "sign up"),
        ("/accounts/password_reset/", "password reset"),
    ]:
        guest.goto(path)
        fits(guest, what)
    response = guest.goto("/concerts/999999/")
    assert response.status == 404
    expect(guest.get_by_role("heading", level=1)).to_have_text("Page not found")
    fits(guest, "page not found")
    guest.goto("/accounts/password_reset/")
    guest.get_by_role("button", name="Email me a link").click()
    fits(guest, "password reset, missing email")  # errors in words, still inside the screen
    expect(guest.get_by_role("alert").first).to_be_visible()

    page = new_page(fan, viewport=MOBILE)
    page.goto("/")
    fits(page, "concerts, logged in")
    page.goto(f"/concerts/{waiting_concert.pk}/")
    page.get_by_role("button", name="Book").click()
    expect(page.locator("#wr-position")).to_have_text("1")
    fits(page, "waiting room")

    page.goto(f"/concerts/{concert.pk}/")
    fits(page, "concert, logged in")
    page.get_by_role("button", name="Book").click()
    fits(page, "dates")
    page.locator(".dates .card a").first.click()
    expect(page.locator("#sm-available")).to_have_text("49")
    fits(page, "seat map")
    page.get_by_role("button", name=re.compile(r"^Seat 2, ")).click()
    expect(page.locator("#co-countdown")).to_have_text(re.compile(r"^\d:\d\d$"))
    fits(page, "checkout")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page.locator(".messages .msg.error")).to_contain_text("You need ₩150,000 more.")
    fits(page, "checkout with a shortfall")
    for path, what in [
        ("/reservations/", "my tickets"),
        ("/wallet/", "wallet"),
        ("/wallet/?amount=150000&next=/reservations/", "wallet with a prefilled charge"),
        ("/accounts/password_change/", "password change"),
    ]:
        page.goto(path)
        fits(page, what)


def test_a_seat_can_be_held_with_the_keyboard_alone(new_page):
    concert, _ = concert_on_sale()
    page = new_page(UserFactory())
    page.goto(f"/concerts/{concert.pk}/")

    def tab_to(selector: str, limit: int = 40):
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                assert page.evaluate("document.activeElement.matches(':focus-visible')"), "focus must be visible"
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("form button[type=submit]")  # "Book"
    expect(page.locator(":focus")).to_have_text("Book")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pick a date")

    tab_to(".dates a")
    page.keyboard.press("Enter")
    expect(page.locator("#sm-available")).to_have_text("50")

    tab_to(".seat-grid button.available")
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("aria-label", "Seat 1, VIP, ₩150,000, available")
    page.keyboard.press("Tab")
    expect(focused).to_have_attribute("aria-label", "Seat 2, VIP, ₩150,000, available")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    expect(page.locator(".facts")).to_contain_text("2 (VIP)")
    expect(page.locator("#co-countdown")).to_have_text(re.compile(r"^\d:\d\d$"))
