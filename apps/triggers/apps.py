from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "apps.triggers"
    label = "triggers"
    verbose_name = "Triggers"

    def ready(self) -> None:
        from apps.core.metrics import register_gauge
        from apps.triggers.metrics import intake_backlog_read

        register_gauge(
            "fastn_intake_backlog",
            "Accepted trigger events not yet running (received or queued), across organizations.",
            (),
            intake_backlog_read,
        )
