import pytest

from tests.factories import ConcertFactory

pytestmark = pytest.mark.django_db


def test_home_lists_concerts(client, concert_with_dates):
    res = client.get("/")
    assert res.status_code == 200
    html = res.content.decode()
    assert concert_with_dates.title in html
    assert "₩80,000" in html
    assert 'name="viewport"' in html


def test_home_empty_state(client):
    assert "No concerts are on sale" in client.get("/").content.decode()


def test_detail_page_and_404(client, concert_with_dates):
    res = client.get(f"/concerts/{concert_with_dates.pk}/")
    assert res.status_code == 200
    assert concert_with_dates.artist in res.content.decode()
    assert client.get("/concerts/999999/").status_code == 404


def test_pages_load_nothing_from_the_internet(client):
    ConcertFactory()
    html = client.get("/").content.decode()
    assert "http://" not in html and "https://" not in html
