"""Activity pages, under /o/<org-slug>/activity/ (wired in fastn/urls.py)."""

from django.urls import path

from apps.activity import views

urlpatterns = [
    path("", views.activity, name="activity"),
    path("executions/", views.execution_list, name="executions"),
    path("executions/<str:execution_id>/", views.execution_detail, name="execution"),
    path("events/", views.event_list, name="events"),
    path("events/<str:event_id>/", views.event_detail, name="event"),
    path("traces/", views.trace_list, name="traces"),
    path("traces/<str:trace_id>/", views.trace_detail, name="trace"),
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<str:rule_id>/", views.alert_detail, name="alert"),
]
