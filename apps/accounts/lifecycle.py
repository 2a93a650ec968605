"""Accounts' part in creating an organization: its Owner (apps.core.lifecycle)."""

from __future__ import annotations

import secrets

from apps.accounts.models import Membership, User
from apps.accounts.roles import SystemRole
from apps.core.lifecycle import CreatedOrganization


def organization_owner_create(created: CreatedOrganization) -> None:
    """Make the Owner's membership, creating the user (with the password asked
    for, or a generated one reported once) when the address has no account."""
    from apps.accounts.services import user_email_mark_verified

    organization = created.organization
    user = User.objects.filter(email__iexact=created.owner_email).first()
    password: str | None = None
    if user is None:
        password = created.options.get("owner_password") or secrets.token_urlsafe(12)
        user = User.objects.create_user(email=created.owner_email, password=password)
    # The operator who bootstraps an organization vouches for its owner's
    # address, so the owner can sign in without a verification round.
    user_email_mark_verified(user=user)
    Membership.objects.create(user=user, organization=organization, role=SystemRole.OWNER)
    created.owner_email = user.email
    created.owner_password = password
