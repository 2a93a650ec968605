from django.urls import include, path

from apps.connectors import urls as connectors_urls
from apps.core import views

org_patterns = [
    path("", views.home, name="home"),
    path("integrations/", views.integrations, name="integrations"),
    path("integrations/", include(connectors_urls.urlpatterns)),
    path("widgets/", views.widgets, name="widgets"),
    path("activity/", views.activity, name="activity"),
    path("settings/billing/", include("apps.billing.urls")),
    path("", include("apps.customers.urls")),
    path("settings/", include(connectors_urls.settings_urlpatterns)),
    path("settings/", include("apps.settings.urls")),
    path("", include("apps.workflows.urls")),
    path("", include("apps.triggers.urls")),
]

urlpatterns = [
    path("", views.root, name="root"),
    path("o/", views.organization_picker, name="organization_picker"),
    path("o/<slug:org_slug>/", include(org_patterns)),
]
