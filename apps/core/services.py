"""Creating organizations: schema, owner, environments and first API keys."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils.text import slugify

from apps.core.exceptions import InvalidOrganizationName, OrganizationExists
from apps.core.models import Organization
from apps.core.tenancy import organization_context

logger = logging.getLogger(__name__)

TEMPLATE_SLUG = "fastn-template"
RESERVED_SLUGS = {TEMPLATE_SLUG, "public", "admin", "api", "static", "accounts", "hooks", "o", "www"}


@dataclass
class CreatedOrganization:
    organization: Organization
    owner_email: str
    owner_password: str | None  # None when the owner already had an account
    api_keys: dict[str, str]  # kind → raw key, shown once


def organization_slug_for(name: str) -> str:
    slug = slugify(name)[:50].strip("-")
    if not slug or not re.match(r"^[a-z0-9]", slug):
        raise InvalidOrganizationName.for_field("name", "The name needs at least one letter or digit.")
    if slug in RESERVED_SLUGS:
        raise InvalidOrganizationName.for_field("name", f"The name {name!r} is reserved.")
    return slug


def schema_name_for(slug: str) -> str:
    return ("org_" + slug.replace("-", "_"))[:63]


def template_ensure() -> Organization:
    """The template organization whose schema new organizations clone.

    Its schema is built by running every tenant migration once; `migrate`
    keeps it current afterwards like any other tenant.
    """
    from apps.billing.models import Plan

    existing = Organization.objects.filter(schema_name=settings.TENANT_BASE_SCHEMA).first()
    if existing is not None:
        return existing
    plan = Plan.objects.order_by("monthly_price_cents").first()
    template = Organization(
        schema_name=settings.TENANT_BASE_SCHEMA,
        name="Fastn template",
        slug=TEMPLATE_SLUG,
        plan=plan,
        is_template=True,
    )
    template.save(verbosity=0)
    return template


def organization_create(
    *,
    name: str,
    owner_email: str,
    owner_password: str | None = None,
    plan_slug: str = "free",
    timezone_name: str = "UTC",
) -> CreatedOrganization:
    """Create an organization with its schema, Owner, environments and keys.

    Fails with OrganizationExists when the name (or its slug) is taken.
    """
    from apps.accounts.models import Membership, User
    from apps.accounts.principals import Principal
    from apps.accounts.roles import SystemRole
    from apps.accounts.services import user_email_mark_verified
    from apps.billing.models import Plan
    from apps.settings import services as settings_services

    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidOrganizationName.for_field("name", "Give a name of 1 to 200 characters.")
    slug = organization_slug_for(name)
    plan = Plan.objects.filter(slug=plan_slug).first()
    if plan is None:
        raise InvalidOrganizationName.for_field("plan", f"There is no plan {plan_slug!r}.")
    if Organization.objects.filter(slug=slug).exists() or Organization.objects.filter(name__iexact=name).exists():
        raise OrganizationExists(f"An organization named {name!r} already exists.", details={"slug": slug})

    # Outside the transaction: the template is shared, and building it the
    # first time must not be undone by a failure of this organization.
    if not Organization.objects.filter(schema_name=settings.TENANT_BASE_SCHEMA).exists():
        template_ensure()

    with transaction.atomic():
        organization = Organization(
            schema_name=schema_name_for(slug), name=name, slug=slug, plan=plan, timezone=timezone_name
        )
        organization.save(verbosity=0)
        connection.set_schema_to_public()

        user = User.objects.filter(email__iexact=owner_email.strip()).first()
        password: str | None = None
        if user is None:
            password = owner_password or secrets.token_urlsafe(12)
            user = User.objects.create_user(email=owner_email.strip(), password=password)
        # The operator who bootstraps an organization vouches for its owner's
        # address, so the owner can sign in without a verification round.
        user_email_mark_verified(user=user)
        Membership.objects.create(user=user, organization=organization, role=SystemRole.OWNER)

        with organization_context(organization):
            settings_services.environments_create_defaults()
            system = Principal.system(organization=organization, label="bootstrap")
            keys = {}
            for kind in ("test", "live"):
                _, raw = settings_services.api_key_create(actor=system, name=f"Default {kind} key", kind=kind)
                keys[kind] = raw
            settings_services.audit_record(
                actor=system,
                action="organization.create",
                resource_type="organization",
                resource_id=str(organization.account_id),
                changes={"name": name, "plan": plan.slug, "owner": user.email},
            )
    logger.info("Created organization %s (%s)", organization.slug, organization.schema_name)
    return CreatedOrganization(organization, user.email, password, keys)


def organization_delete(*, organization: Organization) -> None:
    """Delete an organization and drop its schema, with every fastn.db schema
    and role of its customers. Irreversible."""
    from apps.workflows.sandbox_db import sandbox_drop_organization

    connection.set_schema_to_public()
    sandbox_drop_organization(organization.pk)
    organization.delete(force_drop=True)
