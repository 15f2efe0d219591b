"""An email backend for a developer's console (``make run``): one line per email
(to, subject, size, first link) instead of the whole MIME message."""

from __future__ import annotations

import re
import sys
import threading

from django.core.mail.backends.base import BaseEmailBackend

_LINK = re.compile(r"https?://\S+")


class SummaryConsoleBackend(BaseEmailBackend):
    def __init__(self, *args, stream=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def send_messages(self, email_messages) -> int:
        sent = 0
        with self._lock:
            for message in email_messages:
                body = message.body or ""
                link = _LINK.search(body)
                line = f"[email] to {', '.join(message.recipients())}: {message.subject!r} ({len(body)} chars"
                line += f", link {link.group(0)})" if link else ")"
                self.stream.write(line + "\n")
                sent += 1
            self.stream.flush()
        return sent
