"""The waiting room's storage interface. Two implementations: the database
(default; SQLite or PostgreSQL) and Redis (sorted sets and Lua scripts).

A backend stores passes and keeps the line; it knows nothing of HTTP, ETAs or
poll advice, which `queue_app.services` derives the same way for both. Every
method that changes more than one thing does it atomically: one database
transaction with the concert's admission row locked, or one Lua script.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from django.db import models


class PassStatus(models.TextChoices):
    """A pass's status, the one definition for the backends, the model and the API.
    Defined here rather than in models.py because TextChoices needs no app registry."""

    WAITING = "WAITING", "Waiting"
    ACTIVE = "ACTIVE", "Active"
    EXPIRED = "EXPIRED", "Expired"


# Short names for the many comparisons in the backends and services.
WAITING = PassStatus.WAITING
ACTIVE = PassStatus.ACTIVE
EXPIRED = PassStatus.EXPIRED


@dataclass(frozen=True)
class PassRecord:
    token: uuid.UUID
    concert_id: int
    user_id: int
    status: str
    # Lower goes first; None for a pre-queue pass not yet drawn.
    order_key: int | None
    prequeue: bool
    poll_after: int
    # ACTIVE: when the pass ends. WAITING: when it is dropped unless polled again.
    expires_at: dt.datetime

    def effective_status(self, now: dt.datetime) -> str:
        """The status as of ``now``: a pass past its expiry is EXPIRED whether or not a sweep ran."""
        if self.status != EXPIRED and self.expires_at <= now:
            return EXPIRED
        return self.status


@dataclass(frozen=True)
class Admission:
    """What one concert's admission step may do."""

    concert_id: int
    batch: int
    cap: int
    active_until: dt.datetime


@dataclass(frozen=True)
class JoinResult:
    record: PassRecord
    created: bool
    # 1 + those waiting ahead, for a pass left WAITING in a drawn place; else None.
    position: int | None


@dataclass(frozen=True)
class TickResult:
    admitted: int
    idle_expired: int
    active_expired: int
    waiting: int
    active: int


class QueueBackend(Protocol):
    name: str

    def join(
        self,
        *,
        concert_id: int,
        user_id: int,
        now: dt.datetime,
        prequeue: bool,
        waiting_until: dt.datetime,
        poll_after: int,
        admission: Admission | None = None,
    ) -> JoinResult:
        """The user's live pass for the concert, or a new WAITING pass at the back (created=True),
        in one round trip. A pass past its expiry is ended first, so the new one goes to the back.

        With ``admission`` (booking open, not paused, pre-queue drawn), a new pass gets instant
        entry atomically with the cap: if it and everyone admissible waiting ahead of it fit under
        the cap, they are all admitted now, in order; else it waits for the ticker. While the line
        is longer than the cap this takes no per-concert lock. The result carries the position
        of a pass left WAITING in a drawn place (None otherwise), read in the same round trip."""

    def get(self, token: uuid.UUID) -> PassRecord | None: ...

    def poll(self, token: uuid.UUID, *, now: dt.datetime) -> tuple[PassRecord | None, int | None]:
        """What a poll reads, in one round trip: the pass (None if unknown) and, while it
        WAITs in a drawn place, its position (else None). A backend may also push a live
        WAITING pass's idle deadline out here, as `touch` would with its last advice;
        the record returned then shows the new deadline."""

    def position(self, record: PassRecord) -> int:
        """1 + the number of WAITING passes ahead of this one (drawn or not yet drawn)."""

    def touch(self, *, token: uuid.UUID, waiting_until: dt.datetime, poll_after: int) -> None:
        """A poll: push a WAITING pass's idle deadline out and record the advice given."""

    def leave(self, *, token: uuid.UUID, user_id: int, now: dt.datetime) -> bool:
        """End the user's own pass (leave the line or give up the active pass)."""

    def tick(self, *, admission: Admission, now: dt.datetime, admit: bool) -> TickResult:
        """Drop idle and lapsed passes, then (if ``admit``) admit up to
        min(batch, cap - active) WAITING passes in order. Atomic; safe to run twice at once."""

    def draw_prequeue(self, *, concert_id: int, seed: int) -> int:
        """Order the undrawn pre-queue passes by a seeded shuffle of their arrival order,
        ahead of everyone who came later. Idempotent: passes already drawn stay put."""

    def extend(
        self, *, concert_id: int, user_id: int, until: dt.datetime, now: dt.datetime, longest: dt.timedelta
    ) -> dt.datetime | None:
        """Push the user's live ACTIVE pass's end out to ``until``, never shortening it and never
        past its activation + ``longest`` (the hard end no hold moves). Returns the pass's end
        afterwards; None when the user has no live ACTIVE pass for the concert."""

    def end(self, *, concert_id: int, user_id: int, now: dt.datetime, reason: str) -> bool:
        """End the user's live pass for the concert (e.g. after paying)."""

    def admit_now(self, *, admission: Admission, count: int, now: dt.datetime) -> int:
        """Staff: admit up to ``count`` now, still never past the cap."""

    def expire_all(self, *, concert_id: int, now: dt.datetime) -> int: ...

    def counts(self, *, concert_id: int, now: dt.datetime) -> tuple[int, int]:
        """(waiting, active) right now."""

    def concerts_with_passes(self) -> list[int]: ...

    def purge(self, *, ended_before: dt.datetime) -> int: ...

    def bulk_load_waiting(
        self,
        *,
        concert_id: int,
        user_ids: Sequence[int],
        now: dt.datetime,
        waiting_until: dt.datetime,
        poll_after: int,
    ) -> list[uuid.UUID]:
        """Append WAITING passes for ``user_ids`` at the back of the line, in that order, as
        `join` would one by one (not pre-queue, no instant entry), but in bulk: for benchmarks,
        load tests and imports. Returns the new tokens in the same order.

        Users must be distinct and hold no live pass for the concert, else ValueError (or
        the database's IntegrityError) and nothing is loaded. Unlike the other methods it is
        not one atomic step on Redis: the passes appear chunk by chunk, each behind the last;
        joins running meanwhile may interleave with them but never break their order."""
