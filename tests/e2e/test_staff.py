"""Staff in admin: the live waiting-room dashboard, pausing admission, refunding a ticket."""

from __future__ import annotations

import time

import pytest
from django.core import mail
from playwright.sync_api import expect

from concerts.models import Reservation
from queue_app.models import QueueSnapshot
from tests.e2e.support import concert_on_sale, confirmed_ticket, join, set_queue, shot
from tests.factories import UserFactory
from wallet.selectors import wallet_balance

pytestmark = pytest.mark.django_db(transaction=True)


def staff_user():
    return UserFactory(username="stage-manager", is_staff=True, is_superuser=True)


def wait_for(condition, timeout: float = 10.0) -> None:
    """Poll the database (not the page) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_the_live_dashboard_follows_the_line_and_pause_stops_admission(new_page, ticker):
    concert, _ = concert_on_sale()
    set_queue(concert, max_active=1, admit_batch=5)
    join(UserFactory(), concert)  # the one active fan
    page = new_page(staff_user())
    page.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")  # a tidier picture
    page.goto(f"/admin/queue_app/concertqueue/{concert.pk}/dashboard/")
    expect(page).to_have_title("Waiting room — Midnight Strings | Encore staff")
    expect(page.locator("#qd-active")).to_have_text("1")
    expect(page.locator("#qd-waiting")).to_have_text("0")
    expect(page.locator("#qd-paused")).to_have_text("admitting")

    for fan in UserFactory.create_batch(3):
        join(fan, concert)
    expect(page.locator("#qd-waiting")).to_have_text("3")  # refreshed by itself
    shot(page, "admin-dashboard", docs=True, full_page=False)

    page.get_by_role("button", name="Pause admission").click()
    expect(page.locator(".messagelist")).to_contain_text("Admission paused.")
    expect(page.locator("#qd-paused")).to_have_text("paused")
    # Room for everyone now, but paused: two more ticks go by and nobody gets in.
    set_queue(concert, max_active=10)
    seen = QueueSnapshot.objects.filter(concert=concert).count()
    wait_for(lambda: QueueSnapshot.objects.filter(concert=concert).count() >= seen + 2)
    assert [s.admitted for s in QueueSnapshot.objects.filter(concert=concert).order_by("-at")[:2]] == [0, 0]
    expect(page.locator("#qd-waiting")).to_have_text("3")

    page.get_by_role("button", name="Resume admission").click()
    expect(page.locator(".messagelist")).to_contain_text("Admission resumed.")
    expect(page.locator("#qd-paused")).to_have_text("admitting")
    expect(page.locator("#qd-waiting")).to_have_text("0")
    expect(page.locator("#qd-active")).to_have_text("4")


def test_staff_refund_a_ticket_from_the_reservations_list(new_page):
    _, performance = concert_on_sale()
    fan = UserFactory(username="jiwoo")
    ticket = confirmed_ticket(fan, performance, 5)
    assert wallet_balance(user=fan) == 0
    page = new_page(staff_user())
    page.goto("/admin/concerts/reservation/")
    row = page.locator("#result_list tbody tr").filter(has_text="jiwoo")
    expect(row).to_contain_text("Confirmed")

    row.get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option(label="Refund selected confirmed tickets to the fans' balances")
    page.get_by_role("button", name="Go").click()

    expect(page.locator(".messagelist")).to_contain_text("Refunded 1 ticket(s).")
    expect(row).to_contain_text("Refunded")
    ticket.refresh_from_db()
    assert ticket.status == Reservation.Status.REFUNDED
    assert wallet_balance(user=fan) == 150_000
    assert [m.subject for m in mail.outbox if m.to == ["jiwoo@example.com"]][-1].startswith("Refunded: ")
