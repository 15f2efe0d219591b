"""Account writes: a user always comes with their API token."""

from __future__ import annotations

from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.exceptions import InvalidCredentials

User = get_user_model()


def user_register(*, username: str, email: str, password: str) -> tuple[User, Token]:
    """Create a user and their API token in one transaction."""
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password)
        token = Token.objects.create(user=user)
    return user, token


def token_for_credentials(*, username: str, password: str) -> Token:
    """The API token of an active user whose password matches, else InvalidCredentials.
    Through Django's authentication backend, which hashes a password for an unknown
    username too, so the answer's timing does not tell which usernames exist."""
    user = authenticate(username=username, password=password)
    if user is None:
        raise InvalidCredentials()
    return token_ensure(user=user)


def token_ensure(*, user: User) -> Token:
    """The user's API token, created if they signed up through the pages."""
    token, _ = Token.objects.get_or_create(user=user)
    return token
