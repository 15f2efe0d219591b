"""``Idempotency-Key`` for requests that move money (charges and payments).

Usage in a DRF view (the whole request, validation included, becomes idempotent)::

    from core.idempotency import idempotent

    def post(self, request):
        return idempotent(request, scope="payment", handler=lambda: self._pay(request))

``handler`` takes no arguments and returns a DRF ``Response`` or raises (an
``ApplicationError``, a DRF ``ValidationError``...). Without the header it is
simply called. With it:

- the key (1-255 printable characters, else 400 VALIDATION_ERROR) is *claimed*
  for (user, scope, key) by inserting an ``IdempotencyRecord`` row, committed at
  once. The unique constraint makes exactly one of any number of concurrent
  requests the owner; the owner runs ``handler``;
- a 2xx response is stored on the row (status and JSON body) and kept 24 hours;
  a repeat with the same fingerprint (method, path, canonical JSON body) gets
  that response back - same status, same body, plus ``Idempotent-Replayed:
  true`` - and ``handler`` is not called: no money moves;
- a non-2xx response or an exception deletes the claim: failures are not
  stored, and the key may be retried after fixing the cause;
- the same key with another fingerprint is 422 IDEMPOTENCY_KEY_REUSED;
- a request that finds the key claimed by a request still running polls the
  row until that one finishes and then replays its response (or, if it failed,
  claims the key itself). It waits at most ``IDEMPOTENCY_WAIT_SECONDS``
  (default 10) and then answers 503 SERVICE_UNAVAILABLE with Retry-After.

Why a committed claim and not a row lock held across the handler: the charge
handler must call the card gateway outside any transaction, with its PENDING
charge row already committed. No transaction (and no connection-level lock) is
held while ``handler`` runs. A claim whose owner died (process killed) is taken
over after ``stale_claim_seconds()`` - longer than any handler can run given
the gateway and lock timeouts.

A handler whose work is one database transaction (the payment) needs no
committed claim: with ``in_transaction=True`` the claim is the first statement of
that transaction and the response is stored before it commits
(``run_idempotent_in_transaction``), so the request commits once instead of three
times. A repeat then waits on the claim's uncommitted unique index entry instead
of polling, with the same outcomes and the same 503 after
``IDEMPOTENCY_WAIT_SECONDS``; a killed owner's claim vanishes with its rollback.

Call it outside ``transaction.atomic()`` (views do; ``ATOMIC_REQUESTS`` is off).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import IdempotencyKeyReused, ServiceUnavailable, ValidationFailed, is_lock_timeout
from core.models import IdempotencyRecord

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Printable ASCII, as the OpenAPI schema says (header values are ASCII on the wire anyway).
KEY_PATTERN = r"^[\x20-\x7e]{1,255}$"
IDEMPOTENCY_TTL = dt.timedelta(hours=24)
REPLAY_HEADER = "Idempotent-Replayed"


# The header as the OpenAPI schema documents it on every endpoint that takes it.
IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        f"Optional, 1 to {MAX_KEY_LENGTH} printable ASCII characters, kept 24 hours per user. A repeat of a "
        "request that succeeded, with the same key and body, returns the first response (header "
        "Idempotent-Replayed: true) and moves no money; the same key with another body is 422 IDEMPOTENCY_KEY_REUSED."
    ),
)


class KeyInProgress(ServiceUnavailable):
    default_detail = (
        "A request with this Idempotency-Key is still being processed; retry in a moment to get its response."
    )


def wait_seconds() -> float:
    return float(getattr(settings, "IDEMPOTENCY_WAIT_SECONDS", 10))


def stale_claim_seconds() -> float:
    """After this long a claim without a response belongs to a request that died."""
    gateway = float(settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS)
    lock = float(getattr(settings, "LOCK_TIMEOUT_MS", 5000)) / 1000
    return max(60.0, 4 * gateway + 4 * lock + 30)


def check_key(raw: str | None) -> str | None:
    """The header's value if present and valid; 400 VALIDATION_ERROR if malformed."""
    if raw is None:
        return None
    if not re.fullmatch(KEY_PATTERN, raw):
        raise ValidationFailed(
            {HEADER: [f"Send at most {MAX_KEY_LENGTH} printable characters, e.g. a UUID."]},
            detail=f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable characters.",
        )
    return raw


