"""The database backend: passes are rows of `QueuePass`.

Order comes from the row id (a database sequence: monotonic, no hot counter
row). A position is not a count of the whole line: the line is cut into blocks
of ``BLOCK_SIZE`` order keys, and `QueueBlock` keeps how many *sealed* passes
still wait in each. A position adds the blocks ahead (one row per block), the
waiting passes ahead in the pass's own block (at most ``BLOCK_SIZE`` index
entries) and the passes joined since the last tick that no block counts yet.
The tick seals those into their blocks; every departure of a sealed waiting
pass (admission, idle expiry, leaving, ending, staff) takes it out of its
block's count in the same transaction, read off the departing row itself
(``RETURNING``), so a departure racing a seal is counted exactly once.

Locks (the global order is in core.locking): admission, instant entry and the
seal lock the concert's `ConcertQueue` row, then update pass rows, then block
rows (all of a transaction's block changes in one statement, in block order);
a departure outside that lock (leaving, ending) locks its one pass row, then
its one block row. A joiner's insert takes no lock a long line contends on.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.backends.postgresql.psycopg_any import is_psycopg3
from django.db.models import F
from django.utils import timezone

from queue_app.backends.base import ACTIVE, EXPIRED, WAITING, Admission, JoinResult, PassRecord, TickResult
from queue_app.models import ConcertQueue, QueuePass

LIVE = (WAITING, ACTIVE)
# Rows per INSERT when a bulk load cannot use PostgreSQL's COPY.
BULK_CHUNK = 5000
# What a bulk load's COPY writes, in order (the other columns stay NULL).
_COPY_COLUMNS = (
    "id",
    "token",
    "concert_id",
    "user_id",
    "status",
    "order_key",
    "prequeue",
    "poll_after",
    "expires_at",
    "created_at",
    "end_reason",
    "sealed",
)
# Order keys per block of the line (see the module's docstring).
BLOCK_SIZE = 1024

# A pass by its token in one statement, on SQLite and PostgreSQL alike (the hot paths:
# the poll and the booking gate). The poll's adds the count of those ahead, taken only
# for a waiting pass, on the partial index of the waiting line.
_PASS_COLUMNS = "p.concert_id, p.user_id, p.status, p.order_key, p.prequeue, p.poll_after, p.expires_at"
_GET_SQL = f"SELECT {_PASS_COLUMNS}, NULL FROM queue_app_queuepass p WHERE p.token = %s"
# The start of a key's block, floor division on both databases (whose % keeps the sign;
# doubled: every statement using it has parameters).
_BLOCK_START = f"(p.order_key - ((p.order_key %% {BLOCK_SIZE}) + {BLOCK_SIZE}) %% {BLOCK_SIZE})"
# Waiting ahead of pass p: sealed ones in earlier blocks (their counts), every waiting
# one ahead in p's own block, and unsealed ones in earlier blocks (joined since the tick).
_AHEAD_SQL = f"""
(SELECT COALESCE(SUM(b.waiting), 0) FROM queue_app_queueblock b
  WHERE b.concert_id = p.concert_id AND b.start < {_BLOCK_START})
+ (SELECT COUNT(*) FROM queue_app_queuepass q
  WHERE q.concert_id = p.concert_id AND q.status = 'WAITING'
    AND q.order_key >= {_BLOCK_START} AND q.order_key < p.order_key)
+ (SELECT COUNT(*) FROM queue_app_queuepass q
  WHERE q.concert_id = p.concert_id AND q.status = 'WAITING' AND NOT q.sealed
    AND q.order_key < {_BLOCK_START})
"""
_POLL_SQL = f"""
SELECT {_PASS_COLUMNS}, CASE WHEN p.status = 'WAITING' THEN {_AHEAD_SQL} END
FROM queue_app_queuepass p
WHERE p.token = %s
"""
_LIVE_SQL = "status IN ('WAITING', 'ACTIVE')"
# A join on PostgreSQL in one statement: the id (the place in line) drawn from the
# sequence, the insert skipped if the user has a live pass, and the new pass's count
# ahead returned with it.
_JOIN_SQL = f"""
WITH n AS (SELECT nextval(%s) AS id)
INSERT INTO queue_app_queuepass AS p
    (id, token, concert_id, user_id, status, order_key, prequeue, poll_after, expires_at, created_at, end_reason,
     sealed)
