from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "apps.workflows"
    label = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        # fastn.db schemas and roles follow organizations and customers, the
        # database-wide set-up follows `migrate`, and role passwords follow
        # key rotation (apps.core.lifecycle, apps.core.rotation).
        from apps.core import lifecycle, rotation
        from apps.workflows import lifecycle as workflows_lifecycle

        lifecycle.register_organization_steps(deleting=workflows_lifecycle.organization_sandboxes_drop)
        lifecycle.register_customer_deleted(workflows_lifecycle.customer_sandbox_drop)
        lifecycle.register_migrated(workflows_lifecycle.sandbox_setup_after_migrate)
        rotation.register_rotation(
            "sandbox role passwords", workflows_lifecycle.sandbox_passwords_rotate, database_wide_as="fastn.db"
        )