def fingerprint(*, method: str, path: str, body: Any) -> str:
    """sha256 of method, path (trailing slash ignored) and the body as canonical JSON."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    raw = f"{method.upper()}\n{path.rstrip('/')}\n{canonical}"
    return hashlib.sha256(raw.encode()).hexdigest()


def request_fingerprint(request: Request) -> str:
    data = request.data  # an unparsable body raises ParseError: 400, nothing claimed
    if hasattr(data, "lists"):  # QueryDict from a form post
        data = dict(data.lists())
    return fingerprint(method=request.method, path=request.path, body=data)


def _claim(*, user_id: int, scope: str, key: str, fp: str, token: uuid.UUID) -> IdempotencyRecord | None:
    """Insert our claim, or return the row that holds the key (None: try again)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                user_id=user_id, scope=scope, key=key, fingerprint=fp, claim=token, claimed_at=now, created_at=now
            )
    except IntegrityError:
        pass  # someone holds (or held) this key
    record = IdempotencyRecord.objects.filter(user_id=user_id, scope=scope, key=key).first()
    if record is None:
        return None  # its owner failed and released it meanwhile
    if record.created_at <= now - IDEMPOTENCY_TTL:
        # Expired but not purged yet: the key is free again. The conditional
        # update lets exactly one of several concurrent takers win.
        taken = IdempotencyRecord.objects.filter(pk=record.pk, claim=record.claim).update(
            fingerprint=fp, claim=token, claimed_at=now, created_at=now, response_status=None, response_body=None
        )
        return IdempotencyRecord.objects.filter(pk=record.pk).first() if taken else None
    return record


def _take_over_stale(record: IdempotencyRecord, token: uuid.UUID) -> bool:
    cutoff = timezone.now() - dt.timedelta(seconds=stale_claim_seconds())
    if record.completed or record.claimed_at > cutoff:
        return False
    taken = IdempotencyRecord.objects.filter(pk=record.pk, claim=record.claim, response_status__isnull=True).update(
        claim=token, claimed_at=timezone.now()
    )
    if taken:
        logger.warning("took over stale idempotency claim %s (%s:%s)", record.pk, record.scope, record.key)
    return bool(taken)


def _release(pk: int, token: uuid.UUID) -> None:
    try:
        IdempotencyRecord.objects.filter(pk=pk, claim=token).delete()
    except DatabaseError:
        # The claim then ends as a stale one; never hide the request's own error behind this.
        logger.exception("could not release idempotency claim %s", pk)


def run_idempotent(
    *, user, scope: str, key: str, fingerprint: str, handler: Callable[[], tuple[int, Any]]
) -> tuple[int, Any, bool]:
    """Run ``handler() -> (status, json_body)`` at most once per (user, scope, key).

    Returns ``(status, body, replayed)``. The framework-free core of
    ``idempotent``; the wallet page uses it directly with a form token.
    """
    token = uuid.uuid4()
    deadline = time.monotonic() + wait_seconds()
    delay = 0.02
    while True:
        record = _claim(user_id=user.pk, scope=scope, key=key, fp=fingerprint, token=token)
        if record is not None:
            if record.claim == token:
                break
            if record.fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            if record.completed:
                return record.response_status, record.response_body, True
            if _take_over_stale(record, token):
                break
            if time.monotonic() >= deadline:
                raise KeyInProgress()
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
    try:
        status, body = handler()
    except BaseException:
        _release(record.pk, token)
        raise
    if 200 <= status < 300:
        try:
            stored = IdempotencyRecord.objects.filter(pk=record.pk, claim=token).update(
                response_status=status, response_body=body
            )
        except DatabaseError:
            # Money has moved: answer the success anyway. Repeats get 503 until the claim goes stale.
            logger.exception("could not store the response of idempotency claim %s", record.pk)
            stored = 1
        if not stored:
            logger.warning("idempotency claim %s was lost before its response could be stored", record.pk)
    else:
        _release(record.pk, token)
    return status, body, False


class _NotClaimable(Exception):
    """The key's row is one only the two-step path handles (expired, or a committed claim)."""


class _ClaimWaitTimedOut(Exception):
    """Another transaction still holds the key past the lock timeout."""