SELECT n.id, %s, %s, %s, 'WAITING', n.id, %s, %s, %s, %s, '', FALSE FROM n
ON CONFLICT (user_id, concert_id) WHERE {_LIVE_SQL} DO NOTHING
RETURNING p.id, {_AHEAD_SQL}
"""
_LIVE_PASS_SQL = f"""
SELECT p.token, {_PASS_COLUMNS} FROM queue_app_queuepass p
WHERE p.concert_id = %s AND p.user_id = %s AND p.{_LIVE_SQL}
"""


def block_start(order_key: int) -> int:
    return order_key - order_key % BLOCK_SIZE


def _fetch(sql: str, token: uuid.UUID) -> tuple[PassRecord | None, int | None]:
    """The pass (None if unknown) and the count ahead if the statement took one."""
    token_db = QueuePass._meta.get_field("token").get_db_prep_value(token, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_db])
        row = cursor.fetchone()
    if row is None:
        return None, None
    concert_id, user_id, status, order_key, prequeue, poll_after, expires_at, ahead = row
    if settings.USE_TZ and timezone.is_naive(expires_at):  # SQLite hands back naive UTC
        expires_at = expires_at.replace(tzinfo=dt.UTC)
    record = _pass_record(token, concert_id, user_id, status, order_key, bool(prequeue), poll_after, expires_at)
    return record, ahead


def _pass_record(
    token: uuid.UUID,
    concert_id: int,
    user_id: int,
    status: str,
    order_key: int | None,
    prequeue: bool,
    poll_after: int,
    expires_at: dt.datetime,
) -> PassRecord:
    """A row's fields as a PassRecord: an undrawn pre-queue pass (still at its positive
    arrival key) has no place in line yet."""
    undrawn = prequeue and order_key is not None and order_key > 0
    return PassRecord(
        token=token,
        concert_id=concert_id,
        user_id=user_id,
        status=status,
        order_key=None if undrawn else order_key,
        prequeue=prequeue,
        poll_after=poll_after,
        expires_at=expires_at,
    )


def _record(p: QueuePass) -> PassRecord:
    return _pass_record(p.token, p.concert_id, p.user_id, p.status, p.order_key, p.prequeue, p.poll_after, p.expires_at)


def _lock_concert(concert_id: int) -> ConcertQueue:
    queue, _ = ConcertQueue.objects.get_or_create(concert_id=concert_id)
    return ConcertQueue.objects.select_for_update().get(pk=queue.pk)


class DatabaseBackend:
    name = "database"

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
        fields = dict(
            concert_id=concert_id,
            user_id=user_id,
            now=now,
            prequeue=prequeue,
            waiting_until=waiting_until,
            poll_after=poll_after,
        )
        if connection.vendor == "postgresql":
            record, created, ahead = self._join_one_statement(**fields)
        else:
            (record, created), ahead = self._join(**fields), None
        if not created:
            return JoinResult(record, False, None)
        if admission is not None:
            if ahead is None:
                ahead = self._ahead(concert_id, record.order_key)[: admission.cap].count()
            admitted = self._admit_through(record, ahead, admission, now)
            if admitted is not None:
                return JoinResult(admitted, True, None)
        return JoinResult(record, True, None if ahead is None or prequeue else ahead + 1)

    def _join_one_statement(
        self,
        *,
        concert_id: int,
        user_id: int,
        now: dt.datetime,
        prequeue: bool,
        waiting_until: dt.datetime,
        poll_after: int,
    ) -> tuple[PassRecord, bool, int | None]:
        """PostgreSQL: the insert with its count ahead in one statement; a user who has a
        live pass gets it back (one more read), a lapsed one is ended first."""
        token = uuid.uuid4()
        with connection.cursor() as cursor:
            cursor.execute(
                _JOIN_SQL,
                [_sequence(), token, concert_id, user_id, prequeue, poll_after, waiting_until, now],
            )
            row = cursor.fetchone()
        if row is not None:
            pk, ahead = row
            record = _pass_record(token, concert_id, user_id, WAITING, pk, prequeue, poll_after, waiting_until)
            return record, True, ahead
        with connection.cursor() as cursor:
            cursor.execute(_LIVE_PASS_SQL, [concert_id, user_id])
            live = cursor.fetchone()
        if live is not None and live[7] > now:
            return _pass_record(live[0], *live[1:]), False, None
        if live is not None:  # lapsed, not swept yet: it ends, and a new pass takes the back
            with transaction.atomic():
                _end_where("token = %s AND expires_at <= %s", [live[0], now], now, "lapsed")
        return self._join_one_statement(
            concert_id=concert_id,
            user_id=user_id,
            now=now,
            prequeue=prequeue,
            waiting_until=waiting_until,
            poll_after=poll_after,
        )

    def _join(
        self,
        *,
        concert_id: int,
        user_id: int,
        now: dt.datetime,
        prequeue: bool,
        waiting_until: dt.datetime,
        poll_after: int,
    ) -> tuple[PassRecord, bool]:
        with transaction.atomic():
            existing = (
                QueuePass.objects.select_for_update()
                .filter(concert_id=concert_id, user_id=user_id, status__in=LIVE)
                .first()
            )
            if existing is not None:
                if existing.expires_at > now:
                    return _record(existing), False
                _end_where("id = %s", [existing.pk], now, "lapsed")
            try:
                with transaction.atomic():
                    created = QueuePass.objects.create(
                        concert_id=concert_id,
                        user_id=user_id,
                        prequeue=prequeue,
                        poll_after=poll_after,
                        expires_at=waiting_until,
                    )
                    # The id is the arrival sequence; it becomes the place in line.
                    QueuePass.objects.filter(pk=created.pk).update(order_key=created.pk)
                    created.order_key = created.pk
            except IntegrityError:
                created = None
        if created is not None:
            return _record(created), True
        # A concurrent request of the same user created the pass first: that one is theirs.
        winner = QueuePass.objects.filter(concert_id=concert_id, user_id=user_id, status__in=LIVE).first()
        if winner is None:  # it ended in between; ask again
            return self._join(
                concert_id=concert_id,
                user_id=user_id,
                now=now,
                prequeue=prequeue,
                waiting_until=waiting_until,
                poll_after=poll_after,
            )
        return _record(winner), False

    def admit_through(self, *, token: uuid.UUID, admission: Admission, now: dt.datetime) -> PassRecord | None:
        record = self.get(token)
        if record is None or record.status != WAITING or record.prequeue or record.order_key is None:
            return record
        ahead = self._ahead(admission.concert_id, record.order_key)[: admission.cap].count()
        return self._admit_through(record, ahead, admission, now) or self.get(token)

    def _admit_through(
        self, record: PassRecord, ahead: int, admission: Admission, now: dt.datetime
    ) -> PassRecord | None:
        """Instant entry for a new pass with ``ahead`` waiting before it: the pass as it
        is now if this tried (a joiner just behind may have admitted it), else None.
        Under load the line is longer than the cap and the joiner takes no lock at all."""
        if record.prequeue or admission.cap <= 0 or ahead >= admission.cap:
            return None
        with transaction.atomic():
            _lock_concert(admission.concert_id)
            room = admission.cap - self._active(admission.concert_id, now).count()
            front = self._admissible(admission.concert_id, now).filter(order_key__lte=record.order_key)
            if room > 0 and front[: room + 1].count() <= room:
                self._admit(admission, room, now, up_to=record.order_key)
        return self.get(record.token)

    def get(self, token: uuid.UUID) -> PassRecord | None:
        return _fetch(_GET_SQL, token)[0]

    def poll(self, token: uuid.UUID, *, now: dt.datetime) -> tuple[PassRecord | None, int | None]:
        """One statement: the pass and, while it waits, the count of those ahead
        (an index-only scan of the waiting line's partial index). Writes nothing: the
        caller touches the pass when its deadline or advice must move."""
        record, ahead = _fetch(_POLL_SQL, token)
        if record is None or record.status != WAITING or record.order_key is None or ahead is None:
            return record, None
        return record, ahead + 1

    def position(self, record: PassRecord) -> int:
        _, ahead = _fetch(_POLL_SQL, record.token)
        return (ahead or 0) + 1

    def touch(self, *, token: uuid.UUID, waiting_until: dt.datetime, poll_after: int) -> None:
        QueuePass.objects.filter(token=token, status=WAITING).update(expires_at=waiting_until, poll_after=poll_after)

    def leave(self, *, token: uuid.UUID, user_id: int, now: dt.datetime) -> bool:
        with transaction.atomic(savepoint=False):
            return _end_where(f"token = %s AND user_id = %s AND {_LIVE_SQL}", [token, user_id], now, "left") > 0

    def tick(self, *, admission: Admission, now: dt.datetime, admit: bool) -> TickResult:
        concert_id = admission.concert_id
        with transaction.atomic():
            _lock_concert(concert_id)
            idle_expired = _end_where(
                "concert_id = %s AND status = 'WAITING' AND expires_at <= %s", [concert_id, now], now, "idle"
            )
            active_expired = _end_where(
                "concert_id = %s AND status = 'ACTIVE' AND expires_at <= %s", [concert_id, now], now, "lapsed"
            )
            active = self._active(concert_id, now).count()
            admitted = 0
            if admit:
                admitted = self._admit(admission, min(admission.batch, admission.cap - active), now)
            _seal(concert_id)
            waiting = _waiting(concert_id)
        return TickResult(admitted, idle_expired, active_expired, waiting, active + admitted)

    def admit_now(self, *, admission: Admission, count: int, now: dt.datetime) -> int:
        with transaction.atomic():
            _lock_concert(admission.concert_id)
            room = admission.cap - self._active(admission.concert_id, now).count()
            return self._admit(admission, min(count, room), now)

    def draw_prequeue(self, *, concert_id: int, seed: int) -> int:
        with transaction.atomic():
            _lock_concert(concert_id)
            arrivals = list(
                QueuePass.objects.filter(concert_id=concert_id, prequeue=True, order_key__gt=0, status=WAITING)
                .order_by("order_key")
                .values_list("pk", flat=True)
            )
            if not arrivals:
                return 0
            drawn = prequeue_order(arrivals, seed)
            # Below every key in use, so a later draw (opening moved) still goes first.
            lowest = QueuePass.objects.filter(concert_id=concert_id, order_key__lt=0).order_by("order_key").first()
            first = lowest.order_key if lowest is not None else 0
            rows = [QueuePass(pk=pk, order_key=first - len(drawn) + i) for i, pk in enumerate(drawn)]
            QueuePass.objects.bulk_update(rows, ["order_key"], batch_size=1000)
            return len(rows)

    def extend(
        self, *, concert_id: int, user_id: int, until: dt.datetime, now: dt.datetime, longest: dt.timedelta
    ) -> dt.datetime | None:
        # Plain SQL: it runs on every hold, and building it through the ORM cost more than running it.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, expires_at, activated_at FROM queue_app_queuepass"
                " WHERE concert_id = %s AND user_id = %s AND status = %s AND expires_at > %s",
                [concert_id, user_id, ACTIVE, connection.ops.adapt_datetimefield_value(now)],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        pk, expires, activated = row
        if settings.USE_TZ and timezone.is_naive(expires):  # SQLite hands back naive UTC
            expires, activated = expires.replace(tzinfo=dt.UTC), activated and activated.replace(tzinfo=dt.UTC)
        target = min(until, (activated or now) + longest)
        if target <= expires:
            return expires
        QueuePass.objects.filter(pk=pk, status=ACTIVE).update(expires_at=target)
        return target

    def end(self, *, concert_id: int, user_id: int, now: dt.datetime, reason: str) -> bool:
        with transaction.atomic(savepoint=False):  # no savepoint: it runs inside the payment
            ended = _end_where(f"concert_id = %s AND user_id = %s AND {_LIVE_SQL}", [concert_id, user_id], now, reason)
            return ended > 0

    def expire_all(self, *, concert_id: int, now: dt.datetime) -> int:
        with transaction.atomic(savepoint=False):
            _lock_concert(concert_id)
            return _end_where(f"concert_id = %s AND {_LIVE_SQL}", [concert_id], now, "staff")

    def counts(self, *, concert_id: int, now: dt.datetime) -> tuple[int, int]:
        waiting = QueuePass.objects.filter(concert_id=concert_id, status=WAITING, expires_at__gt=now).count()
        return waiting, self._active(concert_id, now).count()

    def concerts_with_passes(self) -> list[int]:
        return list(
            QueuePass.objects.filter(status__in=LIVE).order_by().values_list("concert_id", flat=True).distinct()
        )

    def purge(self, *, ended_before: dt.datetime) -> int:
        deleted, _ = QueuePass.objects.filter(status=EXPIRED, ended_at__lt=ended_before).delete()
        # Waiting passes deleted outright (a user or concert deleted, a staff delete in the
        # admin) leave no departure behind: the periodic purge recounts the blocks.
        for concert_id in self.concerts_with_passes():
            with transaction.atomic():
                _lock_concert(concert_id)
                recount_blocks(concert_id)
        return deleted

    def bulk_load_waiting(
        self,
        *,
        concert_id: int,
        user_ids: Sequence[int],
        now: dt.datetime,
        waiting_until: dt.datetime,
        poll_after: int,
    ) -> list[uuid.UUID]:
        """In one transaction. On PostgreSQL one COPY, the ids (and so the order keys) drawn
        from the table's own sequence first; elsewhere INSERTs in chunks, each chunk's order
        keys then set to its ids, as `join` does."""
        users = list(user_ids)
        if len(set(users)) != len(users):
            raise ValueError("bulk_load_waiting: user_ids must be distinct")
        tokens = [uuid.uuid4() for _ in users]
        if not users:
            return tokens
        with transaction.atomic():
            if connection.vendor == "postgresql" and is_psycopg3:
                self._copy_waiting(concert_id, users, tokens, waiting_until, poll_after)
            else:
                for start in range(0, len(users), BULK_CHUNK):
                    chunk = tokens[start : start + BULK_CHUNK]
                    QueuePass.objects.bulk_create(
                        QueuePass(
                            token=token,
                            concert_id=concert_id,
                            user_id=user_id,
                            status=WAITING,
                            prequeue=False,
                            poll_after=poll_after,
                            expires_at=waiting_until,
                        )
                        for token, user_id in zip(chunk, users[start : start + BULK_CHUNK], strict=True)
                    )
                    QueuePass.objects.filter(token__in=chunk).update(order_key=F("pk"))
                _lock_concert(concert_id)
                _seal(concert_id)
        return tokens

    @staticmethod
    def _copy_waiting(
        concert_id: int,
        users: list[int],
        tokens: list[uuid.UUID],
        waiting_until: dt.datetime,
        poll_after: int,
    ) -> None:
        """COPY the passes in, with ids taken from the id sequence beforehand: no second
        write to set the order keys (and no dead rows left behind by one). They go in
        sealed, their blocks counted here."""
        table = QueuePass._meta.db_table
        columns = ", ".join(_COPY_COLUMNS)
        created = timezone.now()  # as auto_now_add stamps a joined pass
        with connection.cursor() as cursor, connection.wrap_database_errors:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(users)]
            )
            # Sorted: whatever order the values came back in, the users keep theirs.
            ids = sorted(row[0] for row in cursor.fetchall())
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for pk, token, user_id in zip(ids, tokens, users, strict=True):
                    copy.write_row(
                        (
                            pk,
                            token,
                            concert_id,
                            user_id,
                            WAITING.value,
                            pk,
                            False,
                            poll_after,
                            waiting_until,
                            created,
                            "",
                            True,
                        )
                    )
        _lock_concert(concert_id)
        _add_to_blocks(Counter((concert_id, block_start(pk)) for pk in ids))

    # --- helpers -------------------------------------------------------------
    @staticmethod
    def _ahead(concert_id: int, order_key: int):
        return QueuePass.objects.filter(concert_id=concert_id, status=WAITING, order_key__lt=order_key)

    @staticmethod
    def _active(concert_id: int, now: dt.datetime):
        return QueuePass.objects.filter(concert_id=concert_id, status=ACTIVE, expires_at__gt=now)

    @staticmethod
    def _admissible(concert_id: int, now: dt.datetime):
        """WAITING passes that may be admitted, in line order (pre-queue ones once drawn)."""
        return (
            QueuePass.objects.filter(concert_id=concert_id, status=WAITING, expires_at__gt=now)
            .exclude(prequeue=True, order_key__gt=0)
            .order_by("order_key")
        )

    @classmethod
    def _admit(cls, admission: Admission, count: int, now: dt.datetime, up_to: int | None = None) -> int:
        """Admit the first ``count`` in line. Caller holds the concert's ConcertQueue lock."""
        if count <= 0:
            return 0
        line = cls._admissible(admission.concert_id, now)
        if up_to is not None:
            line = line.filter(order_key__lte=up_to)
        front = list(line.values_list("pk", flat=True)[:count])
        if not front:
            return 0
        adapt = connection.ops.adapt_datetimefield_value
        if connection.vendor == "postgresql":
            ids_sql, ids = "id = ANY(%s)", [front]
        else:
            ids_sql, ids = f"id IN ({', '.join(['%s'] * len(front))})", front
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE queue_app_queuepass SET status = 'ACTIVE', expires_at = %s, activated_at = %s"
                f" WHERE {ids_sql} AND status = 'WAITING' RETURNING concert_id, order_key, sealed",
                [adapt(admission.active_until), adapt(now), *ids],
            )
            rows = cursor.fetchall()
        _add_to_blocks(Counter((c, block_start(k)) for c, k, sealed in rows if sealed), sign=-1)
        return len(rows)


