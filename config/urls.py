from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from concerts.api.views import ConcertViewSet
from config import accounts
from config.errors import api_not_found


class OptionalSlashRouter(SimpleRouter):
    """Paths as the contract writes them (no trailing slash), with one tolerated."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("concerts", ConcertViewSet, basename="concert")

api_v1 = [
    path("auth/register", accounts.RegisterView.as_view(), name="api-register"),
    path("auth/token", accounts.TokenView.as_view(), name="api-token"),
    *router.urls,
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", api_not_found),
    path("admin/", admin.site.urls),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("concerts.urls")),
]
