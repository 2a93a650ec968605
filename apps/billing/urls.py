from django.urls import path

from apps.billing import views

urlpatterns = [
    path("", views.billing, name="settings_billing"),
    path("tiers/", views.tiers, name="settings_billing_tiers"),
    path("tiers/<slug:slug>/", views.tier_update, name="settings_billing_tier"),
    path("tiers/<slug:slug>/delete", views.tier_delete, name="settings_billing_tier_delete"),
    path("customer-limits/", views.customer_limits, name="settings_billing_customer_limits"),
    path(
        "customer-limits/<str:external_id>/clear",
        views.customer_limits_clear,
        name="settings_billing_customer_limits_clear",
    ),
]
