from django.urls import path

from apps.billing import api

urlpatterns = [
    path("usage", api.UsageView.as_view(), name="usage"),
    path("usage/history", api.UsageHistoryView.as_view(), name="usage-history"),
    path("customer-tiers", api.CustomerTierListView.as_view(), name="customer-tiers"),
    path("customer-tiers/<str:slug>", api.CustomerTierDetailView.as_view(), name="customer-tier"),
    path("customers/<str:external_id>/limits", api.CustomerLimitsView.as_view(), name="customer-limits"),
]
