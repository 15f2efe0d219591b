from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import IDEMPOTENCY_KEY, idempotent
from core.openapi import problems
from core.ratelimit import THROTTLES
from wallet import selectors, services
from wallet.api.serializers import ChargeRequestSerializer, ChargeSerializer, LedgerEntrySerializer, WalletSerializer


class WalletView(APIView):
    @extend_schema(
        summary="My balance and the charge limits",
        responses={200: WalletSerializer, **problems("NOT_AUTHENTICATED")},
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "balance": selectors.wallet_balance(user=request.user),
                "currency": "KRW",
                **services.charge_limits(),
                "pending": selectors.wallet_pending(user=request.user),
            }
        )


class ChargeCreateView(APIView):
    throttle_classes = THROTTLES
    throttle_scope = "charge"

    @extend_schema(
        summary="Top up my balance by card",
        description=(
            "201 with status SUCCEEDED (credited), or PENDING when the payment gateway did not answer in time: "
            "it is then settled in the background, never credited twice (see GET /api/v1/wallet/charges/{id})."
        ),
        request=ChargeRequestSerializer,
        parameters=[IDEMPOTENCY_KEY],
        examples=[OpenApiExample("Charge ₩50,000", value={"amount": 50000}, request_only=True)],
        responses={
            201: ChargeSerializer,
            **problems(
                "CHARGE_AMOUNT_OUT_OF_RANGE",
                "NOT_AUTHENTICATED",
                "BALANCE_LIMIT_EXCEEDED",
                "IDEMPOTENCY_KEY_REUSED",
                "RATE_LIMITED",
                "GATEWAY_DECLINED",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        return idempotent(request, scope="charge", handler=lambda: self.charge(request))

    def charge(self, request: Request) -> Response:
        data = ChargeRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.wallet_charge(user=request.user, amount=data.validated_data["amount"])
        result.charge.balance = result.balance
        return Response(ChargeSerializer(result.charge).data, status=status.HTTP_201_CREATED)


class ChargeDetailView(APIView):
    @extend_schema(
        summary="One of my charges (poll a PENDING one)",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="Charge id")],
        responses={200: ChargeSerializer, **problems("NOT_AUTHENTICATED", "NOT_FOUND")},
    )
    def get(self, request: Request, id: str) -> Response:
        charge = selectors.charge_get(user=request.user, charge_id=id)
        charge.balance = selectors.wallet_balance(user=request.user)
        return Response(ChargeSerializer(charge).data)


class TransactionListView(generics.ListAPIView):
    serializer_class = LedgerEntrySerializer

    def get_queryset(self):
        return selectors.ledger_for(user=self.request.user)

    @extend_schema(
        summary="My ledger, newest first",
        responses={200: LedgerEntrySerializer(many=True), **problems("NOT_AUTHENTICATED", "NOT_FOUND")},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)
