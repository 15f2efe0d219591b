import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from concerts.models import Reservation
from queue_app import services as queue_services
from tests.factories import ConcertFactory, UserFactory, make_performance

pytestmark = pytest.mark.django_db


def admitted_client(client, concert, user=None):
    user = user or UserFactory()
    client.force_login(user)
    client.user = user
    client.post(f"/concerts/{concert.pk}/waiting-room/enter/")
    return client


@pytest.fixture
def performance():
    return make_performance(ConcertFactory(), days=2)


def seats_url(performance):
    return f"/concerts/{performance.concert_id}/book/{performance.date.isoformat()}/"


def test_seat_map_page_shows_the_grid_with_states(client, performance):
    other = UserFactory()
    Reservation.objects.create(
        user=other,
        performance=performance,
        seat=performance.seats.get(number=3),
        price=1,
        held_until=timezone.now() + dt.timedelta(minutes=5),
    )
    c = admitted_client(client, performance.concert)
    html = c.get(seats_url(performance)).content.decode()
    assert html.count('name="seat"') == 50
    assert "49</strong> of 50 seats available" in html
    assert 'value="3" data-number="3"' in html and "Seat 3, VIP, ₩150,000, held" in html
    assert "VIP ₩150,000" in html and "R ₩110,000" in html and "S ₩80,000" in html
    assert "seat_map.js" in html


def test_dates_page_links_to_the_seat_map(client, performance):
    c = admitted_client(client, performance.concert)
    assert seats_url(performance) in c.get(f"/concerts/{performance.concert_id}/book/").content.decode()


def test_picking_a_seat_holds_it_and_opens_checkout(client, performance):
    c = admitted_client(client, performance.concert)
    res = c.post(seats_url(performance) + "hold/", {"seat": "12"})
    reservation = Reservation.objects.get(user=c.user)
    assert res["Location"] == f"/reservations/{reservation.pk}/checkout/"
    html = c.get(res["Location"]).content.decode()
    assert "Held for you for" in html and f'data-held-until="{reservation.held_until.isoformat()}"' in html
    assert "Release this seat" in html and "₩110,000" in html
    # Picking it again goes back to the same checkout.
    assert c.post(seats_url(performance) + "hold/", {"seat": "12"})["Location"] == res["Location"]
    # Release frees it.
    c.post(f"/reservations/{reservation.pk}/release/")
    assert Reservation.objects.get(pk=reservation.pk).status == "CANCELLED"


def test_lost_race_says_someone_took_the_seat(client, performance):
    rival = UserFactory()
    queue_services.pass_join(user_id=rival.pk, concert_id=performance.concert_id)
    Reservation.objects.create(
        user=rival,
        performance=performance,
        seat=performance.seats.get(number=5),
        price=1,
        held_until=timezone.now() + dt.timedelta(minutes=5),
    )
    c = admitted_client(client, performance.concert)
    res = c.post(seats_url(performance) + "hold/", {"seat": "5"}, follow=True)
    html = res.content.decode()
    assert "Someone just took seat 5" in html
    assert res.redirect_chain[-1][0] == seats_url(performance)


def test_lapsed_hold_on_checkout_says_so(client, performance, settings):
    settings.HOLD_TTL_SECONDS = 5
    c = admitted_client(client, performance.concert)
    c.post(seats_url(performance) + "hold/", {"seat": "8"})
    reservation = Reservation.objects.get(user=c.user)
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=6)):
        html = c.get(f"/reservations/{reservation.pk}/checkout/").content.decode()
    assert "Your hold has lapsed and the seat is free again" in html


def test_my_tickets_and_owner_only_pages(client, performance):
    c = admitted_client(client, performance.concert)
    c.post(seats_url(performance) + "hold/", {"seat": "1"})
    reservation = Reservation.objects.get(user=c.user)
    html = c.get("/reservations/").content.decode()
    assert "Held" in html and "₩150,000" in html
    stranger = UserFactory()
    client.force_login(stranger)
    assert client.get(f"/reservations/{reservation.pk}/checkout/").status_code == 404
    assert client.post(f"/reservations/{reservation.pk}/release/").status_code == 404
    assert "No tickets yet" in client.get("/reservations/").content.decode()


def test_booking_pages_redirect_to_the_waiting_room_without_a_pass(client, performance):
    client.force_login(UserFactory())
    for url in (seats_url(performance), f"/concerts/{performance.concert_id}/book/"):
        assert client.get(url)["Location"] == f"/concerts/{performance.concert_id}/waiting-room/"
    assert client.post(seats_url(performance) + "hold/", {"seat": "1"})["Location"].endswith("/waiting-room/")


def test_bad_date_or_seat_on_pages(client, performance):
    c = admitted_client(client, performance.concert)
    bad = f"/concerts/{performance.concert_id}/book/2026-13-45/"
    assert c.get(bad)["Location"] == f"/concerts/{performance.concert_id}/book/"
    res = c.post(seats_url(performance) + "hold/", {"seat": "abc"}, follow=True)
    assert "Pick a seat on the map" in res.content.decode()
    res = c.post(seats_url(performance) + "hold/", {"seat": "77"}, follow=True)
    assert "Seat 77 does not exist" in res.content.decode()


def test_admin_seat_map_and_release_action(client, performance):
    staff = get_user_model().objects.create_user(
        "boss", "b@example.com", "pw-boss-123", is_staff=True, is_superuser=True
    )
    held = Reservation.objects.create(
        user=UserFactory(),
        performance=performance,
        seat=performance.seats.get(number=2),
        price=1,
        held_until=timezone.now() + dt.timedelta(minutes=5),
    )
    client.force_login(staff)
    page = client.get(f"/admin/concerts/performance/{performance.pk}/change/").content.decode()
    assert "Seat 2 · VIP · HELD" in page
    res = client.post(
        "/admin/concerts/reservation/", {"action": "release_holds", "_selected_action": [held.pk]}, follow=True
    )
    assert "Released 1 hold" in res.content.decode()
    assert Reservation.objects.get(pk=held.pk).status == "CANCELLED"
    listing = client.get("/admin/concerts/reservation/?status__exact=CANCELLED")
    assert listing.status_code == 200
