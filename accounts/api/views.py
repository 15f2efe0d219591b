"""Registration and token login for the API (the mobile app)."""

from __future__ import annotations

from django.db import IntegrityError
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api.serializers import AccountSerializer, RegisterSerializer, TokenRequestSerializer, TokenSerializer
from core.openapi import problems
from core.ratelimit import THROTTLES


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
            user, token = services.user_register(**data.validated_data)
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
        token = services.token_for_credentials(**data.validated_data)
        return Response({"token": token.key})
