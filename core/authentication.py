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
from django.db import connection
from django.db.models import DEFERRED
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

MAX_ENTRIES = 10_000

_entries: OrderedDict[str, tuple[float, object, Token]] = OrderedDict()
_lock = threading.Lock()


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str):
        """The token's user from this process's copy, else from the database (then copied)."""
        ttl = settings.AUTH_TOKEN_CACHE_SECONDS
        now = time.time()
        with _lock:
            hit = _entries.get(key)
        if hit is not None and hit[0] > now:
            # A copy per request: a user object is never shared between two requests.
            return copy.copy(hit[1]), hit[2]
        user, token = _token_user(key) if connection.vendor == "postgresql" else super().authenticate_credentials(key)
        if ttl > 0:
            with _lock:
                _entries[key] = (now + ttl, user, token)
                _entries.move_to_end(key)
                while len(_entries) > MAX_ENTRIES:
                    _entries.popitem(last=False)
        return copy.copy(user), token


_token_user_sql: tuple[str, list[str]] | None = None


def _token_user(key: str) -> tuple[object, Token]:
    """DRF's ``Token.objects.select_related("user").get(key=key)`` and its checks, as one
    plain statement (building the ORM query cost five times running it: every first request
    of a fan at an opening pays it). PostgreSQL only: it hands back every user field as its
    Python value, so the user is made with ``from_db`` as the ORM would."""
    global _token_user_sql
    User = get_user_model()
    if _token_user_sql is None:
        fields = User._meta.concrete_fields
        quote = connection.ops.quote_name
        columns = ", ".join(f"u.{quote(f.column)}" for f in fields)
        _token_user_sql = (
            f"SELECT {columns} FROM {quote(Token._meta.db_table)} t "
            f"JOIN {quote(User._meta.db_table)} u ON u.{quote(User._meta.pk.column)} = t.user_id WHERE t.key = %s",
            [f.attname for f in fields],
        )
    sql, attnames = _token_user_sql
    with connection.cursor() as cursor:
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    if row is None:
        raise AuthenticationFailed(_("Invalid token."))
    user = User.from_db(connection.alias, attnames, row)
    if not user.is_active:
        raise AuthenticationFailed(_("User inactive or deleted."))
    token = Token.from_db(connection.alias, ["key", "user_id", "created"], [key, user.pk, DEFERRED])
    token.user = user
    return user, token


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
