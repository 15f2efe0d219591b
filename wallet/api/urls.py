"""Wallet API routes, included under /api/v1/. No trailing slash; one is tolerated."""

from django.urls import re_path

from wallet.api import views

urlpatterns = [
    re_path(r"^wallet/?$", views.WalletView.as_view(), name="api-wallet"),
    re_path(r"^wallet/charges/?$", views.ChargeCreateView.as_view(), name="api-wallet-charges"),
    re_path(r"^wallet/charges/(?P<id>[^/]+)/?$", views.ChargeDetailView.as_view(), name="api-wallet-charge"),
    re_path(r"^wallet/transactions/?$", views.TransactionListView.as_view(), name="api-wallet-transactions"),
]
