from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from queue_app.backends.base import PassStatus


class ConcertQueue(models.Model):
    """One concert's waiting-room settings (empty = the environment's default)
    and its admission lock: admission and the instant-entry path lock this row."""

    concert = models.OneToOneField("concerts.Concert", on_delete=models.CASCADE, primary_key=True, related_name="queue")
    admit_batch = models.PositiveIntegerField(
        null=True, blank=True, help_text="Admitted per interval; empty: QUEUE_ADMIT_BATCH."
    )
    max_active = models.PositiveIntegerField(
        null=True, blank=True, help_text="Cap on ACTIVE passes; empty: QUEUE_MAX_ACTIVE."
    )
    paused = models.BooleanField(default=False, help_text="Paused: nobody is admitted, the line keeps its order.")
    # The pre-queue draw: the seed is recorded so the order can be audited and replayed.
    prequeue_seed = models.BigIntegerField(null=True, blank=True, editable=False)
    prequeue_drawn_at = models.DateTimeField(null=True, blank=True, editable=False)
    prequeue_size = models.PositiveIntegerField(default=0, editable=False)
    # Written by each admission tick; read (cached) by every poll for its advice and ETA.
    waiting_estimate = models.PositiveIntegerField(default=0, editable=False)
    admit_rate = models.FloatField(null=True, blank=True, editable=False, help_text="Admitted per second, last minute.")

    class Meta:
        verbose_name = "waiting-room settings"
        verbose_name_plural = "waiting-room settings"

    def __str__(self) -> str:
        return f"Waiting room of {self.concert}"

    @property
    def batch(self) -> int:
        return self.admit_batch if self.admit_batch is not None else settings.QUEUE_ADMIT_BATCH

    @property
    def cap(self) -> int:
        return self.max_active if self.max_active is not None else settings.QUEUE_MAX_ACTIVE


class QueuePass(models.Model):
    """A waiting-room pass, as kept by the database backend.

    ``order_key`` orders the line: the row's own id (a database sequence, so it
    is monotonic whatever the clock says) for passes taken after opening, and
    -N..-1 for the drawn pre-queue. ``expires_at`` is when an ACTIVE pass ends,
    or when an idle WAITING pass will be dropped.
    """

    id = models.BigAutoField(primary_key=True)
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    concert = models.ForeignKey("concerts.Concert", on_delete=models.CASCADE, related_name="passes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queue_passes")
    status = models.CharField(max_length=8, choices=PassStatus.choices, default=PassStatus.WAITING)
    order_key = models.BigIntegerField(null=True, blank=True)
    prequeue = models.BooleanField(default=False)
    poll_after = models.PositiveIntegerField(default=1)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, blank=True)
    # Counted in its block's QueueBlock.waiting (set by the admission tick, under the
    # concert's lock); stays set once the pass leaves the line, which departures read.
    sealed = models.BooleanField(default=False, editable=False)

    class Meta:
        verbose_name_plural = "queue passes"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "concert"],
                condition=Q(status__in=["WAITING", "ACTIVE"]),
                name="one_live_pass_per_user_per_concert",
            ),
        ]
        indexes = [
            models.Index(fields=["concert", "status", "order_key"], name="queuepass_line"),
            # The poll's count of those ahead within its own block: an index-only scan.
            models.Index(fields=["concert", "order_key"], condition=Q(status="WAITING"), name="queuepass_waiting_line"),
            # The passes joined since the last tick, not yet in any block's count.
            models.Index(
                fields=["concert", "order_key"],
                condition=Q(status="WAITING", sealed=False),
                name="queuepass_unsealed_line",
            ),
            models.Index(fields=["status", "expires_at"], name="queuepass_status_expiry"),
            models.Index(fields=["ended_at"], name="queuepass_ended_at"),
        ]

    def __str__(self) -> str:
        return f"{self.token} ({self.status})"


class QueueBlock(models.Model):
    """How many sealed passes still wait in one block of a concert's line (the
    database backend). A block is the order keys [start, start + BLOCK_SIZE); a
    position adds the blocks ahead instead of counting every pass ahead. The tick
    seals new passes into their blocks; every departure from the line of a sealed
    pass takes it out, in the departure's transaction."""

    concert = models.ForeignKey("concerts.Concert", on_delete=models.CASCADE, related_name="+", db_index=False)
    start = models.BigIntegerField()
    waiting = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["concert", "start"], name="queueblock_concert_start")]

    def __str__(self) -> str:
        return f"{self.concert_id} from {self.start}: {self.waiting} waiting"


class QueueSnapshot(models.Model):
    """One admission tick of one concert: what the dashboard charts and the ETA's
    observed admission rate come from. Kept for an hour."""

    concert = models.ForeignKey("concerts.Concert", on_delete=models.CASCADE, related_name="queue_snapshots")
    at = models.DateTimeField(db_index=True)
    waiting = models.PositiveIntegerField()
    active = models.PositiveIntegerField()
    admitted = models.PositiveIntegerField()
    idle_expired = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["concert", "at"], name="queuesnapshot_concert_at")]

    def __str__(self) -> str:
        return f"{self.concert_id} at {self.at:%H:%M:%S}: {self.waiting} waiting"
