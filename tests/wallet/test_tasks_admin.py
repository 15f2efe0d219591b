import pytest

from core import tasks as core_tasks
from core.models import IdempotencyRecord
from tests.factories import UserFactory
from wallet import services, tasks
from wallet.models import Charge, LedgerEntry, Wallet

pytestmark = pytest.mark.django_db


def test_tasks_run(user):
    services.wallet_charge(user=user, amount=5_000)
    assert tasks.reconcile_pending_charges()["checked"] == 0
    assert core_tasks.purge_idempotency_records() == 0
    assert core_tasks.check_ledger_task() == 0


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_pages_are_read_only(admin_client, user, gateway):
    services.wallet_charge(user=user, amount=5_000)
    gateway.mode = "error"
    services.wallet_charge(user=user, amount=6_000)  # stays PENDING
    wallet = Wallet.objects.get(user=user)
    IdempotencyRecord.objects.create(
        user=user, scope="charge", key="k", fingerprint="f", claimed_at=wallet.created_at, created_at=wallet.created_at
    )
    for url in (
        "/admin/wallet/wallet/",
        f"/admin/wallet/wallet/{wallet.pk}/change/",
        "/admin/wallet/ledgerentry/",
        "/admin/wallet/charge/",
        "/admin/core/idempotencyrecord/",
    ):
        res = admin_client.get(url)
        assert res.status_code == 200, url
    assert "charge:" in admin_client.get(f"/admin/wallet/wallet/{wallet.pk}/change/").content.decode()
    assert "font-weight:700" in admin_client.get("/admin/wallet/charge/").content.decode()
    assert admin_client.get("/admin/wallet/wallet/add/").status_code == 403
    assert admin_client.get(f"/admin/wallet/ledgerentry/{LedgerEntry.objects.first().pk}/delete/").status_code == 403


def test_admin_action_reconciles(admin_client, user, gateway):
    gateway.mode = "error"
    services.wallet_charge(user=user, amount=6_000)
    gateway.mode = "approve"
    charge = Charge.objects.get()
    res = admin_client.post(
        "/admin/wallet/charge/", {"action": "reconcile_pending", "_selected_action": [charge.pk]}, follow=True
    )
    assert res.status_code == 200
    assert Charge.objects.get().status == "SUCCEEDED"
