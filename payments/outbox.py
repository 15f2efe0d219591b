"""The email outbox: rows written inside business transactions, sent after commit.

`outbox_send(id)` locks the row (skipping it if another worker has it), sends,
and marks it SENT in the same transaction, so two workers never send one email
twice. A crash after the SMTP server accepted the mail but before the commit
would resend it once more: delivery is at least once, and the row lock makes a
duplicate need exactly that crash. Such a resend carries the same ``Message-ID``
(derived from the row, see `message_id`), so mail systems and clients that
de-duplicate by it show the fan one email (tests/reliability/test_kills.py).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from core.fields import fit
from payments.models import OutboxEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
MAX_BACKOFF = dt.timedelta(hours=1)


def outbox_add(
    *, key: str, to: str, subject: str, template: str, context: dict, now: dt.datetime | None = None
) -> OutboxEmail:
    """Queue an email in the caller's transaction and send it once that commits.
    One email per ``key``: adding the same key twice queues it once (one statement,
    ``INSERT ... ON CONFLICT DO NOTHING``, on PostgreSQL and SQLite alike)."""
    now = now or timezone.now()
    email = OutboxEmail(
        key=key,
        to=to,
        subject=fit(OutboxEmail, "subject", subject),
        text=render_to_string(f"payments/email/{template}.txt", context),
        html=render_to_string(f"payments/email/{template}.html", context),
        next_attempt_at=now,
        created_at=now,
    )
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_SQL,
            [email.key, email.to, email.subject, email.text, email.html, email.status, 0, adapt(now), "", adapt(now)],
        )
        row = cursor.fetchone()
    if row is None:  # queued before
        return OutboxEmail.objects.get(key=key)
    email.pk = row[0]
    email._state.adding = False
    email._state.db = connection.alias
    transaction.on_commit(lambda: _enqueue(email.pk))
    return email


_INSERT_SQL = """
INSERT INTO payments_outboxemail ("key", "to", subject, text, html, status, attempts, next_attempt_at, last_error,
                                  created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (key) DO NOTHING
RETURNING id
"""


def message_id(email: OutboxEmail) -> str:
    """The same for every attempt at one outbox row, and unique across rows."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >") or "encore.example"
    return f"<outbox.{email.pk}.{int(email.created_at.timestamp())}@{domain}>"


_broker = None


def _task_broker():
    """django-q2's broker, made once per process: ``async_task`` without one makes a new
    broker for every task, which on Redis is a new connection (and a read of the client's
    package metadata), most of a payment's CPU on that backend."""
    global _broker
    if _broker is None:
        from django_q.brokers import get_broker

        _broker = get_broker()
    return _broker


def _enqueue(email_id: int) -> None:
    from django_q.tasks import async_task

    try:
        async_task("payments.tasks.send_outbox_email", email_id, task_name=f"outbox-{email_id}", broker=_task_broker())
    except Exception:  # the broker is down: the scheduled dispatcher sends it later
        logger.exception("could not enqueue outbox email %s; the dispatcher will retry", email_id)


def outbox_send(*, email_id: int, now: dt.datetime | None = None) -> bool:
    """Send one pending email if it is due. Returns True if this call sent it."""
    now = now or timezone.now()
    with transaction.atomic():
        email = (
            OutboxEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, status=OutboxEmail.Status.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if email is None:
            return False
        email.attempts += 1
        try:
            message = EmailMultiAlternatives(
                email.subject,
                email.text,
                settings.DEFAULT_FROM_EMAIL,
                [email.to],
                headers={"Message-ID": message_id(email)},
            )
            if email.html:
                message.attach_alternative(email.html, "text/html")
            message.send()
        except Exception as exc:  # any transport failure: back off and retry later
            backoff = min(MAX_BACKOFF, dt.timedelta(seconds=30 * 2 ** (email.attempts - 1)))
            email.next_attempt_at = now + backoff
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]  # a TextField: bounded only to stay readable
            if email.attempts >= MAX_ATTEMPTS:
                email.status = OutboxEmail.Status.FAILED
                logger.error("giving up on outbox email %s after %s attempts", email.pk, email.attempts)
            email.save(update_fields=["attempts", "next_attempt_at", "last_error", "status"])
            return False
        email.status = OutboxEmail.Status.SENT
        email.sent_at = now
        email.last_error = ""
        email.save(update_fields=["attempts", "status", "sent_at", "last_error"])
        return True


def outbox_dispatch(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Send what is due (new or failed before). Safe on several workers at once."""
    now = now or timezone.now()
    due = list(
        OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(outbox_send(email_id=pk, now=now) for pk in due)
