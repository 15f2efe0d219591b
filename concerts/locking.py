"""Row locks for booking, and the one global order they are taken in.

Every transaction that takes more than one of these locks takes them in this
order, which rules out deadlocks between holds, payments, refunds and sweeps:

  1. idempotency key            (wallet.idempotency, before the business transaction)
  2. the user's per-concert hold lock  (`user_concert_lock`, holds only)
  3. seat                       (`Seat ... select_for_update()`)
  4. reservation                (`Reservation ... select_for_update()`)
  5. wallet                     (wallet.services)
  6. queue pass                 (queue_app: the pass row, or Redis after commit)

Rows of one kind are locked in primary-key order. Waits are bounded by the
connection's `lock_timeout` (settings.LOCK_TIMEOUT_MS): a timeout becomes a 503
SERVICE_UNAVAILABLE problem, never a hung request.
"""

from __future__ import annotations

from django.db import connection


def user_concert_lock(*, user_id: int, concert_id: int) -> None:
    """Serialize one user's holds on one concert (for the per-performance hold limit)
    without locking any shared row, so other users' holds never wait on it. Keyed by
    concert, not performance, so it can be taken before the seat lookup that finds
    the performance; one user's holds on two dates of a concert merely take turns.

    A transaction-scoped PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE already
    serializes every writer. Caller must be inside ``transaction.atomic()``.
    """
    assert connection.in_atomic_block, "user_concert_lock needs a transaction"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Two int4 keys: (concert, user). Ids beyond int4 wrap, which can only
            # make two unrelated pairs share a lock, never skip one.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s::int4, %s::int4)",
                [_int4(concert_id), _int4(user_id)],
            )


def _int4(value: int) -> int:
    return ((value + 2**31) % 2**32) - 2**31
