"""Accounts: registration and token login for the API, sign-up for the pages.

Django's own auth views serve login, logout and the password flows; this module
adds only what Django lacks.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, login, password_validation
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApplicationError
from config.openapi import problems
from config.ratelimit import THROTTLES

User = get_user_model()


class InvalidCredentials(ApplicationError):
    code = "INVALID_CREDENTIALS"
    http_status = 400
    default_detail = "The username or password is wrong."


class RegisterSerializer(serializers.Serializer):
    # ASCII, as the OpenAPI pattern reads it (a JSON Schema `\w` is ASCII-only).
    username = serializers.RegexField(
        r"^[A-Za-z0-9_.@+-]+\Z",
        max_length=150,
        error_messages={"invalid": "Use letters, digits and @/./+/-/_ only."},
    )
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    email = serializers.EmailField(max_length=254)

    def validate_username(self, value: str) -> str:
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("This username is taken.")
        return value

    def validate(self, attrs: dict) -> dict:
        candidate = User(username=attrs["username"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


class AccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    token = serializers.CharField()


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


def user_register(*, username: str, email: str, password: str):
    """Create a user and their API token in one transaction."""
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password)
        token = Token.objects.create(user=user)
    return user, token


class RegisterView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = THROTTLES
    throttle_scope = "register"

    @extend_schema(request=RegisterSerializer, responses={201: AccountSerializer, **problems("RATE_LIMITED")})
    def post(self, request: Request) -> Response:
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user, token = user_register(**data.validated_data)
        except IntegrityError:
            raise serializers.ValidationError({"username": ["This username is taken."]}) from None
        return Response(
            {"id": user.pk, "username": user.username, "email": user.email, "token": token.key},
            status=status.HTTP_201_CREATED,
        )


class TokenView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = THROTTLES
    throttle_scope = "login"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, **problems("INVALID_CREDENTIALS", "RATE_LIMITED")},
    )
    def post(self, request: Request) -> Response:
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.filter(username=data.validated_data["username"]).first()
        if user is None or not user.is_active or not user.check_password(data.validated_data["password"]):
            raise InvalidCredentials()
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("concert-list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            Token.objects.get_or_create(user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        target = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            target = "concert-list"
        return redirect(target)
    return render(request, "registration/signup.html", {"form": form})
