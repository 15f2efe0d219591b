"""Cookies that belong to the person signed in, cleared whenever they sign out.

On a shared browser a cookie that outlives its owner's session (the waiting
room's pass, say) would be presented on the next person's behalf. Apps name such
cookies with ``register_private_cookie``; every logout, by whatever view, marks
the request (Django's ``user_logged_out`` signal) and ``ClearPrivateCookiesMiddleware``
deletes them on that response.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

_private: set[str] = set()
_FLAG = "_encore_clear_private_cookies"


def register_private_cookie(name: str) -> None:
    _private.add(name)


def on_logout(sender, request: HttpRequest | None = None, **kwargs) -> None:
    if request is not None:
        setattr(request, _FLAG, True)


class ClearPrivateCookiesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, _FLAG, False):
            for name in _private:
                response.delete_cookie(name, samesite="Lax")
        return response
