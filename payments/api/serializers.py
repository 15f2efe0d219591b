from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from concerts import selectors as concert_selectors
from concerts.models import Reservation


class PayRequestSerializer(serializers.Serializer):
    reservation_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


# Formats of the fields below, for the hand-written representations (one instance each, shared).
_DATE = serializers.DateField()
_DATETIME = serializers.DateTimeField()


class PaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reservation_id = serializers.IntegerField()
    amount = serializers.IntegerField(help_text="Won.")
    status = serializers.ChoiceField(choices=["PAID", "REFUNDED"])
    paid_at = serializers.DateTimeField()
    balance = serializers.IntegerField(help_text="The balance right after this payment, won.")

    def to_representation(self, instance: dict) -> dict:
        # The fields above, by hand in their order and formats (they document the schema): building
        # the fields on every call cost more than the rest of the response.
        return {
            "id": instance["id"],
            "reservation_id": instance["reservation_id"],
            "amount": instance["amount"],
            "status": str(instance["status"]),
            "paid_at": _DATETIME.to_representation(instance["paid_at"]),
            "balance": instance["balance"],
        }


class HoldRequestSerializer(serializers.Serializer):
    concert_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    date = serializers.DateField(input_formats=["iso-8601"], help_text="YYYY-MM-DD")
    seat_number = serializers.IntegerField(min_value=-(2**31), max_value=2**31 - 1)


class ReservationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    concert_id = serializers.IntegerField(source="performance.concert_id")
    performance_id = serializers.IntegerField()
    date = serializers.DateField(source="performance.date")
    seat_number = serializers.IntegerField(source="seat.number")
    price = serializers.IntegerField()
    status = serializers.SerializerMethodField()
    held_until = serializers.DateTimeField()

    @extend_schema_field(serializers.ChoiceField(choices=Reservation.Status.choices))
    def get_status(self, obj) -> str:
        return concert_selectors.effective_status(obj)

    def to_representation(self, instance: Reservation) -> dict:
        # The fields above, by hand (see PaymentSerializer).
        return {
            "id": instance.pk,
            "concert_id": instance.performance.concert_id,
            "performance_id": instance.performance_id,
            "date": _DATE.to_representation(instance.performance.date),
            "seat_number": instance.seat.number,
            "price": instance.price,
            "status": self.get_status(instance),
            "held_until": _DATETIME.to_representation(instance.held_until),
        }
