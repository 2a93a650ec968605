"""The setup assistant, under /o/<org-slug>/setup/ (wired in fastn/urls.py)."""

from django.urls import path

from apps.onboarding import views

urlpatterns = [
    path("", views.setup, name="onboarding"),
    path("reset", views.reset, name="onboarding_reset"),
    path("<int:step>/", views.step_page, name="onboarding_step"),
]
