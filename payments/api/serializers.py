from rest_framework import serializers


class PayRequestSerializer(serializers.Serializer):
    reservation_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class PaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reservation_id = serializers.IntegerField()
    amount = serializers.IntegerField(help_text="Won.")
    status = serializers.ChoiceField(choices=["PAID", "REFUNDED"])
    paid_at = serializers.DateTimeField()
    balance = serializers.IntegerField(help_text="The balance right after this payment, won.")
