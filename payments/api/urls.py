"""Reservation and payment API routes, included under /api/v1/. No trailing slash; one is tolerated."""

from django.urls import re_path

from core.routers import OptionalSlashRouter
from payments.api import views
from payments.api.reservations import ReservationViewSet

router = OptionalSlashRouter()
router.register("reservations", ReservationViewSet, basename="reservation")

urlpatterns = [
    *router.urls,
    re_path(r"^payments/?$", views.PaymentCreateView.as_view(), name="api-payments"),
    re_path(r"^payments/(?P<payment_id>[^/]+)/?$", views.PaymentDetailView.as_view(), name="api-payment"),
]
