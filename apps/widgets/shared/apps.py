from django.apps import AppConfig


class WidgetsSharedConfig(AppConfig):
    """The public-schema half of widgets: customer sessions and the origins
    allowed to call /api/v1/embed/, found without knowing the organization."""

    name = "apps.widgets.shared"
    label = "widgets_shared"
    verbose_name = "Embedding (shared routing)"
