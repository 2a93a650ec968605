from django.urls import path
from django.views.generic import RedirectView

from apps.settings import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="settings_api_keys"), name="settings"),
    path("api-keys/", views.api_keys, name="settings_api_keys"),
    path("api-keys/<str:key_id>/revoke", views.api_key_revoke, name="settings_api_key_revoke"),
    path("secrets/", views.secrets_page, name="settings_secrets"),
    path("secrets/<str:name>/delete", views.secret_delete, name="settings_secret_delete"),
    path("customers/", views.customers, name="settings_customers"),
    path("customers/<str:external_id>/delete", views.customer_delete, name="settings_customer_delete"),
]