def _sequence() -> str:
    """The pass id sequence's name (looked up once per process)."""
    global _SEQUENCE
    if _SEQUENCE is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence('queue_app_queuepass', 'id')")
            _SEQUENCE = cursor.fetchone()[0]
    return _SEQUENCE


_SEQUENCE: str | None = None


def _end_where(where: str, params: list, now: dt.datetime, reason: str) -> int:
    """End the live passes ``where`` selects (it must select live ones only); each sealed
    one that was waiting (never activated) leaves its block's count. In the caller's
    transaction."""
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(v) if isinstance(v, dt.datetime) else _db_token(v) for v in params]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE queue_app_queuepass SET status = 'EXPIRED', ended_at = %s, end_reason = %s WHERE {where}"
            " RETURNING concert_id, order_key, sealed, activated_at",
            [adapt(now), reason, *params],
        )
        rows = cursor.fetchall()
    _add_to_blocks(
        Counter((c, block_start(k)) for c, k, sealed, activated in rows if sealed and activated is None), sign=-1
    )
    return len(rows)


def _db_token(value):
    if isinstance(value, uuid.UUID):
        return QueuePass._meta.get_field("token").get_db_prep_value(value, connection)
    return value


def _add_to_blocks(counts: Counter, sign: int = 1) -> None:
    """Add (or with ``sign`` -1 take) ``counts`` {(concert, block start): n} to the blocks'
    waiting counts: one statement, rows in block order (the lock order)."""
    rows = sorted((key, sign * n) for key, n in counts.items() if n)
    if not rows:
        return
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    params = [v for (concert_id, start), n in rows for v in (concert_id, start, n)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO queue_app_queueblock (concert_id, start, waiting) VALUES {values}"
            " ON CONFLICT (concert_id, start) DO UPDATE SET waiting = queue_app_queueblock.waiting + excluded.waiting",
            params,
        )


