from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from concerts.api.reservations import ReservationViewSet
from concerts.api.views import ConcertViewSet
from config import accounts
from config.errors import api_not_found
from payments.api import views as payment_views
from queue_app.api import views as queue_views


class OptionalSlashRouter(SimpleRouter):
    """Paths as the contract writes them (no trailing slash), with one tolerated."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("concerts", ConcertViewSet, basename="concert")
router.register("reservations", ReservationViewSet, basename="reservation")

api_v1 = [
    path("auth/register", accounts.RegisterView.as_view(), name="api-register"),
    path("auth/token", accounts.TokenView.as_view(), name="api-token"),
    re_path(r"^concerts/(?P<concert_id>[^/]+)/queue/tokens/?$", queue_views.PassCreateView.as_view()),
    re_path(r"^queue/status/?$", queue_views.PassStatusView.as_view(), name="api-queue-status"),
    re_path(r"^queue/tokens/(?P<token>[^/]+)/?$", queue_views.PassDeleteView.as_view()),
    *router.urls,
    path("", include("wallet.api.urls")),
    re_path(r"^payments/?$", payment_views.PaymentCreateView.as_view(), name="api-payments"),
    re_path(r"^payments/(?P<payment_id>[^/]+)/?$", payment_views.PaymentDetailView.as_view(), name="api-payment"),
]


def healthz(request):
    """Liveness, and the benchmark's baseline: a bare Django JSON view, no database."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", api_not_found),
    path("admin/", admin.site.urls),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("wallet/", include("wallet.urls")),
    path("", include("queue_app.urls")),
    path("", include("payments.urls")),
    path("", include("concerts.urls")),
]
