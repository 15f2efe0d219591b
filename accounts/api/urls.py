"""Account API routes, included under /api/v1/. No trailing slash; one is tolerated."""

from django.urls import re_path

from accounts.api import views

urlpatterns = [
    re_path(r"^auth/register/?$", views.RegisterView.as_view(), name="api-register"),
    re_path(r"^auth/token/?$", views.TokenView.as_view(), name="api-token"),
]
