from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from apps.core.models import Organization

        # Whoever saves an organization (a service, the admin, a shell), every
        # process's organization cache hears of it (apps.core.tenancy).
        post_save.connect(_organization_saved, sender=Organization, dispatch_uid="core.organization_changed")
        post_delete.connect(_organization_saved, sender=Organization, dispatch_uid="core.organization_deleted")


def _organization_saved(sender, instance, **kwargs) -> None:
    from apps.core.tenancy import organization_changed

    organization_changed(instance)
