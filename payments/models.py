from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from concerts.models import Reservation


class Payment(models.Model):
    """One paid reservation: the debit from the balance that confirmed it."""

    class Status(models.TextChoices):
        PAID = "PAID", "Paid"
        REFUNDED = "REFUNDED", "Refunded"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    reservation = models.OneToOneField(Reservation, on_delete=models.PROTECT, related_name="payment")
    amount = models.BigIntegerField(help_text="Won.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PAID)
    paid_at = models.DateTimeField()
    refunded_at = models.DateTimeField(null=True, blank=True)
    refunded_by_staff = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]
        # Refunding moves money back to a fan: its own permission, not implied by viewing or editing.
        permissions = [("refund_payment", "Can refund paid tickets")]

    def __str__(self) -> str:
        return f"Payment {self.pk} for reservation {self.reservation_id} ({self.status})"


class OutboxEmail(models.Model):
    """An email written in the same transaction as the change it reports, so it is
    never lost: a task sends it after commit and the dispatcher retries failures."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        SENT = "SENT", "Sent"
        FAILED = "FAILED", "Failed (gave up)"

    key = models.CharField(max_length=100, unique=True, help_text="One email per event, e.g. payment:12:paid.")
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    text = models.TextField()
    html = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.key} → {self.to} ({self.status})"
