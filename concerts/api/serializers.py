from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from concerts import selectors
from concerts.models import Concert, Reservation


class ConcertSerializer(serializers.ModelSerializer):
    price_from = serializers.IntegerField(read_only=True, allow_null=True, help_text="Cheapest seat, won.")

    class Meta:
        model = Concert
        fields = ["id", "title", "artist", "venue", "description", "price_from", "booking_opens_at"]


class DateSerializer(serializers.Serializer):
    date = serializers.DateField()
    performance_id = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    available_seats = serializers.IntegerField()


class DatesSerializer(serializers.Serializer):
    dates = DateSerializer(many=True)


class SeatSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    price = serializers.IntegerField()
    grade = serializers.CharField()
    status = serializers.ChoiceField(choices=["AVAILABLE", "HELD", "SOLD"])
    mine = serializers.BooleanField(help_text="Held or bought by the caller.")


class SeatMapSerializer(serializers.Serializer):
    date = serializers.DateField()
    performance_id = serializers.IntegerField()
    seats = SeatSerializer(many=True)
    available = serializers.ListField(child=serializers.IntegerField())


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
        return selectors.effective_status(obj)
