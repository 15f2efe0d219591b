from rest_framework import serializers


class PassStatusSerializer(serializers.Serializer):
    token = serializers.UUIDField()
    concert_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["WAITING", "ACTIVE", "EXPIRED"])
    position = serializers.IntegerField(
        allow_null=True, help_text="1 for the first waiting user; null when ACTIVE or in the pre-queue."
    )
    ahead = serializers.IntegerField(allow_null=True)
    eta_seconds = serializers.IntegerField(allow_null=True)
    poll_after_seconds = serializers.IntegerField(min_value=1)
    expires_at = serializers.DateTimeField()
