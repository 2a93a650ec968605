from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # System checks of the residency settings (registered on import).
        # The Owner of a new organization (apps.core.lifecycle).
        from apps.accounts.lifecycle import organization_owner_create
        from apps.core import (
            lifecycle,
            residency,  # noqa: F401
        )

        lifecycle.register_organization_steps(created=organization_owner_create)
