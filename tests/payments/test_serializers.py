"""The hand-written representations say exactly what the declared fields would."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from concerts.models import Reservation
from payments import selectors
from payments.api.serializers import PaymentSerializer, ReservationSerializer
from payments.models import Payment
from tests.concerts.test_holds import fan, hold
from tests.factories import ConcertFactory, make_performance
from tests.payments.test_payments import fund, pay

pytestmark = pytest.mark.django_db


def generic(serializer_class, instance) -> dict:
    serializer = serializer_class(instance)
    return dict(serializers.Serializer.to_representation(serializer, instance))


def test_reservation_and_payment_representations_match_their_fields():
    performance = make_performance(ConcertFactory(), days=4)
    client = fan(performance.concert)
    fund(client.user, 500_000)
    held, paid = (hold(client, performance, n).json() for n in (7, 8))
    pay(client, paid["id"])
    for reservation in Reservation.objects.select_related("performance", "seat"):
        assert ReservationSerializer(reservation).data == generic(ReservationSerializer, reservation)
        assert list(ReservationSerializer(reservation).data) == list(generic(ReservationSerializer, reservation))
    body = selectors.payment_data(payment=Payment.objects.get())
    assert PaymentSerializer(body).data == generic(PaymentSerializer, body)
    assert list(PaymentSerializer(body).data) == list(generic(PaymentSerializer, body))
    assert held["status"] == "HELD"
