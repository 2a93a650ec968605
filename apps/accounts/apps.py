from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # System checks of the residency settings (registered on import).
        from apps.core import residency  # noqa: F401
