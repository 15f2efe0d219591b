from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationFailed
from core.fastpath import json_body
from core.openapi import problems
from core.ratelimit import THROTTLES, check_limits
from queue_app import services
from queue_app.api.serializers import PassStatusSerializer
from queue_app.gate import HEADER

TOKEN_HEADER = OpenApiParameter(
    "X-Queue-Token", OpenApiTypes.UUID, OpenApiParameter.HEADER, required=True, description="The waiting-room pass."
)


def _parse_token(raw: str | None, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw or "").strip())
    except ValueError:
        raise ValidationFailed({field: ["Must be a waiting-room pass UUID."]}) from None


class PassCreateView(APIView):
    """Enter a concert's waiting room."""

    throttle_classes = THROTTLES
    throttle_scope = "queue_join"

    @extend_schema(
        operation_id="queue_token_create",
        request=None,
        parameters=[OpenApiParameter("concert_id", int, OpenApiParameter.PATH)],
        responses={
            200: PassStatusSerializer,
            201: PassStatusSerializer,
            **problems("NOT_AUTHENTICATED", "CONCERT_NOT_FOUND", "RATE_LIMITED"),
        },
        description="201 with a new pass, or 200 with the caller's live pass for the concert: "
        "asking again never creates a second place in line.",
    )
    def post(self, request: Request, concert_id: str) -> Response:
        view, created = services.pass_join(user_id=request.user.pk, concert_id=concert_id)
        return Response(view.as_dict(), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def pass_status_fast(request: HttpRequest) -> HttpResponse:
    """The poll without DRF's dispatch (content negotiation, request wrapping, the
    renderer): the hottest path of a ticket opening, and it needs none of them."""
    token = _parse_token(request.META.get(HEADER), "X-Queue-Token")
    return json_body(services.pass_status(token=token).as_dict())


def pass_create_fast(request: HttpRequest, concert_id: str) -> HttpResponse:
    """`PassCreateView.post` without DRF's dispatch, for a caller core.fastpath has
    authenticated by token: the same limits, the same answer."""
    check_limits(request, PassCreateView)
    view, created = services.pass_join(user_id=request.user.pk, concert_id=concert_id)
    return json_body(view.as_dict(), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PassStatusView(APIView):
    """Poll a pass. Needs only the pass: no user authentication.

    GET is answered by `pass_status_fast`; this class documents it in the schema and
    serves every other method (OPTIONS, and 405 for the rest) as DRF does.
    """

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @classmethod
    def as_view(cls, **initkwargs):
        drf_view = super().as_view(**initkwargs)

        def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "GET":
                return pass_status_fast(request)
            return drf_view(request, *args, **kwargs)

        # What URL resolution, CSRF and the schema generator look for on a DRF view.
        view.cls = drf_view.cls
        view.initkwargs = drf_view.initkwargs
        view.csrf_exempt = True
        return view

    @extend_schema(
        operation_id="queue_status",
        parameters=[TOKEN_HEADER],
        responses={
            200: PassStatusSerializer,
            **problems("QUEUE_TOKEN_NOT_FOUND", "QUEUE_TOKEN_EXPIRED"),
        },
    )
    def get(self, request: Request) -> Response:
        token = _parse_token(request.META.get(HEADER), "X-Queue-Token")
        return Response(services.pass_status(token=token).as_dict())


class PassDeleteView(APIView):
    """Leave the line, or give up an active pass."""

    @extend_schema(
        operation_id="queue_token_delete",
        parameters=[OpenApiParameter("token", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The pass.")],
        responses={204: OpenApiResponse(description="Left."), **problems("NOT_AUTHENTICATED", "QUEUE_TOKEN_NOT_FOUND")},
    )
    def delete(self, request: Request, token: str) -> Response:
        services.pass_leave(token=_parse_token(token, "token"), user_id=request.user.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
