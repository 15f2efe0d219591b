"""What the waiting room needs from the catalogue, supplied by the catalogue.

The apps are layered so that ``concerts`` builds on ``queue_app`` and never the
reverse (tests/test_layering.py). Yet a line belongs to a concert: to refuse an
unknown concert with the catalogue's own error, and to show its title, the
waiting room calls ``concert_get``, which the catalogue registers when Django
starts (``concerts.apps.ConcertsConfig.ready``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_concert_get: Callable[..., Any] | None = None


def register(*, concert_get: Callable[..., Any]) -> None:
    """Called once by the catalogue app: ``concert_get(concert_id=..., priced=False)`` returns
    the concert (with ``pk``, ``title``, ``booking_opens_at``) or raises its not-found error."""
    global _concert_get
    _concert_get = concert_get


def concert_get(concert_id: object) -> Any:
    """The concert a line is for, or the catalogue's not-found error."""
    if _concert_get is None:
        raise RuntimeError("no catalogue registered with queue_app.hooks (is the concerts app installed?)")
    return _concert_get(concert_id=concert_id, priced=False)
