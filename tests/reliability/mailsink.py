"""A file email backend for the fault tests: each message is one file named after
its sender's process group, pid and a counter, written aside and renamed into place,
so a message in the sink was certainly "accepted" before the sender could be killed.

If the file ``pause-after-send`` exists in the sink directory, the first process to
send afterwards removes it, writes its process group and the message's Message-ID
to ``paused`` and sleeps: a test can then kill it between the mail server's
acceptance and the outbox's commit.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

_counter = itertools.count()


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        sink = Path(settings.EMAIL_FILE_PATH)
        sink.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            name = f"{os.getpgid(0)}-{os.getpid()}-{next(_counter)}.eml"
            # Written aside, then renamed (as Maildir does): a message is in the sink whole
            # or not at all, like one a mail server has or has not accepted.
            partial = sink / f".{name}.tmp"
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, message.message().as_bytes())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(partial, sink / name)
            sent += 1
            self._maybe_pause(sink, message.extra_headers.get("Message-ID", ""))
        return sent

    @staticmethod
    def _maybe_pause(sink: Path, message_id: str) -> None:
        trigger = sink / "pause-after-send"
        try:
            trigger.unlink()  # only one process wins the pause
        except FileNotFoundError:
            return
        (sink / "paused").write_text(f"{os.getpgid(0)} {message_id}")
        while True:
            time.sleep(1)


def delivered(sink: Path) -> list[tuple[int, str]]:
    """(sender's process group, Message-ID) of every message in the sink, one per delivery."""
    out = []
    for path in sorted(sink.glob("*.eml")):
        group = int(path.name.split("-", 1)[0])
        for line in path.read_text(errors="replace").splitlines():
            if line.lower().startswith("message-id:"):
                out.append((group, line.split(":", 1)[1].strip()))
                break
        else:
            out.append((group, f"<missing:{path.name}>"))
    return out
