"""Settings' part in an organization's and a customer's life (apps.core.lifecycle)."""

from __future__ import annotations

from apps.accounts.principals import Principal
from apps.core.lifecycle import CreatedOrganization
from apps.core.tenancy import organization_context
from apps.settings import services as settings_services


def organization_settings_create(created: CreatedOrganization) -> None:
    """The default environments, a Test and a Live key (raw keys reported
    once), and the audit event of the creation."""
    organization = created.organization
    with organization_context(organization):
        settings_services.environments_create_defaults()
        system = Principal.system(organization=organization, label="bootstrap")
        for kind in ("test", "live"):
            _, raw = settings_services.api_key_create(actor=system, name=f"Default {kind} key", kind=kind)
            created.api_keys[kind] = raw
        settings_services.audit_record(
            actor=system,
            action="organization.create",
            resource_type="organization",
            resource_id=str(organization.account_id),
            changes={"name": organization.name, "plan": organization.plan.slug, "owner": created.owner_email},
        )
