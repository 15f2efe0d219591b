"""Waiting-room API routes, included under /api/v1/. No trailing slash; one is tolerated."""

from django.urls import re_path

from queue_app.api import views

urlpatterns = [
    re_path(r"^concerts/(?P<concert_id>[^/]+)/queue/tokens/?$", views.PassCreateView.as_view(), name="api-queue-join"),
    re_path(r"^queue/status/?$", views.PassStatusView.as_view(), name="api-queue-status"),
    re_path(r"^queue/tokens/(?P<token>[^/]+)/?$", views.PassDeleteView.as_view(), name="api-queue-leave"),
]
