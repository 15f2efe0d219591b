"""Root URLs: each app's API under /api/v1/ and its pages at the root; nothing app-specific here."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.errors import api_not_found
from core.views import healthz

api_v1 = [
    path("", include("accounts.api.urls")),
    # The waiting room first: its concerts/{id}/queue/... routes sit beside the catalogue's.
    path("", include("queue_app.api.urls")),
    path("", include("concerts.api.urls")),
    path("", include("wallet.api.urls")),
    path("", include("payments.api.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", api_not_found),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("wallet/", include("wallet.urls")),
    path("", include("queue_app.urls")),
    path("", include("payments.urls")),
    path("", include("concerts.urls")),
]
