from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from queue_app.rules import booking_is_open


class Concert(models.Model):
    title = models.CharField(max_length=200)
    artist = models.CharField(max_length=200)
    venue = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Null or past: open. Before it, passes form a pre-queue drawn at opening.
    booking_opens_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.title} — {self.artist}"

    def is_open(self, now: dt.datetime | None = None) -> bool:
        return booking_is_open(self.booking_opens_at, now or timezone.now())


class Performance(models.Model):
    concert = models.ForeignKey(Concert, on_delete=models.CASCADE, related_name="performances")
    date = models.DateField(help_text="Local date of the show (TIME_ZONE).")
    start_time = models.TimeField(default=dt.time(19, 30))

    class Meta:
        ordering = ["concert_id", "date"]
        constraints = [
            models.UniqueConstraint(fields=["concert", "date"], name="one_performance_per_concert_per_date"),
        ]

    def __str__(self) -> str:
        return f"{self.concert.title} on {self.date:%Y-%m-%d}"

    @property
    def starts_at(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.date, self.start_time))


class Seat(models.Model):
    performance = models.ForeignKey(Performance, on_delete=models.CASCADE, related_name="seats")
    number = models.PositiveSmallIntegerField()
    grade = models.CharField(max_length=20, default="S")
    price = models.BigIntegerField(help_text="Won, at least 1.")

    class Meta:
        ordering = ["performance_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["performance", "number"], name="seat_number_unique_per_performance"),
            models.CheckConstraint(condition=Q(number__gte=1), name="seat_number_positive"),
            # No free seats: paying debits the price, and every payment is a ledger row.
            models.CheckConstraint(
                condition=Q(price__gte=1),
                name="seat_price_positive",
                violation_error_message="A seat costs at least 1 won.",
            ),
        ]

    def __str__(self) -> str:
        return f"Seat {self.number} ({self.grade})"


class Reservation(models.Model):
    class Status(models.TextChoices):
        HELD = "HELD", "Held"
        CONFIRMED = "CONFIRMED", "Confirmed"
        EXPIRED = "EXPIRED", "Expired"
        CANCELLED = "CANCELLED", "Cancelled"
        REFUNDED = "REFUNDED", "Refunded"

    LIVE = (Status.HELD, Status.CONFIRMED)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reservations")
    performance = models.ForeignKey(Performance, on_delete=models.PROTECT, related_name="reservations")
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="reservations")
    price = models.BigIntegerField(help_text="Won, the seat's price when it was held.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    held_until = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # The database itself guarantees one live reservation per seat.
            models.UniqueConstraint(
                fields=["seat"],
                condition=Q(status__in=["HELD", "CONFIRMED"]),
                name="one_live_reservation_per_seat",
            ),
            models.CheckConstraint(condition=Q(price__gte=1), name="reservation_price_positive"),
        ]
        indexes = [
            models.Index(fields=["user", "performance", "status"], name="reservation_user_perf_status"),
            models.Index(fields=["status", "held_until"], name="reservation_status_held_until"),
        ]

    def __str__(self) -> str:
        return f"Reservation {self.pk} ({self.status})"

    def is_live_hold(self, now: dt.datetime | None = None) -> bool:
        return self.status == self.Status.HELD and self.held_until > (now or timezone.now())
