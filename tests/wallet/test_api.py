import datetime as dt

import pytest
from rest_framework.test import APIClient

from tests.core.test_errors import assert_problem
from tests.factories import UserFactory
from wallet import services
from wallet.models import Charge, LedgerEntry

pytestmark = pytest.mark.django_db

CHARGE_FIELDS = {"id", "amount", "status", "balance", "created_at"}


def charge(client, amount, **headers):
    return client.post("/api/v1/wallet/charges", {"amount": amount}, format="json", **headers)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/wallet"),
        ("post", "/api/v1/wallet/charges"),
        ("get", "/api/v1/wallet/charges/1"),
        ("get", "/api/v1/wallet/transactions"),
    ],
)
def test_anonymous_is_401(api, method, path):
    res = getattr(api, method)(path, {"amount": 5000}, format="json") if method == "post" else api.get(path)
    assert_problem(res, 401, "NOT_AUTHENTICATED")
    assert not Charge.objects.exists()


def test_wallet_shows_balance_and_limits_from_settings(user_api, limits):
    res = user_api.get("/api/v1/wallet")
    assert res.status_code == 200
    assert res.json() == {
        "balance": 0,
        "currency": "KRW",
        "charge_min": 1_000,
        "charge_max": 50_000,
        "balance_max": 100_000,
        "pending": 0,
    }
    limits.CHARGE_MAX = 70_000
    assert user_api.get("/api/v1/wallet/").json()["charge_max"] == 70_000


def test_charge_succeeds_and_credits(user_api):
    res = charge(user_api, 50_000)
    assert res.status_code == 201, res.content
    body = res.json()
    assert set(body) == CHARGE_FIELDS
    assert body["amount"] == 50_000
    assert body["status"] == "SUCCEEDED"
    assert body["balance"] == 50_000
    assert body["created_at"].endswith("+09:00")
    dt.datetime.fromisoformat(body["created_at"])
    assert user_api.get("/api/v1/wallet").json()["balance"] == 50_000
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.balance_after, entry.reference) == (
        "CHARGE",
        50_000,
        50_000,
        f"charge:{body['id']}",
    )
    assert Charge.objects.get(pk=body["id"]).gateway_ref.startswith("sandbox-")


def test_trailing_slash_is_tolerated(user_api):
    res = user_api.post("/api/v1/wallet/charges/", {"amount": 5_000}, format="json")
    assert res.status_code == 201
    assert user_api.get("/api/v1/wallet/transactions/").json()["count"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "5000"},
        {"amount": 5000.0},
        {"amount": 5000.5},
        {"amount": True},
        {"amount": None},
        {"amount": [5000]},
        {"amount": {"won": 5000}},
        {"amount": 10**30},
        {"amount": -(10**30)},
        {},
        {"amnt": 5000},
    ],
)
def test_malformed_amount_is_validation_error(user_api, body):
    res = user_api.post("/api/v1/wallet/charges", body, format="json")
    problem = assert_problem(res, 400, "VALIDATION_ERROR")
    assert problem["errors"]["amount"]
    assert not Charge.objects.exists()


@pytest.mark.parametrize("raw", ["{not json", "[]", "null", '"text"', '{"amount": 1e400}'])
def test_malformed_body_is_validation_error(user_api, raw):
    res = user_api.post("/api/v1/wallet/charges", data=raw, content_type="application/json")
    assert_problem(res, 400, "VALIDATION_ERROR")


def test_amount_outside_limits_is_out_of_range(user_api, limits):
    for amount in (0, -5, 999, 50_001, 10**15):
        problem = assert_problem(charge(user_api, amount), 400, "CHARGE_AMOUNT_OUT_OF_RANGE")
        assert "₩1,000" in problem["detail"] and "₩50,000" in problem["detail"]
        assert (problem["charge_min"], problem["charge_max"]) == (1_000, 50_000)
    assert not Charge.objects.exists()
    assert charge(user_api, 1_000).status_code == 201
    assert charge(user_api, 50_000).status_code == 201


