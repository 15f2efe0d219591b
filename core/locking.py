"""The one global order in which booking transactions take their locks.

Every transaction that takes more than one of these takes them in this order,
which rules out deadlocks between holds, payments, refunds, charges and sweeps:

  1. idempotency key       (core.idempotency: a claim row, committed before the business transaction,
                            or a payment's first statement)
  2. the user's per-concert hold lock  (concerts.locking.user_concert_lock_condition, holds only)
  3. seat                  (Seat ... select_for_update)
  4. charge                (wallet.services, charges only)
  5. reservation           (concerts.selectors.reservation_lock_for_payment / reservation_get(for_update=True))
  6. wallet                (wallet.services)
  7. queue pass            (queue_app: its row; on Redis a script, atomic by itself,
                            that a rollback of the database transaction does not undo)

Rows of one kind are locked in primary-key order. Waits are bounded by the
connection's ``lock_timeout`` (settings.LOCK_TIMEOUT_MS): a timeout becomes a 503
SERVICE_UNAVAILABLE problem, never a hung request. docs/locking.md explains why.
"""

LOCK_ORDER = (
    "idempotency key",
    "user hold lock",
    "seat",
    "charge",
    "reservation",
    "wallet",
    "queue pass",
)
