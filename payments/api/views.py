from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import IDEMPOTENCY_KEY, idempotent
from core.openapi import problems
from core.ratelimit import THROTTLES
from payments import selectors, services
from payments.api.serializers import PaymentSerializer, PayRequestSerializer
from queue_app.gate import QueueGate, require_active_pass


class PaymentCreateView(APIView):
    throttle_classes = THROTTLES
    throttle_scope = "payment"

    @extend_schema(
        summary="Pay a hold from the balance (gated)",
        request=PayRequestSerializer,
        parameters=[QueueGate.header_parameter, IDEMPOTENCY_KEY],
        responses={
            201: PaymentSerializer,
            **problems(
                "NOT_AUTHENTICATED",
                "QUEUE_TOKEN_NOT_ACTIVE",
                "RESERVATION_NOT_FOUND",
                "ALREADY_PAID",
                "HOLD_EXPIRED",
                "INSUFFICIENT_BALANCE",
                "IDEMPOTENCY_KEY_REUSED",
                "RATE_LIMITED",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        return idempotent(request, scope="payment", handler=lambda: self._pay(request), in_transaction=True)

    def _pay(self, request: Request) -> Response:
        data = PayRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The gate runs under the reservation lock, after the ownership and "already paid" checks:
        # paying ends the pass, and a retry after that should still hear "already paid", not a 403.
        result = services.payment_pay(
            user_id=request.user.pk,
            reservation_id=data.validated_data["reservation_id"],
            gate=lambda concert_id: require_active_pass(request, concert_id),
        )
        body = selectors.payment_data(payment=result.payment, balance=result.balance)
        return Response(PaymentSerializer(body).data, status=status.HTTP_201_CREATED)


class PaymentDetailView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("payment_id", int, OpenApiParameter.PATH, description="Payment id")],
        responses={200: PaymentSerializer, **problems("NOT_AUTHENTICATED", "NOT_FOUND")},
    )
    def get(self, request: Request, payment_id: str) -> Response:
        payment = selectors.payment_get(user_id=request.user.pk, payment_id=payment_id)
        return Response(PaymentSerializer(selectors.payment_data(payment=payment)).data)
