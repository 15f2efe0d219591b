"""The HTTP gateway against a real fake server on loopback, and reconciliation."""

import socket

import pytest

from core.integrity import integrity_problems
from tests.concurrency import run_concurrently
from tests.core.test_errors import assert_problem
from tests.factories import UserFactory
from wallet import gateway as gw
from wallet import services
from wallet.models import Charge, LedgerEntry

pytestmark = pytest.mark.django_db


def charge(client, amount):
    return client.post("/api/v1/wallet/charges", {"amount": amount}, format="json")


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_sandbox_is_the_default(settings):
    settings.PAYMENT_GATEWAY_URL = ""
    assert isinstance(gw.get_gateway(), gw.SandboxGateway)
    settings.PAYMENT_GATEWAY_URL = "http://127.0.0.1:9"
    assert isinstance(gw.get_gateway(), gw.HttpGateway)


def test_approved_by_http_gateway(user_api, gateway):
    res = charge(user_api, 12_000)
    assert res.status_code == 201
    assert res.json()["status"] == "SUCCEEDED" and res.json()["balance"] == 12_000
    stored = Charge.objects.get()
    assert stored.gateway_ref == "gw-1" and stored.settled_at is not None
    assert gateway.calls == [("POST", str(stored.uid))]


def test_declined_is_502_and_credits_nothing(user_api, gateway):
    gateway.mode = "decline"
    problem = assert_problem(charge(user_api, 12_000), 502, "GATEWAY_DECLINED")
    assert "card limit reached" in problem["detail"]
    stored = Charge.objects.get()
    assert problem["charge_id"] == stored.pk
    assert stored.status == "DECLINED" and stored.settled_at is not None
    assert not LedgerEntry.objects.exists()
    assert user_api.get("/api/v1/wallet").json()["balance"] == 0


def test_gateway_error_leaves_charge_pending(user_api, gateway):
    gateway.mode = "error"
    res = charge(user_api, 12_000)
    assert res.status_code == 201 and res.json()["status"] == "PENDING"
    assert not LedgerEntry.objects.exists()


def test_stall_is_pending_then_reconciled_once(user_api, gateway):
    gateway.mode = "stall"
    res = charge(user_api, 30_000)
    gateway.release.set()  # the gateway answers late, to nobody
    assert res.status_code == 201
    body = res.json()
    assert body["status"] == "PENDING" and body["balance"] == 0
    assert not LedgerEntry.objects.exists()
    assert user_api.get("/api/v1/wallet").json()["pending"] == 30_000

    # Too young to reconcile by default: its own request could still be in flight.
    assert services.charge_reconcile_pending().checked == 0
    report = services.charge_reconcile_pending(min_age_seconds=0)
    assert (report.checked, report.succeeded) == (1, 1)
    assert services.charge_reconcile_pending(min_age_seconds=0).checked == 0
    stored = Charge.objects.get()
    assert stored.status == "SUCCEEDED" and stored.gateway_ref == "gw-1"
    assert LedgerEntry.objects.get().amount == 30_000
    detail = user_api.get(f"/api/v1/wallet/charges/{body['id']}").json()
    assert detail["status"] == "SUCCEEDED" and detail["balance"] == 30_000
    assert integrity_problems() == []


@pytest.mark.django_db(transaction=True)
def test_two_reconciliations_at_once_credit_once(gateway):
    user = UserFactory()
    gateway.mode = "stall"
    pending = [services.wallet_charge(user=user, amount=1_000 * (i + 1)).charge for i in range(3)]
    gateway.release.set()
    assert all(c.status == "PENDING" for c in pending)

    results = run_concurrently(2, lambda i: services.charge_reconcile_pending(min_age_seconds=0))
    assert all(isinstance(r, services.ReconcileReport) for r in results), results
    assert sum(r.succeeded for r in results) == 3
    assert LedgerEntry.objects.count() == 3
    assert services.wallet_get_or_create(user=user).balance == 6_000
    assert set(Charge.objects.values_list("status", flat=True)) == {"SUCCEEDED"}
    assert integrity_problems() == []


def test_gateway_down_then_unaware_charge_is_authorized_again(user_api, gateway, settings):
    settings.PAYMENT_GATEWAY_URL = closed_port_url()
    res = charge(user_api, 8_000)
    assert res.status_code == 201 and res.json()["status"] == "PENDING"
    assert services.charge_reconcile_pending(min_age_seconds=0).still_pending == 1

    settings.PAYMENT_GATEWAY_URL = gateway.url  # back up, but it never saw the charge
    report = services.charge_reconcile_pending(min_age_seconds=0)
    assert report.succeeded == 1
    uid = str(Charge.objects.get().uid)
    assert gateway.calls == [("GET", uid), ("POST", uid)]
    assert user_api.get("/api/v1/wallet").json()["balance"] == 8_000


def test_reconcile_marks_declines(user_api, gateway):
    gateway.mode = "error"
    charge(user_api, 8_000)
    gateway.mode = "decline"
    report = services.charge_reconcile_pending(min_age_seconds=0)
    assert report.declined == 1
    assert Charge.objects.get().status == "DECLINED"
    assert not LedgerEntry.objects.exists()


def test_settling_a_settled_charge_changes_nothing(user):
    result = services.wallet_charge(user=user, amount=5_000)
    again = services.charge_settle(charge_id=result.charge.pk, result=gw.GatewayResult(gw.APPROVED, ref="x"))
    assert again.charge.status == "SUCCEEDED" and again.balance == 5_000
    assert LedgerEntry.objects.count() == 1


def test_gateway_garbage_answers_are_pending(gateway):
    http = gw.HttpGateway(gateway.url, timeout=1)
    assert http.lookup(charge_id="nope").status == gw.NOT_FOUND
    gateway.mode = "error"
    assert http.authorize(charge_id="c1", amount=1, user_id=1).status == gw.PENDING
    with pytest.raises(ValueError):
        gw.HttpGateway("file:///etc/passwd", timeout=1)
