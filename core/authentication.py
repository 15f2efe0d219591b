"""API token authentication that does not query the database on every request.

DRF's ``TokenAuthentication`` reads the token and its user on each request: at
the opening surge that one query is a large share of a seat-map read. Each
process remembers a valid token's user for ``AUTH_TOKEN_CACHE_SECONDS``. In the
process where it happens, deleting the token or changing the user (deactivating
them, say) forgets the entry at once; other processes notice within those
seconds. Invalid tokens are never remembered.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

MAX_ENTRIES = 10_000

_entries: OrderedDict[str, tuple[float, object, Token]] = OrderedDict()
_lock = threading.Lock()


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str):
        ttl = settings.AUTH_TOKEN_CACHE_SECONDS
        now = time.time()
        with _lock:
            hit = _entries.get(key)
        if hit is not None and hit[0] > now:
            # A copy per request: a user object is never shared between two requests.
            return copy.copy(hit[1]), hit[2]
        user, token = super().authenticate_credentials(key)
        if ttl > 0:
            with _lock:
                _entries[key] = (now + ttl, user, token)
                _entries.move_to_end(key)
                while len(_entries) > MAX_ENTRIES:
                    _entries.popitem(last=False)
        return copy.copy(user), token


def forget_token(key: str) -> None:
    with _lock:
        _entries.pop(key, None)


def forget_user(user_id: int) -> None:
    with _lock:
        for key in [key for key, (_, user, _) in _entries.items() if user.pk == user_id]:
            del _entries[key]


def forget_all() -> None:
    with _lock:
        _entries.clear()


def _on_token_deleted(sender, instance: Token, **kwargs) -> None:
    forget_token(instance.key)


def _on_user_saved(sender, instance, **kwargs) -> None:
    forget_user(instance.pk)


def connect_signals() -> None:
    post_delete.connect(_on_token_deleted, sender=Token, dispatch_uid="core.authentication.token_deleted")
    post_save.connect(_on_user_saved, sender=get_user_model(), dispatch_uid="core.authentication.user_saved")
    post_delete.connect(_on_user_saved, sender=get_user_model(), dispatch_uid="core.authentication.user_deleted")
