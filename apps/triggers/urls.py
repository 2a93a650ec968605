"""Dashboard pages of triggers, under /o/<org-slug>/ (wired in fastn/urls.py)."""

from django.urls import path

from apps.triggers import views

urlpatterns = [
    path("integrations/triggers/", views.trigger_list, name="triggers"),
    path("integrations/triggers/<str:trigger_id>/", views.trigger_detail, name="trigger"),
    path(
        "integrations/triggers/<str:trigger_id>/rotate-token", views.trigger_rotate_token, name="trigger_rotate_token"
    ),
    path(
        "integrations/triggers/<str:trigger_id>/rotate-secret",
        views.trigger_rotate_secret,
        name="trigger_rotate_secret",
    ),
    path("integrations/triggers/<str:trigger_id>/fire", views.trigger_fire, name="trigger_fire"),
    path("integrations/triggers/<str:trigger_id>/delete", views.trigger_delete, name="trigger_delete"),
]
