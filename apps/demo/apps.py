from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "apps.demo"
    label = "demo"
    verbose_name = "Demo organization"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The demo key is kept encrypted (apps/demo/services.py): re-encrypted
        # by rotate_encryption_keys with everything else.
        from apps.core import rotation
        from apps.demo.services import demo_rotate_encryption

        rotation.register_rotation("demo API keys", demo_rotate_encryption, database_wide_as="demo organization")
