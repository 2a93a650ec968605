"""/api/v1/alerts (wired in fastn/urls.py)."""

from django.urls import path

from apps.activity import api

urlpatterns = [
    path("alerts", api.AlertListView.as_view(), name="alerts"),
    path("alerts/<str:rule_id>", api.AlertDetailView.as_view(), name="alert"),
    path("alerts/<str:rule_id>/events", api.AlertEventListView.as_view(), name="alert-events"),
    path("alerts/<str:rule_id>/mute", api.AlertMuteView.as_view(), name="alert-mute"),
    path("alerts/<str:rule_id>/test", api.AlertTestView.as_view(), name="alert-test"),
]