def test_balance_max_is_enforced(user_api, limits):
    assert charge(user_api, 50_000).status_code == 201
    assert charge(user_api, 45_000).status_code == 201
    problem = assert_problem(charge(user_api, 6_000), 409, "BALANCE_LIMIT_EXCEEDED")
    assert problem["max_charge"] == 5_000
    assert problem["balance"] == 95_000 and problem["balance_max"] == 100_000
    assert "at most ₩5,000 more" in problem["detail"]
    assert charge(user_api, 5_000).status_code == 201
    problem = assert_problem(charge(user_api, 1_000), 409, "BALANCE_LIMIT_EXCEEDED")
    assert problem["max_charge"] == 0 and "spend some" in problem["detail"]
    assert user_api.get("/api/v1/wallet").json()["balance"] == 100_000
    assert LedgerEntry.objects.count() == 3


def test_balance_max_counts_pending_charges(user_api, limits):
    assert charge(user_api, 50_000).status_code == 201
    wallet = user_api.user.wallet
    Charge.objects.create(user=user_api.user, wallet=wallet, amount=40_000)  # still at the gateway
    assert user_api.get("/api/v1/wallet").json()["pending"] == 40_000
    problem = assert_problem(charge(user_api, 20_000), 409, "BALANCE_LIMIT_EXCEEDED")
    assert problem["pending"] == 40_000 and problem["max_charge"] == 10_000
    assert "₩40,000 still being charged" in problem["detail"]


def test_charge_detail_is_owner_only(user_api):
    own = charge(user_api, 5_000).json()
    res = user_api.get(f"/api/v1/wallet/charges/{own['id']}")
    assert res.status_code == 200
    assert res.json() == own
    other = APIClient()
    other.force_authenticate(UserFactory())
    assert_problem(other.get(f"/api/v1/wallet/charges/{own['id']}"), 404, "NOT_FOUND")
    for bad in ("abc", "0", "-1", str(10**30), "1.5"):
        assert_problem(user_api.get(f"/api/v1/wallet/charges/{bad}"), 404, "NOT_FOUND")


def test_transactions_newest_first_paginated_and_private(user_api):
    for amount in (1_000, 2_000, 3_000):
        charge(user_api, amount)
    services.wallet_debit(user=user_api.user, amount=2_500, reference="payment:1")
    services.wallet_refund(user=user_api.user, amount=2_500, reference="payment:1")
    other = UserFactory()
    services.wallet_charge(user=other, amount=9_000)

    res = user_api.get("/api/v1/wallet/transactions?page_size=2")
    assert res.status_code == 200
    body = res.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 5 and body["next"] and body["previous"] is None
    first = body["results"][0]
    assert set(first) == {"id", "kind", "amount", "balance_after", "created_at", "reference"}
    assert (first["kind"], first["amount"], first["balance_after"], first["reference"]) == (
        "REFUND",
        2_500,
        6_000,
        "payment:1",
    )
    assert body["results"][1]["kind"] == "PAYMENT" and body["results"][1]["amount"] == -2_500
    everything = user_api.get("/api/v1/wallet/transactions?page_size=100").json()["results"]
    assert [e["amount"] for e in everything] == [2_500, -2_500, 3_000, 2_000, 1_000]
    assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)


def test_other_methods_are_405(user_api):
    assert_problem(user_api.delete("/api/v1/wallet"), 405, "METHOD_NOT_ALLOWED")
    assert_problem(user_api.get("/api/v1/wallet/charges"), 405, "METHOD_NOT_ALLOWED")
    assert_problem(user_api.post("/api/v1/wallet/transactions", {}, format="json"), 405, "METHOD_NOT_ALLOWED")


def test_schema_documents_wallet(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    for path in ("/api/v1/wallet", "/api/v1/wallet/charges", "/api/v1/wallet/transactions"):
        assert path in paths
    post = paths["/api/v1/wallet/charges"]["post"]
    assert {"201", "400", "401", "409", "422", "502"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
