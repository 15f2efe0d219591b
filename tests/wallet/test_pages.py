import re

import pytest
from django.contrib.messages import get_messages

from wallet import services
from wallet.models import Charge, LedgerEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(client, user):
    client.force_login(user)
    client.user = user
    return client


def token_of(html: str) -> str:
    return re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)


def texts(res) -> list[str]:
    return [str(m) for m in get_messages(res.wsgi_request)]


def test_login_required(client):
    res = client.get("/wallet/")
    assert res.status_code == 302 and res["Location"].startswith("/accounts/login/")


def test_shows_balance_limits_and_ledger(page, limits):
    services.wallet_charge(user=page.user, amount=12_345)
    services.wallet_debit(user=page.user, amount=2_000, reference="payment:9")
    html = page.get("/wallet/").content.decode()
    assert "₩10,345" in html
    assert "₩1,000" in html and "₩50,000" in html and "₩100,000" in html
    assert "+₩12,345" in html and "\N{MINUS SIGN}₩2,000" in html and "payment:9" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "http://" not in html and "https://" not in html


def test_empty_wallet(page):
    html = page.get("/wallet/").content.decode()
    assert "₩0" in html and "No money has moved yet" in html


def test_amount_query_prefills_the_form(page):
    assert 'value="23500"' in page.get("/wallet/?amount=23500").content.decode()
    assert 'value="abc"' not in page.get("/wallet/?amount=abc").content.decode()


def test_charge_from_the_page(page):
    html = page.get("/wallet/").content.decode()
    res = page.post("/wallet/", {"amount": "30000", "token": token_of(html)})
    assert res.status_code == 302 and res["Location"] == "/wallet/"
    assert texts(res) == ["₩30,000 was added to your balance."]
    assert "₩30,000" in page.get("/wallet/").content.decode()


def test_double_submit_charges_once(page):
    token = token_of(page.get("/wallet/").content.decode())
    page.post("/wallet/", {"amount": "30000", "token": token})
    res = page.post("/wallet/", {"amount": "30000", "token": token})
    assert "You had already sent this charge; it was not made twice." in texts(res)
    assert LedgerEntry.objects.count() == 1


def test_errors_are_shown_in_words(page, limits):
    res = page.post("/wallet/", {"amount": "999999", "token": "0" * 32})
    assert res.status_code == 302 and "amount=999999" in res["Location"]
    [message] = texts(res)
    assert "between ₩1,000 and ₩50,000" in message
    res = page.post("/wallet/", {"amount": "lots"})
    assert res.status_code == 200
    assert "Enter a whole number of won" in res.content.decode()
    assert not Charge.objects.exists()


def test_balance_limit_message(page, limits):
    services.wallet_charge(user=page.user, amount=50_000)
    services.wallet_charge(user=page.user, amount=45_000)
    res = page.post("/wallet/", {"amount": "10000"})
    assert "you can charge at most ₩5,000 more" in texts(res)[0]


def test_declined_and_pending_messages(page, gateway):
    gateway.mode = "decline"
    res = page.post("/wallet/", {"amount": "5000"})
    assert "declined" in texts(res)[0]
    gateway.mode = "stall"
    res = page.post("/wallet/", {"amount": "6000"})
    gateway.release.set()
    assert "not confirmed your charge of ₩6,000 yet" in texts(res)[-1]
    assert "not confirmed yet" in page.get("/wallet/").content.decode()


def test_next_returns_to_checkout_after_charging(page):
    html = page.get("/wallet/?amount=5000&next=/reservations/7/checkout/").content.decode()
    assert 'name="next" value="/reservations/7/checkout/"' in html
    res = page.post("/wallet/", {"amount": "5000", "next": "/reservations/7/checkout/"})
    assert res["Location"] == "/reservations/7/checkout/"
    res = page.post("/wallet/", {"amount": "5000", "next": "https://evil.example/"})
    assert res["Location"] == "/wallet/"
