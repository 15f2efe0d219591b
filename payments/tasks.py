"""django-q2 entry points of the payments app (thin: they call services); schedules in schedules.py."""

from payments import outbox


def send_outbox_email(email_id: int) -> bool:
    return outbox.outbox_send(email_id=email_id)


def dispatch_outbox() -> int:
    return outbox.outbox_dispatch()
