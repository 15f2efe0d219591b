"""Balances, the append-only ledger and card charges.

Money is an integer number of won. ``Wallet.balance`` is a projection of the
ledger, changed only by ``wallet.services`` under the wallet's row lock;
``manage.py check_ledger`` proves balance == sum(ledger).

Ledger amounts are **signed**: CHARGE and REFUND rows are positive, PAYMENT
rows negative, so a wallet's balance is simply the sum of its rows and each
row's ``balance_after`` equals the previous row's plus its own ``amount``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Wallet(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallet")
    balance = models.BigIntegerField(default=0, help_text="Won; the sum of this wallet's ledger.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="wallet_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Wallet of {self.user} (₩{self.balance:,})"


class LedgerEntry(models.Model):
    """One money movement. Rows are only ever inserted (no update path, PROTECT)."""

    class Kind(models.TextChoices):
        CHARGE = "CHARGE", "Charge"
        PAYMENT = "PAYMENT", "Payment"
        REFUND = "REFUND", "Refund"

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.BigIntegerField(help_text="Won, signed: + for CHARGE/REFUND, - for PAYMENT.")
    balance_after = models.BigIntegerField(help_text="The wallet's balance right after this row.")
    reference = models.CharField(max_length=64, help_text='What moved the money, e.g. "charge:12", "payment:5".')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind__in=["CHARGE", "REFUND"], amount__gt=0) | Q(kind="PAYMENT", amount__lt=0)),
                name="ledger_amount_sign_matches_kind",
            ),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_after_not_negative"),
            models.CheckConstraint(condition=~Q(reference=""), name="ledger_reference_not_empty"),
            # Exactly-once in the database itself: one credit per charge, one
            # debit per payment, one refund per paid thing.
            models.UniqueConstraint(fields=["kind", "reference"], name="ledger_one_entry_per_kind_and_reference"),
        ]
        indexes = [models.Index(fields=["wallet", "-id"], name="ledger_wallet_newest_first")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+,} ({self.reference})"


class Charge(models.Model):
    """A top-up by card through the payment gateway.

    The row is committed as PENDING before the gateway is called, so an
    approval can always be matched to it, and it is settled exactly once
    (SUCCEEDED with its CHARGE ledger row, or DECLINED).
    """

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        DECLINED = "DECLINED", "Declined"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="charges")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="charges")
    amount = models.BigIntegerField(help_text="Won.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Our idempotent id at the gateway: asking twice about one uid never charges twice.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    gateway_ref = models.CharField(max_length=255, blank=True, help_text="The gateway's own reference.")
    decline_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="charge_amount_positive"),
            models.CheckConstraint(
                condition=Q(status="PENDING", settled_at__isnull=True)
                | Q(settled_at__isnull=False, status__in=["SUCCEEDED", "DECLINED"]),
                name="charge_settled_at_matches_status",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="charge_status_created"),
            models.Index(fields=["wallet", "status"], name="charge_wallet_status"),
        ]

    def __str__(self) -> str:
        return f"Charge {self.pk} ₩{self.amount:,} ({self.status})"

    @property
    def reference(self) -> str:
        return f"charge:{self.pk}"
