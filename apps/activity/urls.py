"""Activity pages, under /o/<org-slug>/activity/ (wired in fastn/urls.py)."""

from django.urls import path

from apps.activity import views

urlpatterns = [
    path("", views.activity, name="activity"),
    path("executions/", views.execution_list, name="executions"),
    path("executions/<str:execution_id>/", views.execution_detail, name="execution"),
    path("events/", views.event_list, name="events"),
    path("events/<str:event_id>/", views.event_detail, name="event"),
]
