"""The per-user hold lock of the booking transactions; their global lock order is in core.locking."""

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
