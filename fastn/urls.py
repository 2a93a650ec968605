"""URL map. API under /api/v1/ (JSON only), dashboard under /o/<slug>/."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from apps.accounts.views import invitation_page
from apps.connectors import urls as connectors_urls
from apps.core.api import HealthView, unknown_api_route
from apps.core.views import metrics_view
from apps.home import views as home_views
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
    path("", include("apps.activity.urls_api")),
]

# The dashboard of one organization: /o/<org-slug>/…
org_patterns = [
    path("", include("apps.home.urls")),
    path("integrations/", include(connectors_urls.urlpatterns)),
    path("activity/", include("apps.activity.urls")),
    path("setup/", include("apps.onboarding.urls")),
    path("settings/billing/", include("apps.billing.urls")),
    path("", include("apps.customers.urls")),
    path("settings/", include(connectors_urls.settings_urlpatterns)),
    path("settings/", include("apps.settings.urls")),
    path("", include("apps.workflows.urls")),
    path("", include("apps.triggers.urls")),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"))),
    re_path(r"^api/", unknown_api_route),
    # Inbound hooks: the token in the URL is the credential (apps.triggers.hooks).
    path("hooks/app/<str:token>/<slug:connector>", trigger_hooks.app_hook, name="app_hook"),
    path("hooks/<str:token>", trigger_hooks.trigger_hook, name="trigger_hook"),
    re_path(r"^hooks/", trigger_hooks.unknown_hook),
    # Prometheus: FASTN_METRICS_TOKEN (Bearer) or the networks of FASTN_METRICS_ALLOWED_NETWORKS.
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("invites/<str:token>", invitation_page, name="invitation"),
    path("", home_views.root, name="root"),
    path("o/", home_views.organization_picker, name="organization_picker"),
    path("o/<slug:org_slug>/", include(org_patterns)),
]

handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
