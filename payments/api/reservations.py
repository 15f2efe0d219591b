"""The fan's reservations: holding a seat (the catalogue's service), reading them, and
releasing or cancelling one (payments' service, which refunds a paid ticket)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from concerts import selectors as concert_selectors
from concerts import services as concert_services
from concerts.models import Reservation
from core.openapi import problems
from payments import services
from payments.api.serializers import HoldRequestSerializer, ReservationSerializer
from queue_app.gate import QueueGate, require_active_pass

RESERVATION_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Reservation id")


class ReservationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own reservations; holding a seat is gated by the waiting room."""

    serializer_class = ReservationSerializer
    lookup_value_regex = r"[^/]+"

    def get_queryset(self):
        return concert_selectors.user_reservations(user_id=self.request.user.pk)

    def get_object(self) -> Reservation:
        return concert_selectors.reservation_get(user_id=self.request.user.pk, reservation_id=self.kwargs["pk"])

    @extend_schema(
        summary="My reservations, newest first",
        responses={200: ReservationSerializer(many=True), **problems("NOT_AUTHENTICATED", "NOT_FOUND")},
    )
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Hold a seat for HOLD_TTL_SECONDS (gated)",
        request=HoldRequestSerializer,
        parameters=[QueueGate.header_parameter],
        responses={
            201: ReservationSerializer,
            **problems(
                "NOT_AUTHENTICATED",
                "QUEUE_TOKEN_NOT_ACTIVE",
                "CONCERT_NOT_FOUND",
                "DATE_NOT_AVAILABLE",
                "SEAT_NOT_FOUND",
                "SEAT_UNAVAILABLE",
                "HOLD_LIMIT_REACHED",
            ),
        },
    )
    def create(self, request: Request) -> Response:
        data = HoldRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        require_active_pass(request, data.validated_data["concert_id"])
        reservation = concert_services.seat_hold(user_id=request.user.pk, **data.validated_data)
        return Response(ReservationSerializer(reservation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[RESERVATION_ID],
        responses={200: ReservationSerializer, **problems("NOT_AUTHENTICATED", "RESERVATION_NOT_FOUND")},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ReservationSerializer(self.get_object()).data)

    @extend_schema(
        summary="Release a hold, or cancel a ticket before the deadline (refunded)",
        parameters=[RESERVATION_ID],
        responses={
            204: OpenApiResponse(description="Released or cancelled."),
            **problems("NOT_AUTHENTICATED", "RESERVATION_NOT_FOUND", "RESERVATION_NOT_HELD"),
        },
    )
    def destroy(self, request: Request, pk: str) -> Response:
        reservation = self.get_object()
        services.reservation_cancel(user_id=request.user.pk, reservation_id=reservation.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
