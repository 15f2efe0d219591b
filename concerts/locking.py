"""The per-user hold lock of the booking transactions; their global lock order is in core.locking."""

from __future__ import annotations

from django.db import connection


def user_concert_lock_condition(*, user_id: int, concert_id: int) -> tuple[str, list[int]]:
    """Serialize one user's holds on one concert (for the per-performance hold limit)
    without locking any shared row, so other users' holds never wait on it. Keyed by
    concert, not performance, so it can be taken before the seat lookup that finds
    the performance; one user's holds on two dates of a concert merely take turns.

    A transaction-scoped PostgreSQL advisory lock, as a condition (SQL and its
    parameters) to AND into the WHERE of the transaction's first query: an
    uncorrelated subquery, so PostgreSQL evaluates it once, as a one-time filter,
    before the query reads (or locks) a single row. The rows that query reads were
    read after the lock was granted, but its snapshot was taken before: re-read under
    the lock, in a later statement, whatever the lock protects. On SQLite the
    condition is always true: BEGIN IMMEDIATE already serializes every writer.
    Caller must be inside ``transaction.atomic()``.
    """
    assert connection.in_atomic_block, "the user's hold lock needs a transaction"
    if connection.vendor != "postgresql":
        return "1 = 1", []
    # Two int4 keys: (concert, user). Ids beyond int4 wrap, which can only make two
    # unrelated pairs share a lock, never skip one. The lock returns void, never NULL.
    return "(SELECT pg_advisory_xact_lock(%s::int4, %s::int4)) IS NOT NULL", [_int4(concert_id), _int4(user_id)]


def _int4(value: int) -> int:
    return ((value + 2**31) % 2**32) - 2**31
