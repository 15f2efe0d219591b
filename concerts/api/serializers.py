from rest_framework import serializers

from concerts.models import Concert


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
