"""Home, the Integrations overview and the Widgets section, under /o/<org-slug>/ (wired in fastn/urls.py)."""

from django.urls import path

from apps.home import views

urlpatterns = [
    path("", views.home, name="home"),
    path("integrations/", views.integrations, name="integrations"),
    path("widgets/", views.widgets, name="widgets"),
]
