from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from apps.core.metrics import queue_depth_read, register_gauge

        register_gauge(
            "fastn_queue_depth", "Messages waiting in each tier's Celery queue.", ("tier",), queue_depth_read
        )
