import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from queue_app import services
from queue_app.models import ConcertQueue, QueueSnapshot
from tests.factories import ConcertFactory, UserFactory, make_performance
from tests.queue_app.test_queue import join, set_queue, status_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def fan_client(client, user):
    client.force_login(user)
    client.user = user
    return client


def test_book_enters_the_line_and_lands_in_the_waiting_room(fan_client):
    concert = ConcertFactory()
    make_performance(concert)
    set_queue(concert, max_active=1)
    join(UserFactory(), concert)  # takes the only active slot
    res = fan_client.post(f"/concerts/{concert.pk}/waiting-room/enter/")
    assert res.status_code == 302 and res["Location"] == f"/concerts/{concert.pk}/waiting-room/"
    token = res.cookies["queue_token"].value
    assert res.cookies["queue_token"]["httponly"]
    page = fan_client.get(res["Location"])
    html = page.content.decode()
    assert "You are number 1 in line." in html
    assert 'aria-live="polite"' in html and 'role="progressbar"' in html
    assert f'data-token="{token}"' in html
    assert "waiting_room.js" in html
    # The booking pages are gated: waiting users are sent back to the waiting room.
    assert fan_client.get(f"/concerts/{concert.pk}/book/")["Location"] == f"/concerts/{concert.pk}/waiting-room/"


def test_admitted_fan_goes_straight_to_the_dates(fan_client):
    concert = ConcertFactory()
    make_performance(concert, days=4)
    res = fan_client.post(f"/concerts/{concert.pk}/waiting-room/enter/")
    assert res["Location"] == f"/concerts/{concert.pk}/book/"
    page = fan_client.get(res["Location"])
    assert page.status_code == 200
    assert "50</strong> seats left" in page.content.decode()
    # The waiting room forwards an admitted fan too.
    assert fan_client.get(f"/concerts/{concert.pk}/waiting-room/")["Location"] == f"/concerts/{concert.pk}/book/"


def test_dates_page_empty_state(fan_client):
    concert = ConcertFactory()
    fan_client.post(f"/concerts/{concert.pk}/waiting-room/enter/")
    assert "No dates left this month" in fan_client.get(f"/concerts/{concert.pk}/book/").content.decode()


def test_waiting_room_without_a_pass_offers_to_join(fan_client):
    concert = ConcertFactory()
    html = fan_client.get(f"/concerts/{concert.pk}/waiting-room/").content.decode()
    assert "Join the line" in html and "waiting_room.js" not in html


def test_pages_need_login(client):
    concert = ConcertFactory()
    assert client.get(f"/concerts/{concert.pk}/waiting-room/")["Location"].startswith("/accounts/login/")
    assert client.post(f"/concerts/{concert.pk}/waiting-room/enter/")["Location"].startswith("/accounts/login/")
    assert client.get(f"/concerts/{concert.pk}/book/")["Location"].startswith("/accounts/login/")


def test_detail_page_has_book_button(fan_client):
    concert = ConcertFactory(booking_opens_at=timezone.now() + dt.timedelta(minutes=3))
    html = fan_client.get(f"/concerts/{concert.pk}/").content.decode()
    assert f'action="/concerts/{concert.pk}/waiting-room/enter/"' in html
    assert "opening draw" in html


@pytest.fixture
def staff_client(client):
    staff = get_user_model().objects.create_user(
        "staff", "s@example.com", "pw-staff-123", is_staff=True, is_superuser=True
    )
    client.force_login(staff)
    return client


def test_admin_dashboard_shows_live_numbers_and_controls_work(staff_client):
    concert = ConcertFactory()
    set_queue(concert, max_active=0)
    tokens = [join(UserFactory(), concert).json()["token"] for _ in range(6)]
    services.queue_tick(concert_id=concert.pk)
    assert QueueSnapshot.objects.filter(concert=concert).exists()
    page = staff_client.get(f"/admin/queue_app/concertqueue/{concert.pk}/dashboard/")
    assert page.status_code == 200
    assert 'id="qd-waiting">6<' in page.content.decode()
    data = staff_client.get(f"/admin/queue_app/concertqueue/{concert.pk}/dashboard.json").json()
    assert data["waiting"] == 6 and data["active"] == 0 and len(data["series"]) == 1
    control = f"/admin/queue_app/concertqueue/{concert.pk}/control/"
    staff_client.post(control, {"action": "pause"})
    assert ConcertQueue.objects.get(pk=concert.pk).paused
    set_queue(concert, max_active=3, paused=True)
    staff_client.post(control, {"action": "admit", "count": "2"})
    assert [status_of(t).json()["status"] for t in tokens[:3]] == ["ACTIVE", "ACTIVE", "WAITING"]
    services.queue_tick(concert_id=concert.pk)  # paused: nobody more
    assert status_of(tokens[2]).json()["status"] == "WAITING"
    staff_client.post(control, {"action": "resume"})
    assert not ConcertQueue.objects.get(pk=concert.pk).paused
    staff_client.post(control, {"action": "expire_all"})
    assert staff_client.get(f"/admin/queue_app/concertqueue/{concert.pk}/dashboard.json").json()["waiting"] == 0
    assert staff_client.get("/admin/queue_app/concertqueue/").status_code == 200


def test_admin_dashboard_refuses_non_staff(fan_client):
    concert = ConcertFactory()
    for url in (
        f"/admin/queue_app/concertqueue/{concert.pk}/dashboard/",
        f"/admin/queue_app/concertqueue/{concert.pk}/dashboard.json",
    ):
        assert fan_client.get(url)["Location"].startswith("/admin/login/")
    assert (
        fan_client.post(f"/admin/queue_app/concertqueue/{concert.pk}/control/", {"action": "pause"}).status_code == 302
    )
    assert not ConcertQueue.objects.filter(pk=concert.pk, paused=True).exists()
