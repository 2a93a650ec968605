"""URL map. API under /api/v1/ (JSON only), dashboard under /o/<slug>/."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from apps.accounts.views import invitation_page
from apps.core.api import HealthView, unknown_api_route
from apps.triggers import hooks as trigger_hooks

# The API description is public: it documents the contract, not any data.
PUBLIC = {"authentication_classes": [], "permission_classes": [AllowAny]}

api_v1 = [
    path("health", HealthView.as_view(), name="health"),
    path("schema", SpectacularAPIView.as_view(**PUBLIC), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="api:schema", **PUBLIC), name="docs"),
    path("", include("apps.settings.urls_api")),
    path("", include("apps.workflows.urls_api")),
    path("", include("apps.accounts.urls_api")),
    path("", include("apps.billing.urls_api")),
    path("", include("apps.connectors.urls_api")),
    path("", include("apps.triggers.urls_api")),
    path("", include("apps.widgets.urls_api")),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"))),
    re_path(r"^api/", unknown_api_route),
    # Inbound hooks: the token in the URL is the credential (apps.triggers.hooks).
    path("hooks/app/<str:token>/<slug:connector>", trigger_hooks.app_hook, name="app_hook"),
    path("hooks/<str:token>", trigger_hooks.trigger_hook, name="trigger_hook"),
    re_path(r"^hooks/", trigger_hooks.unknown_hook),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("invites/<str:token>", invitation_page, name="invitation"),
    path("", include("apps.core.urls_dashboard")),
]

handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
