"""A fan's whole evening, as the fan sees it: sign up, wait in line, pick a seat, top up, pay."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from concerts.models import Reservation
from concerts.services import seat_hold
from queue_app.services import queue_admit_now
from tests.e2e.support import concert_on_sale, confirmed_ticket, in_seconds, join, set_queue, shot
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_up_wait_in_line_hold_top_up_pay_and_find_the_ticket(new_page, ticker):
    concert, performance = concert_on_sale()
    concert_on_sale(title="Harbour Lights", artist="Busan Brass", venue="Pier 7 Stage", days=9)
    concert_on_sale(title="Dawn Chorus", artist="Mina Park Trio", venue="Hall B", booking_opens_at=in_seconds(86_400))
    # Earlier fans bought seats 4 and 5 and are holding seat 23.
    early = UserFactory()
    for number in (4, 5):
        confirmed_ticket(early, performance, number)
    holder = UserFactory()
    join(holder, concert)
    seat_hold(user_id=holder.pk, concert_id=concert.pk, date=performance.date, seat_number=23)
    # Two fans are in line already; admission is paused so the line stays put until we look.
    set_queue(concert, paused=True, admit_batch=1)
    for fan in UserFactory.create_batch(2):
        join(fan, concert)

    page = new_page()
    page.goto("/")
    expect(page).to_have_title("Concerts · Encore")
    shot(page, "concerts", docs=True)
    page.get_by_role("link", name="Sign up").click()
    expect(page).to_have_title("Sign up · Encore")
    page.get_by_label("Username").fill("mina")
    page.get_by_label("Email").fill("mina@example.com")
    page.get_by_label("Password", exact=True).fill("violas at midnight 42")
    page.get_by_label("Password confirmation").fill("violas at midnight 42")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator(".who")).to_have_text("mina")

    page.get_by_role("link", name="Midnight Strings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Midnight Strings")
    page.get_by_role("button", name="Book").click()

    # The waiting room: third in line, an ETA, and an empty progress bar.
    expect(page.get_by_role("heading", level=1)).to_have_text("Waiting room")
    expect(page.locator("#wr-headline")).to_have_text("You are number 3 in line.")
    expect(page.locator("#wr-position")).to_have_text("3")
    expect(page.locator("#wr-ahead")).to_have_text("2")
    expect(page.locator("#wr-eta-label")).to_have_text("Estimated wait")
    expect(page.locator("#wr-eta")).to_have_text(re.compile(r"^\d+ s$"))
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "0")

    # Staff let one fan in: the page moves up by itself, and so does the bar.
    assert queue_admit_now(concert_id=concert.pk, count=1) == 1
    expect(page.locator("#wr-position")).to_have_text("2")
    expect(page.locator("#wr-headline")).to_have_text("You are number 2 in line.")
    expect(bar).to_have_attribute("aria-valuenow", "50")
    expect(bar.locator("span")).to_have_attribute("style", re.compile(r"width: 50%"))
    shot(page, "waiting-room", docs=True)

    # Admission resumes: the ticker lets everyone in, one a second; nobody touches the page.
    set_queue(concert, paused=False)
    expect(page).to_have_url(re.compile(rf"/concerts/{concert.pk}/book/$"), timeout=15_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Pick a date")
    date_card = page.locator(".dates .card")
    expect(date_card).to_have_count(1)
    expect(date_card).to_contain_text("47 seats left")
    date_card.get_by_role("link").click()

    # The seat map: 50 seats, 47 free; a click holds seat 12 (grade R, ₩110,000).
    expect(page.locator("#sm-available")).to_have_text("47")
    expect(page.locator(".seat-grid button")).to_have_count(50)
    expect(page.get_by_role("button", name="Seat 4, VIP, ₩150,000, sold")).to_be_disabled()
    expect(page.get_by_role("button", name="Seat 23, R, ₩110,000, held")).to_be_disabled()
    shot(page, "seat-map", docs=True)
    page.get_by_role("button", name=re.compile(r"^Seat 12, R, ₩110,000, available$")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    expect(page).to_have_title("Checkout · seat 12 · Encore")
    countdown = page.locator("#co-countdown")
    expect(countdown).to_have_text(re.compile(r"^[01]:\d\d$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first)  # it ticks

    # Paying with an empty wallet says exactly what is missing, and links to charge that.
    page.get_by_role("button", name="Pay ₩110,000 from my balance").click()
    error = page.locator(".messages .msg.error")
    expect(error).to_contain_text("You need ₩110,000 more.")
    shot(page, "checkout-shortfall", docs=True)
    reservation = Reservation.objects.get(user__username="mina")
    charge_link = error.get_by_role("link", name="Charge exactly ₩110,000")
    expect(charge_link).to_have_attribute(
        "href", f"/wallet/?amount=110000&next=/reservations/{reservation.pk}/checkout/"
    )
    charge_link.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("My wallet")
    expect(page.get_by_label("Amount (won)")).to_have_value("110000")
    page.get_by_role("button", name="Charge", exact=True).click()

    # Back on the checkout with the money in; pay.
    expect(page).to_have_url(re.compile(rf"/reservations/{reservation.pk}/checkout/$"))
    expect(page.locator(".msg.success")).to_have_text("₩110,000 was added to your balance.")
    expect(page.get_by_text("Your balance: ₩110,000")).to_be_visible()
    page.get_by_role("button", name="Pay ₩110,000 from my balance").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("You're going!")
    expect(page.locator(".messages .msg.success")).to_contain_text("Paid!")
    shot(page, "checkout-paid", docs=True)

    page.get_by_role("navigation").get_by_role("link", name="My tickets").click()
    row = page.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Midnight Strings")
    expect(row.locator('td[data-label="Seat"]')).to_have_text("12 (R)")
    expect(row.locator(".status")).to_have_text("Confirmed")
    expect(row.get_by_role("button", name="Cancel & refund")).to_be_visible()
    shot(page, "my-tickets", docs=True)

    page.get_by_role("navigation").get_by_role("link", name="Wallet").click()
    expect(page.locator("#balance")).to_have_text("₩0")
    expect(page.locator(".ledger tbody tr")).to_have_count(2)
    shot(page, "wallet")

    # The confirmation email went out once, after the payment committed.
    mine = [m for m in mail.outbox if m.to == ["mina@example.com"]]
    assert len(mine) == 1
    assert mine[0].subject.startswith("Your ticket: Midnight Strings")
    assert "Seat:         12 (R)" in mine[0].body
