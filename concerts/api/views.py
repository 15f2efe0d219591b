from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from concerts import selectors
from concerts.api import reads
from concerts.api.serializers import ConcertSerializer, DatesSerializer, SeatMapSerializer
from concerts.models import Concert
from core.conditional import conditional_json
from core.openapi import problems
from core.replica import catalogue_read
from queue_app.gate import QueueGate, ReadQueueGate

CONCERT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Concert id")


class ConcertViewSet(viewsets.ReadOnlyModelViewSet):
    """The public catalogue, and the gated dates and seat map of one concert."""

    serializer_class = ConcertSerializer
    permission_classes = [permissions.AllowAny]
    lookup_value_regex = r"[^/]+"

    # The catalogue (list, retrieve) may read a replica (core.replica); the gated paths never.
    using = "default"

    def get_queryset(self):
        return selectors.concert_list(using=self.using)

    def get_object(self) -> Concert:
        return selectors.concert_get(concert_id=self.kwargs["pk"], priced=self.action == "retrieve", using=self.using)

    def _from_catalogue(self, answer):
        def read(using: str):
            self.using = using
            return answer()

        return catalogue_read(read)

    @extend_schema(responses={200: ConcertSerializer(many=True), **problems("NOT_FOUND")})
    def list(self, request: Request, *args, **kwargs) -> Response:
        return self._from_catalogue(lambda: super(ConcertViewSet, self).list(request, *args, **kwargs))

    @extend_schema(parameters=[CONCERT_ID], responses={200: ConcertSerializer, **problems("CONCERT_NOT_FOUND")})
    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return self._from_catalogue(lambda: Response(self.get_serializer(self.get_object()).data))

    @extend_schema(
        summary="Bookable dates (gated)",
        parameters=[CONCERT_ID, QueueGate.header_parameter],
        responses={
            200: DatesSerializer,
            **problems("NOT_AUTHENTICATED", "QUEUE_TOKEN_NOT_ACTIVE", "CONCERT_NOT_FOUND"),
        },
    )
    @action(detail=True, methods=["get"], permission_classes=[permissions.IsAuthenticated, ReadQueueGate])
    def dates(self, request: Request, pk: str) -> HttpResponse:
        # The gate has found the caller's pass for this concert, so the concert exists.
        return conditional_json(request, reads.dates_body(concert_id=int(pk)))

    @extend_schema(
        summary="Seat map of one date (gated)",
        parameters=[
            CONCERT_ID,
            QueueGate.header_parameter,
            OpenApiParameter("date", OpenApiTypes.DATE, OpenApiParameter.PATH, description="YYYY-MM-DD"),
        ],
        responses={
            200: SeatMapSerializer,
            **problems("NOT_AUTHENTICATED", "QUEUE_TOKEN_NOT_ACTIVE", "CONCERT_NOT_FOUND", "DATE_NOT_AVAILABLE"),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"dates/(?P<date>[^/]+)/seats",
        permission_classes=[permissions.IsAuthenticated, ReadQueueGate],
    )
    def seats(self, request: Request, pk: str, date: str) -> HttpResponse:
        return conditional_json(request, reads.seat_map_body(concert_id=int(pk), date=date, user_id=request.user.pk))
