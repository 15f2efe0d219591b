"""The database backend: passes are rows of `QueuePass`.

Order comes from the row id (a database sequence: monotonic, no hot counter
row). A position is an index-only count of the WAITING passes ahead, O(ahead):
fine to ~10k waiting; past that use the Redis backend.

Locks (the global order is in core.locking): admission and instant entry lock
the concert's `ConcertQueue` row, then update pass rows, so two tickers (or a
ticker and a joiner) never exceed the cap together; a joiner has committed its
WAITING row before it asks for that lock, so it holds no pass row while it waits.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.backends.postgresql.psycopg_any import is_psycopg3
from django.db.models import F, Q
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
)

# A pass by its token in one statement, on SQLite and PostgreSQL alike (the hot paths:
# the poll and the booking gate). The poll's adds the count of those ahead, taken only
# for a waiting pass, on the partial index of the waiting line.
_PASS_COLUMNS = "p.concert_id, p.user_id, p.status, p.order_key, p.prequeue, p.poll_after, p.expires_at"
_GET_SQL = f"SELECT {_PASS_COLUMNS}, NULL FROM queue_app_queuepass p WHERE p.token = %s"
_POLL_SQL = f"""
SELECT {_PASS_COLUMNS},
       CASE WHEN p.status = 'WAITING' THEN (
           SELECT COUNT(*) FROM queue_app_queuepass q
           WHERE q.concert_id = p.concert_id AND q.status = 'WAITING' AND q.order_key < p.order_key
       ) END
FROM queue_app_queuepass p
WHERE p.token = %s
"""


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
        record, created = self._join(
            concert_id=concert_id,
            user_id=user_id,
            now=now,
            prequeue=prequeue,
            waiting_until=waiting_until,
            poll_after=poll_after,
        )
        if created and admission is not None:
            record = self.admit_through(token=record.token, admission=admission, now=now) or record
        return JoinResult(record, created, None)

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
                self._end_rows(QueuePass.objects.filter(pk=existing.pk), now, "lapsed")
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
        mine = (
            QueuePass.objects.filter(token=token, status=WAITING, prequeue=False)
            .values_list("order_key", flat=True)
            .first()
        )
        # Cheap bounded check first: under load the line is longer than the cap and
        # the joiner takes no lock at all.
        if (
            mine is not None
            and admission.cap > 0
            and self._ahead(admission.concert_id, mine)[: admission.cap].count() < admission.cap
        ):
            with transaction.atomic():
                _lock_concert(admission.concert_id)
                room = admission.cap - self._active(admission.concert_id, now).count()
                front = self._admissible(admission.concert_id, now).filter(order_key__lte=mine)
                if room > 0 and front[: room + 1].count() <= room:
                    self._admit(admission, room, now, up_to=mine)
        # As it is now: a joiner just behind may have admitted this pass already.
        return self.get(token)

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
        order_key = record.order_key
        if order_key is None:  # undrawn pre-queue pass: its arrival key
            order_key = QueuePass.objects.filter(token=record.token).values_list("order_key", flat=True).get()
        return self._ahead(record.concert_id, order_key).count() + 1

    def touch(self, *, token: uuid.UUID, waiting_until: dt.datetime, poll_after: int) -> None:
        QueuePass.objects.filter(token=token, status=WAITING).update(expires_at=waiting_until, poll_after=poll_after)

    def leave(self, *, token: uuid.UUID, user_id: int, now: dt.datetime) -> bool:
        rows = QueuePass.objects.filter(token=token, user_id=user_id, status__in=LIVE)
        return self._end_rows(rows, now, "left") > 0

    def tick(self, *, admission: Admission, now: dt.datetime, admit: bool) -> TickResult:
        concert_id = admission.concert_id
        with transaction.atomic():
            _lock_concert(concert_id)
            lapsed = QueuePass.objects.filter(concert_id=concert_id, status__in=LIVE, expires_at__lte=now)
            idle_expired = self._end_rows(lapsed.filter(status=WAITING), now, "idle")
            active_expired = self._end_rows(lapsed.filter(status=ACTIVE), now, "lapsed")
            active = self._active(concert_id, now).count()
            admitted = 0
            if admit:
                admitted = self._admit(admission, min(admission.batch, admission.cap - active), now)
            waiting = QueuePass.objects.filter(concert_id=concert_id, status=WAITING).count()
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
        rows = QueuePass.objects.filter(concert_id=concert_id, user_id=user_id, status__in=LIVE)
        return self._end_rows(rows, now, reason) > 0

    def expire_all(self, *, concert_id: int, now: dt.datetime) -> int:
        rows = QueuePass.objects.filter(concert_id=concert_id, status__in=LIVE)
        return self._end_rows(rows, now, "staff")

    def counts(self, *, concert_id: int, now: dt.datetime) -> tuple[int, int]:
        waiting = QueuePass.objects.filter(concert_id=concert_id, status=WAITING, expires_at__gt=now).count()
        return waiting, self._active(concert_id, now).count()

    def concerts_with_passes(self) -> list[int]:
        return list(
            QueuePass.objects.filter(status__in=LIVE).order_by().values_list("concert_id", flat=True).distinct()
        )

    def purge(self, *, ended_before: dt.datetime) -> int:
        deleted, _ = QueuePass.objects.filter(status=EXPIRED, ended_at__lt=ended_before).delete()
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
        write to set the order keys (and no dead rows left behind by one)."""
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
                        )
                    )

    # --- helpers -------------------------------------------------------------
    @staticmethod
    def _ahead(concert_id: int, order_key: int):
        return QueuePass.objects.filter(concert_id=concert_id, status=WAITING, order_key__lt=order_key)

    @staticmethod
    def _active(concert_id: int, now: dt.datetime):
        return QueuePass.objects.filter(concert_id=concert_id, status=ACTIVE, expires_at__gt=now)

    @staticmethod
    def _end_rows(rows, now: dt.datetime, reason: str) -> int:
        return rows.update(status=EXPIRED, ended_at=now, end_reason=reason)

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
        return QueuePass.objects.filter(Q(pk__in=front), status=WAITING).update(
            status=ACTIVE, expires_at=admission.active_until, activated_at=now
        )


def prequeue_order(arrivals: list, seed: int) -> list:
    """The pre-queue's drawn order: a seeded shuffle of the arrival order.
    Pure, so anyone with the recorded seed and the arrival list can replay it."""
    drawn = list(arrivals)
    random.Random(seed).shuffle(drawn)
    return drawn
