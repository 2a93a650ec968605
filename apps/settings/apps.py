from django.apps import AppConfig


class SettingsConfig(AppConfig):
    name = "apps.settings"
    label = "settings"
    verbose_name = "Organization settings"

    def ready(self) -> None:
        # What the layers below ask of settings (apps/README.md): core finds
        # customers and joins organization creation through its registries;
        # accounts reads custom roles, writes the audit log and checks API keys.
        from apps.accounts import registry as accounts_registry
        from apps.core import lifecycle, rotation
        from apps.core.customers import register_customer_lookup
        from apps.settings import selectors, services
        from apps.settings.lifecycle import organization_settings_create

        register_customer_lookup(get=selectors.customer_get, id_for=selectors.customer_id_for_external_id)
        lifecycle.register_organization_steps(created=organization_settings_create)
        rotation.register_rotation("secrets", services.secrets_rotate_encryption)
        accounts_registry.register_custom_roles(
            permissions=selectors.custom_role_permissions,
            scoped_resources=selectors.custom_role_scoped_resources,
            exists=services.role_exists,
            choices=selectors.role_choices,
        )
        accounts_registry.register_audit_log(record=services.audit_record, denied=services.audit_denied)
        accounts_registry.register_api_keys(authenticate=services.api_key_authenticate)
