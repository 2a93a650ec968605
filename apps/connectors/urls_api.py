from django.urls import path

from apps.connectors import api

urlpatterns = [
    path("connectors", api.ConnectorListView.as_view(), name="connectors"),
    # Fixed paths before the slug route ("schema" and "import-openapi" are reserved slugs).
    path("connectors/schema", api.ConnectorSchemaView.as_view(), name="connector-schema"),
    path("connectors/import-openapi", api.ConnectorImportOpenAPIView.as_view(), name="connector-import-openapi"),
    path("connectors/<str:slug>", api.ConnectorDetailView.as_view(), name="connector"),
    path("connectors/<str:slug>/versions", api.ConnectorVersionListView.as_view(), name="connector-versions"),
    path(
        "connectors/<str:slug>/versions/<int:number>",
        api.ConnectorVersionDetailView.as_view(),
        name="connector-version",
    ),
    path(
        "connectors/<str:slug>/actions/<str:action>/run",
        api.ConnectorActionRunView.as_view(),
        name="connector-action-run",
    ),
    path("catalog", api.CatalogListView.as_view(), name="catalog"),
    path("catalog/<str:slug>", api.CatalogDetailView.as_view(), name="catalog-entry"),
    path("catalog/<str:slug>/install", api.CatalogInstallView.as_view(), name="catalog-install"),
    path("connections", api.ConnectionListView.as_view(), name="connections"),
    path("connections/<str:connection_id>", api.ConnectionDetailView.as_view(), name="connection"),
    path("connections/<str:connection_id>/verify", api.ConnectionVerifyView.as_view(), name="connection-verify"),
    path("oauth/callback", api.OAuthCallbackView.as_view(), name="oauth-callback"),
    path("oauth/begin", api.OAuthBeginView.as_view(), name="oauth-begin"),
    path("oauth/redirect-uris", api.OAuthRedirectUrisView.as_view(), name="oauth-redirect-uris"),
    path("oauth/<str:connector>/authorize", api.OAuthAuthorizeView.as_view(), name="oauth-authorize"),
    path("oauth-apps", api.OAuthAppListView.as_view(), name="oauth-apps"),
    path("oauth-apps/<str:connector>", api.OAuthAppDetailView.as_view(), name="oauth-app"),
    path("traces", api.TraceListView.as_view(), name="traces"),
]
