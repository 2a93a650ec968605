"""Dashboard routes under /o/<slug>/integrations/ (and Settings → OAuth Apps)."""

from django.urls import path

from apps.connectors import views

urlpatterns = [
    path("connectors/", views.connectors_page, name="integrations_connectors"),
    path("connectors/new/", views.connector_new, name="integrations_connector_new"),
    path("connectors/import/", views.connector_import, name="integrations_connector_import"),
    path("catalog/<slug:slug>/install", views.catalog_install, name="integrations_catalog_install"),
    path("connectors/<slug:slug>/", views.connector_detail, name="integrations_connector"),
    path("connectors/<slug:slug>/edit/", views.connector_edit, name="integrations_connector_edit"),
    path("connectors/<slug:slug>/toggle", views.connector_toggle, name="integrations_connector_toggle"),
    path("connectors/<slug:slug>/delete", views.connector_delete, name="integrations_connector_delete"),
    path("connections/", views.connections_page, name="integrations_connections"),
    path("connections/oauth/<slug:connector>/start", views.connection_oauth_start, name="integrations_oauth_start"),
    path(
        "connections/<str:connection_id>/reconnect",
        views.connection_reconnect,
        name="integrations_connection_reconnect",
    ),
    path("connections/<str:connection_id>/verify", views.connection_verify, name="integrations_connection_verify"),
    path("connections/<str:connection_id>/delete", views.connection_delete, name="integrations_connection_delete"),
]

settings_urlpatterns = [
    path("oauth-apps/", views.oauth_apps_page, name="settings_oauth_apps"),
    path("oauth-apps/return-urls", views.oauth_return_urls, name="settings_oauth_return_urls"),
    path("oauth-apps/<slug:connector>/delete", views.oauth_app_delete, name="settings_oauth_app_delete"),
]
