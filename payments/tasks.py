"""django-q2 entry points of the payments app (thin: they call services)."""

from payments import outbox

SCHEDULES = [
    {
        "name": "payments.dispatch_outbox",
        "func": "payments.tasks.dispatch_outbox",
        "schedule_type": "I",
        "minutes": 1,
    },
]


def send_outbox_email(email_id: int) -> bool:
    return outbox.outbox_send(email_id=email_id)


def dispatch_outbox() -> int:
    return outbox.outbox_dispatch()
