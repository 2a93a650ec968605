from django.urls import include, path

from apps.core import views

org_patterns = [
    path("", views.home, name="home"),
    path("integrations/", views.integrations, name="integrations"),
    path("widgets/", views.widgets, name="widgets"),
    path("activity/", views.activity, name="activity"),
    path("settings/", include("apps.settings.urls")),
    path("", include("apps.workflows.urls")),
]

urlpatterns = [
    path("", views.root, name="root"),
    path("o/", views.organization_picker, name="organization_picker"),
    path("o/<slug:org_slug>/", include(org_patterns)),
]
