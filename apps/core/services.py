"""Creating and deleting organizations (the apps above add their parts: apps.core.lifecycle)."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.db import connection, transaction
from django.utils.text import slugify

from apps.core import lifecycle
from apps.core.exceptions import InvalidOrganizationName, OrganizationExists
from apps.core.lifecycle import CreatedOrganization
from apps.core.models import Organization

logger = logging.getLogger(__name__)

TEMPLATE_SLUG = "fastn-template"
RESERVED_SLUGS = {TEMPLATE_SLUG, "public", "admin", "api", "static", "accounts", "hooks", "o", "www"}


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
    existing = Organization.objects.filter(schema_name=settings.TENANT_BASE_SCHEMA).first()
    if existing is not None:
        return existing
    template = Organization(
        schema_name=settings.TENANT_BASE_SCHEMA,
        name="Fastn template",
        slug=TEMPLATE_SLUG,
        is_template=True,
    )
    lifecycle.organization_prepare(template, {"template": True})
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

    Core saves the row and its schema; the apps above add their parts through
    `apps.core.lifecycle` (billing the plan, accounts the Owner, settings the
    environments, keys and audit event), all in one transaction.
    Fails with OrganizationExists when the name (or its slug) is taken.
    """
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidOrganizationName.for_field("name", "Give a name of 1 to 200 characters.")
    slug = organization_slug_for(name)
    organization = Organization(schema_name=schema_name_for(slug), name=name, slug=slug, timezone=timezone_name)
    options = {"plan_slug": plan_slug, "owner_password": owner_password}
    lifecycle.organization_prepare(organization, options)
    if Organization.objects.filter(slug=slug).exists() or Organization.objects.filter(name__iexact=name).exists():
        raise OrganizationExists(f"An organization named {name!r} already exists.", details={"slug": slug})

    # Outside the transaction: the template is shared, and building it the
    # first time must not be undone by a failure of this organization.
    if not Organization.objects.filter(schema_name=settings.TENANT_BASE_SCHEMA).exists():
        template_ensure()

    created = CreatedOrganization(organization, owner_email.strip(), None, options=options)
    with transaction.atomic():
        organization.save(verbosity=0)
        connection.set_schema_to_public()
        lifecycle.organization_created(created)
    logger.info("Created organization %s (%s)", organization.slug, organization.schema_name)
    return created


def organization_delete(*, organization: Organization) -> None:
    """Delete an organization and drop its schema, with what the apps above
    keep for it elsewhere (fastn.db schemas and roles). Irreversible."""
    connection.set_schema_to_public()
    lifecycle.organization_deleting(organization)
    organization.delete(force_drop=True)
