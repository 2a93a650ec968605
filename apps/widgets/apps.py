from django.apps import AppConfig


class WidgetsConfig(AppConfig):
    name = "apps.widgets"
    label = "widgets"
    verbose_name = "Widgets and embedding"

    def ready(self) -> None:
        from apps.widgets import signals  # noqa: F401 - CORS decisions for /api/v1/embed/
