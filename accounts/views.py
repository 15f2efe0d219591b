"""Sign-up page; Django's own auth views serve login, logout and the password flows."""

from __future__ import annotations

from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.forms import SignupForm
from accounts.services import token_ensure


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("concert-list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            token_ensure(user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        target = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            target = "concert-list"
        return redirect(target)
    return render(request, "registration/signup.html", {"form": form})
