from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from wallet.models import Charge, LedgerEntry

INT64_MAX = 2**63 - 1


@extend_schema_field(OpenApiTypes.INT64)
class WonField(serializers.Field):
    """A whole number of won sent as a JSON integer: no strings, floats or booleans.

    A well-formed integer outside the business range is left to the service
    (CHARGE_AMOUNT_OUT_OF_RANGE); one too large to be money at all is malformed.
    """

    default_error_messages = {
        "invalid": "Send a whole number of won as a JSON integer, e.g. 50000 (not a string or a decimal).",
        "too_large": "This number is far too large to be an amount of won.",
    }

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        if abs(data) > INT64_MAX:
            self.fail("too_large")
        return data

    def to_representation(self, value: int) -> int:
        return int(value)


class ChargeRequestSerializer(serializers.Serializer):
    amount = WonField(help_text="Won, between charge_min and charge_max.")


class WalletSerializer(serializers.Serializer):
    balance = serializers.IntegerField(help_text="Won.")
    currency = serializers.CharField(default="KRW")
    charge_min = serializers.IntegerField()
    charge_max = serializers.IntegerField()
    balance_max = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="Won in charges the payment gateway has not settled yet.")


class ChargeSerializer(serializers.ModelSerializer):
    balance = serializers.IntegerField(help_text="The balance, in won, once this charge was handled.")

    class Meta:
        model = Charge
        fields = ["id", "amount", "status", "balance", "created_at"]


class LedgerEntrySerializer(serializers.ModelSerializer):
    amount = serializers.IntegerField(help_text="Won, signed: + for CHARGE and REFUND, - for PAYMENT.")

    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "balance_after", "created_at", "reference"]