def _seal(concert_id: int) -> None:
    """Count the passes joined since the last seal into their blocks (an undrawn
    pre-queue pass has no place yet and waits for the draw). Caller holds the
    concert's ConcertQueue lock; blocks left empty are dropped."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE queue_app_queuepass SET sealed = TRUE WHERE concert_id = %s AND status = 'WAITING'"
            " AND NOT sealed AND NOT (prequeue AND order_key > 0) RETURNING order_key",
            [concert_id],
        )
        keys = [k for (k,) in cursor.fetchall()]
        _add_to_blocks(Counter((concert_id, block_start(k)) for k in keys))
        cursor.execute("DELETE FROM queue_app_queueblock WHERE concert_id = %s AND waiting = 0", [concert_id])


def _waiting(concert_id: int) -> int:
    """Everyone waiting: the blocks' counts and the passes no block counts yet."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT COALESCE(SUM(waiting), 0) FROM queue_app_queueblock WHERE concert_id = %s)"
            " + (SELECT COUNT(*) FROM queue_app_queuepass WHERE concert_id = %s AND status = 'WAITING' AND NOT sealed)",
            [concert_id, concert_id],
        )
        return cursor.fetchone()[0]


def recount_blocks(concert_id: int) -> None:
    """The blocks' counts recomputed from the passes themselves. Caller holds the
    concert's ConcertQueue lock."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM queue_app_queueblock WHERE concert_id = %s", [concert_id])
        cursor.execute(
            "INSERT INTO queue_app_queueblock (concert_id, start, waiting)"
            f" SELECT p.concert_id, {_BLOCK_START}, COUNT(*) FROM queue_app_queuepass p"
            " WHERE p.concert_id = %s AND p.status = 'WAITING' AND p.sealed"
            " GROUP BY p.concert_id, 2",
            [concert_id],
        )


def prequeue_order(arrivals: list, seed: int) -> list:
    """The pre-queue's drawn order: a seeded shuffle of the arrival order.
    Pure, so anyone with the recorded seed and the arrival list can replay it."""
    drawn = list(arrivals)
    random.Random(seed).shuffle(drawn)
    return drawn
