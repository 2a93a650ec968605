from django.urls import path

from apps.triggers import api

urlpatterns = [
    path("triggers", api.TriggerListView.as_view(), name="triggers"),
    path("triggers/<str:trigger_id>", api.TriggerDetailView.as_view(), name="trigger"),
    path("triggers/<str:trigger_id>/rotate-token", api.TriggerRotateTokenView.as_view(), name="trigger-rotate-token"),
    path(
        "triggers/<str:trigger_id>/rotate-secret", api.TriggerRotateSecretView.as_view(), name="trigger-rotate-secret"
    ),
    path("triggers/<str:trigger_id>/fire", api.TriggerFireView.as_view(), name="trigger-fire"),
    path("events", api.EventListView.as_view(), name="events"),
    path("events/<str:event_id>", api.EventDetailView.as_view(), name="event"),
]