_CLAIM_SQL = """
INSERT INTO core_idempotencyrecord (user_id, scope, "key", fingerprint, claim, claimed_at, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT DO NOTHING
RETURNING id
"""


def run_idempotent_in_transaction(
    *, user, scope: str, key: str, fingerprint: str, handler: Callable[[], tuple[int, Any]]
) -> tuple[int, Any, bool]:
    """``run_idempotent`` for a handler whose work is one database transaction (a payment):
    the claim is the first statement of that transaction and the response is stored in it,
    so the request commits once, and a failure leaves no claim behind (it rolls back).

    A concurrent request with the same key waits on the claim's unique index entry until the
    first commits (then replays it) or rolls back (then claims the key itself). Each wait is
    bounded by LOCK_TIMEOUT_MS and retried until ``IDEMPOTENCY_WAIT_SECONDS`` have passed:
    then 503, as in ``run_idempotent``. A row that only the two-step path handles (expired
    but not purged, or claimed by it) sends the request down that path.
    """
    deadline = time.monotonic() + wait_seconds()
    while True:
        try:
            with transaction.atomic():
                pk, record = _claim_in_transaction(user_id=user.pk, scope=scope, key=key, fp=fingerprint)
                if record is not None:
                    return record.response_status, record.response_body, True
                status, body = handler()
                rows = IdempotencyRecord.objects.filter(pk=pk)
                if 200 <= status < 300:
                    rows.update(response_status=status, response_body=body)
                else:
                    rows.delete()
                return status, body, False
        except _ClaimWaitTimedOut:
            if time.monotonic() >= deadline:
                raise KeyInProgress() from None
        except _NotClaimable:
            return run_idempotent(user=user, scope=scope, key=key, fingerprint=fingerprint, handler=_atomic(handler))


def _atomic(handler: Callable[[], Any]) -> Callable[[], Any]:
    """``handler`` in a transaction of its own (for handlers whose services open no savepoint)."""

    def run() -> Any:
        with transaction.atomic():
            return handler()

    return run


def _claim_in_transaction(
    *, user_id: int, scope: str, key: str, fp: str
) -> tuple[int, None] | tuple[None, IdempotencyRecord]:
    """Claim the key in the caller's transaction (our row's id), or find the completed record
    to replay. Waits for a claim another transaction has not committed yet."""
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    token = IdempotencyRecord._meta.get_field("claim").get_db_prep_value(uuid.uuid4(), connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [user_id, scope, key, fp, token, adapt(now), adapt(now)])
            claimed = cursor.fetchone()
    except DatabaseError as exc:
        if is_lock_timeout(exc):
            raise _ClaimWaitTimedOut() from exc
        raise
    if claimed is not None:
        return claimed[0], None
    record = IdempotencyRecord.objects.filter(user_id=user_id, scope=scope, key=key).first()
    if record is None or record.created_at <= now - IDEMPOTENCY_TTL:
        raise _NotClaimable()  # purged meanwhile, or expired: the two-step path takes it over
    if record.fingerprint != fp:
        raise IdempotencyKeyReused()
    if not record.completed:
        raise _NotClaimable()
    return None, record


def idempotent(
    request: Request, *, scope: str, handler: Callable[[], Response], in_transaction: bool = False
) -> Response:
    """Make a DRF view's handling of ``request`` idempotent under its ``Idempotency-Key``.
    ``in_transaction``: the handler's work is one database transaction, opened here (its
    services may then skip their savepoints), and the claim and the response join it
    (``run_idempotent_in_transaction``)."""
    key = check_key(request.headers.get(HEADER))
    if key is None:
        return _atomic(handler)() if in_transaction else handler()
    fp = request_fingerprint(request)
    first: list[Response] = []

    def run() -> tuple[int, Any]:
        response = handler()
        first.append(response)
        body = None if response.data is None else json.loads(JSONRenderer().render(response.data))
        return response.status_code, body

    run_with_key = run_idempotent_in_transaction if in_transaction else run_idempotent
    status, body, replayed = run_with_key(user=request.user, scope=scope, key=key, fingerprint=fp, handler=run)
    if not replayed:
        return first[0]
    return Response(body, status=status, headers={REPLAY_HEADER: "true"})


def idempotency_purge(*, now: dt.datetime | None = None) -> int:
    """Delete records older than 24 hours; returns how many."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
