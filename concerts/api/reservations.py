from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from concerts import services
from concerts.api.serializers import HoldRequestSerializer, ReservationSerializer
from concerts.exceptions import ReservationNotFound
from concerts.models import Reservation
from config.openapi import problems
from payments import services as payment_services
from queue_app.gate import QueueGate, require_active_pass

RESERVATION_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Reservation id")


class ReservationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own reservations; holding a seat is gated by the waiting room."""

    serializer_class = ReservationSerializer
    lookup_value_regex = r"[^/]+"

    def get_queryset(self):
        return (
            Reservation.objects.filter(user=self.request.user)
            .select_related("performance", "seat")
            .order_by("-created_at", "-id")
        )

    def get_object(self) -> Reservation:
        try:
            pk = int(self.kwargs["pk"])
        except ValueError:
            raise ReservationNotFound() from None
        reservation = self.get_queryset().filter(pk=pk).first()
        if reservation is None:
            raise ReservationNotFound()
        return reservation

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
        reservation = services.seat_hold(user_id=request.user.pk, **data.validated_data)
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
        payment_services.reservation_cancel(user_id=request.user.pk, reservation_id=reservation.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
