"""Writes about people: memberships, invitations, teams, email domains and the
organization's general settings. Each one is audited.

Memberships, invitations, teams and email domains live in the public schema
(a person may belong to several organizations, and an invitation link is
opened before anyone knows which organization it is for); the audit log is
the organization's, so services that audit run inside its schema.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import secrets
import zoneinfo
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.exceptions import (
    AlreadyMember,
    EmailDomainExists,
    EmailDomainNotFound,
    InvitationEmailMismatch,
    InvitationNotFound,
    InvitationUnusable,
    LastOwner,
    MemberNotFound,
    RoleNotGrantable,
    TeamExists,
    TeamNotFound,
    UnknownRole,
)
from apps.accounts.models import EmailDomain, Invitation, Membership, Team, User
from apps.accounts.principals import Principal
from apps.accounts.roles import SystemRole, role_permissions
from apps.core.errors import FastnError, InvalidInput
from apps.core.models import Organization
from apps.core.tenancy import organization_context

logger = logging.getLogger(__name__)

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Public email providers: letting "gmail.com" in would let anyone in.
PUBLIC_EMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "mail.com",
        "yandex.com",
    }
)


def _audit(actor: Principal, organization: Organization, **kwargs) -> None:
    from apps.accounts.registry import audit_record

    with organization_context(organization):
        audit_record(actor=actor, **kwargs)


def _audit_denied(actor: Principal, organization: Organization, **kwargs) -> None:
    from apps.accounts.registry import audit_denied

    with organization_context(organization):
        audit_denied(actor=actor, **kwargs)


def _role_exists(organization: Organization, role: str) -> bool:
    from apps.accounts.registry import role_exists

    with organization_context(organization):
        return role_exists(role)


def _permissions_of(organization: Organization, role: str) -> frozenset[str]:
    with organization_context(organization):
        return role_permissions(role)


@contextlib.contextmanager
def _denials_audited(actor: Principal, organization: Organization):
    """Record refusals raised inside the block after its transaction is gone.

    Checks that must sit inside a transaction (under row locks) raise errors
    carrying a `denial`; auditing them there would be rolled back with it.
    """
    try:
        yield
    except FastnError as exc:
        denial = getattr(exc, "denial", None)
        if denial:
            _audit_denied(actor, organization, **denial)
        raise


def _denied(exc: FastnError, **denial) -> FastnError:
    exc.denial = denial  # type: ignore[attr-defined]
    return exc


def _ensure_can_grant(actor: Principal, role: str, *, action: str, resource_id: str) -> None:
    """The actor must hold every permission of a role they give someone.

    Raises a denial (see _denials_audited) when they do not.
    """
    organization = actor.organization
    if not _role_exists(organization, role):
        raise UnknownRole.for_field("role", f"There is no role {role!r} in this organization.")
    missing = _permissions_of(organization, role) - actor.permissions
    if missing:
        raise _denied(
            RoleNotGrantable(
                f"You cannot give the role {role!r}: it has permissions you do not have.",
                details={"role": role, "missing": sorted(missing)[:20]},
            ),
            action=action,
            resource_type="member",
            resource_id=resource_id,
            reason=f"cannot grant role {role}",
        )


# --- Email addresses ---------------------------------------------------------------------


def user_email_mark_verified(*, user: User) -> None:
    """Record the user's address as verified and primary (allauth's table).

    For addresses Fastn itself vouches for: the owner named at bootstrap, a
    person who followed an emailed invitation link, an SSO identity.
    """
    from allauth.account.models import EmailAddress

    address = EmailAddress.objects.filter(user=user, email__iexact=user.email).first()
    if address is None:
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    elif not address.verified or not address.primary:
        address.verified = True
        address.primary = True
        address.save(update_fields=["verified", "primary"])


# --- Members --------------------------------------------------------------------------------


def _member(organization: Organization, member_id: str) -> Membership:
    membership = (
        Membership.objects.select_related("user").filter(organization=organization, public_id=member_id).first()
        if _is_uuid(member_id)
        else None
    )
    if membership is None:
        raise MemberNotFound("No member with this id in this organization.")
    return membership


def _other_active_owners(organization: Organization, membership: Membership) -> bool:
    return (
        Membership.objects.filter(organization=organization, role=SystemRole.OWNER, status=Membership.Status.ACTIVE)
        .exclude(pk=membership.pk)
        .exists()
    )


def _refuse_last_owner(actor: Principal, membership: Membership, action: str) -> None:
    if membership.role == SystemRole.OWNER and membership.status == Membership.Status.ACTIVE:
        # Lock every owner row of the organization so two concurrent demotions
        # cannot each see "another owner remains".
        list(
            Membership.objects.select_for_update()
            .filter(organization=membership.organization, role=SystemRole.OWNER)
            .values_list("pk", flat=True)
        )
        if not _other_active_owners(membership.organization, membership):
            raise _denied(
                LastOwner("An organization needs at least one Owner: make someone else Owner first."),
                action=action,
                resource_type="member",
                resource_id=str(membership.public_id),
                reason="last owner",
            )


def member_update(
    *, actor: Principal, member_id: str, role: str | None = None, status: str | None = None
) -> Membership:
    """Change a member's role or status (active/suspended, or approve a pending one).

    Refused when the actor could not grant the member's current role or the
    new one (an Admin cannot touch an Owner, nobody makes themselves more
    than they are), and when it would leave the organization without an
    active Owner.
    """
    organization = actor.organization
    with _denials_audited(actor, organization), transaction.atomic():
        membership = _member(organization, member_id)
        changes: dict[str, Any] = {}
        _ensure_can_grant(actor, membership.role, action="member.update", resource_id=member_id)
        if role is not None and role != membership.role:
            _ensure_can_grant(actor, role, action="member.update", resource_id=member_id)
            _refuse_last_owner(actor, membership, "member.update")
            changes["role"] = {"from": membership.role, "to": role}
            membership.role = role
        if status is not None and status != membership.status:
            if status not in (Membership.Status.ACTIVE, Membership.Status.SUSPENDED):
                raise InvalidInput.for_field("status", "Must be 'active' or 'suspended'.")
            if status != Membership.Status.ACTIVE:
                _refuse_last_owner(actor, membership, "member.update")
            changes["status"] = {"from": membership.status, "to": status}
            membership.status = status
        if changes:
            membership.save(update_fields=["role", "status"])
    if changes:
        _audit(
            actor,
            organization,
            action="member.update",
            resource_type="member",
            resource_id=member_id,
            changes={"email": membership.user.email, **changes},
        )
    return membership


def member_remove(*, actor: Principal, member_id: str) -> None:
    organization = actor.organization
    with _denials_audited(actor, organization), transaction.atomic():
        membership = _member(organization, member_id)
        _ensure_can_grant(actor, membership.role, action="member.remove", resource_id=member_id)
        _refuse_last_owner(actor, membership, "member.remove")
        email = membership.user.email
        membership.delete()
    _audit(
        actor,
        organization,
        action="member.remove",
        resource_type="member",
        resource_id=member_id,
        changes={"email": email},
    )


# --- Invitations -------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invitation_url(token: str) -> str:
    return f"{settings.FASTN_PUBLIC_URL.rstrip('/')}/invites/{token}"


def invitation_create(
    *, actor: Principal, email: str, role: str = SystemRole.VIEWER, team_slug: str | None = None
) -> tuple[Invitation, str]:
    """Invite someone by email. Returns (invitation, token); the token is only
    in the emailed link (we keep its hash)."""
    organization = actor.organization
    email = (email or "").strip().lower()
    if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
        raise InvalidInput.for_field("email", "Enter a valid email address.")
    with _denials_audited(actor, organization):
        _ensure_can_grant(actor, role, action="invitation.create", resource_id=email)
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise AlreadyMember(f"{email} is already a member of this organization.")
    team = None
    if team_slug:
        team = Team.objects.filter(organization=organization, slug=team_slug).first()
        if team is None:
            raise TeamNotFound(f"No team {team_slug!r}.")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        team=team,
        token_hash=_token_hash(token),
        invited_by=actor.label,
        expires_at=now + timedelta(hours=settings.FASTN_INVITE_TTL_HOURS),
    )
    link = invitation_url(token)
    context = {"organization": organization, "invitation": invitation, "link": link, "inviter": actor.label}
    # Sent after commit: an invitation that was rolled back sends nothing.
    transaction.on_commit(
        lambda: send_mail(
            subject=f"You are invited to {organization.name} on Fastn",
            message=render_to_string("accounts/email/invitation.txt", context),
            from_email=None,
            recipient_list=[email],
        )
    )
    _audit(
        actor,
        organization,
        action="invitation.create",
        resource_type="invitation",
        resource_id=str(invitation.public_id),
        changes={
            "email": email,
            "role": role,
            "team": team_slug or "",
            "expires_at": invitation.expires_at.isoformat(),
        },
    )
    return invitation, token


def invitation_revoke(*, actor: Principal, invitation_id: str) -> Invitation:
    organization = actor.organization
    invitation = (
        Invitation.objects.filter(organization=organization, public_id=invitation_id).first()
        if _is_uuid(invitation_id)
        else None
    )
    if invitation is None:
        raise InvitationNotFound("No invitation with this id.")
    updated = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if updated:
        _audit(
            actor,
            organization,
            action="invitation.revoke",
            resource_type="invitation",
            resource_id=invitation_id,
            changes={"email": invitation.email},
        )
    invitation.refresh_from_db()
    return invitation


def invitation_for_token(*, token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("organization", "team").filter(token_hash=_token_hash(token or "")).first()
    )
    if invitation is None or invitation.organization.is_template:
        raise InvitationNotFound("This invitation link is not valid.")
    return invitation


def invitation_accept(*, token: str, user: User | None = None, password: str | None = None) -> Membership:
    """Use an invitation link once.

    With `user` (signed in): their email must be the invited one. Without:
    an account is created for the invited email with `password` (refused when
    that email already has an account: they sign in first). The single use is
    a conditional UPDATE, so two clicks at once make one membership.
    """
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    invitation = invitation_for_token(token=token)
    organization = invitation.organization
    now = timezone.now()
    status = invitation.status_at(now)
    if status != "pending":
        raise InvitationUnusable(f"This invitation is {status}.", details={"status": status})
    if user is not None and user.email.lower() != invitation.email.lower():
        raise InvitationEmailMismatch(
            f"This invitation is for {invitation.email}; you are signed in as {user.email}.",
        )
    with transaction.atomic():
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).update(accepted_at=now)
        if not claimed:
            raise InvitationUnusable("This invitation has already been used.", details={"status": "accepted"})
        if user is None:
            if User.objects.filter(email__iexact=invitation.email).exists():
                raise AlreadyMember("An account with this email exists: sign in, then open the link again.")
            try:
                validate_password(password or "", user=User(email=invitation.email))
            except ValidationError as exc:
                raise InvalidInput.for_field("password", " ".join(exc.messages)) from exc
            user = User.objects.create_user(email=invitation.email, password=password)
        user_email_mark_verified(user=user)
        Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
        membership, created = Membership.objects.get_or_create(
            user=user, organization=organization, defaults={"role": invitation.role}
        )
        if not created:
            # A pending (domain sign-up) or suspended membership becomes the invited one.
            membership.role = invitation.role
            membership.status = Membership.Status.ACTIVE
            membership.save(update_fields=["role", "status"])
        if invitation.team is not None:
            invitation.team.members.add(membership)
    actor = Principal.for_member(organization=organization, user=user, role=invitation.role)
    _audit(
        actor,
        organization,
        action="invitation.accept",
        resource_type="invitation",
        resource_id=str(invitation.public_id),
        changes={"email": user.email, "role": invitation.role},
    )
    return membership


# --- Teams ---------------------------------------------------------------------------------------


def team_create(*, actor: Principal, name: str, slug: str = "", description: str = "") -> Team:
    organization = actor.organization
    name = (name or "").strip()
    if not name:
        raise InvalidInput.for_field("name", "Give the team a name.")
    slug = slug or slugify(name)[:64]
    if not re.match(r"^[a-z0-9][a-z0-9_-]{0,63}$", slug):
        raise InvalidInput.for_field("slug", "Use lowercase letters, digits, '-' or '_'.")
    try:
        with transaction.atomic():
            team = Team.objects.create(organization=organization, name=name, slug=slug, description=description)
    except IntegrityError as exc:
        raise TeamExists(f"A team {slug!r} already exists.") from exc
    _audit(actor, organization, action="team.create", resource_type="team", resource_id=slug, changes={"name": name})
    return team


def _team(organization: Organization, slug: str) -> Team:
    team = Team.objects.filter(organization=organization, slug=slug).first()
    if team is None:
        raise TeamNotFound(f"No team {slug!r}.")
    return team


def team_update(*, actor: Principal, slug: str, name: str | None = None, description: str | None = None) -> Team:
    team = _team(actor.organization, slug)
    changes = {}
    if name is not None and name.strip() and name != team.name:
        changes["name"] = team.name = name.strip()
    if description is not None and description != team.description:
        changes["description"] = team.description = description
    if changes:
        team.save(update_fields=list(changes))
        _audit(actor, actor.organization, action="team.update", resource_type="team", resource_id=slug, changes=changes)
    return team


def team_delete(*, actor: Principal, slug: str) -> None:
    team = _team(actor.organization, slug)
    team.delete()
    _audit(actor, actor.organization, action="team.delete", resource_type="team", resource_id=slug)


def team_member_add(*, actor: Principal, slug: str, member_id: str) -> Team:
    team = _team(actor.organization, slug)
    membership = _member(actor.organization, member_id)
    team.members.add(membership)
    _audit(
        actor,
        actor.organization,
        action="team.member_add",
        resource_type="team",
        resource_id=slug,
        changes={"member": membership.user.email},
    )
    return team


def team_member_remove(*, actor: Principal, slug: str, member_id: str) -> Team:
    team = _team(actor.organization, slug)
    membership = _member(actor.organization, member_id)
    team.members.remove(membership)
    _audit(
        actor,
        actor.organization,
        action="team.member_remove",
        resource_type="team",
        resource_id=slug,
        changes={"member": membership.user.email},
    )
    return team


# --- General settings and email domains -------------------------------------------------------------


def organization_update(*, actor: Principal, name: str | None = None, timezone_name: str | None = None) -> Organization:
    organization = Organization.objects.get(pk=actor.organization.pk)
    changes: dict[str, Any] = {}
    if name is not None:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput.for_field("name", "Give a name of 1 to 200 characters.")
        if name != organization.name:
            if Organization.objects.filter(name__iexact=name).exclude(pk=organization.pk).exists():
                raise InvalidInput.for_field("name", f"An organization named {name!r} already exists.")
            changes["name"] = {"from": organization.name, "to": name}
            organization.name = name
    if timezone_name is not None and timezone_name != organization.timezone:
        if timezone_name not in zoneinfo.available_timezones():
            raise InvalidInput.for_field("timezone", f"Unknown time zone {timezone_name!r}; use e.g. Europe/Berlin.")
        changes["timezone"] = {"from": organization.timezone, "to": timezone_name}
        organization.timezone = timezone_name
    if changes:
        organization.save(update_fields=["name", "timezone"])
        from apps.core.tenancy import organization_forget

        organization_forget(organization)
        actor.organization.name, actor.organization.timezone = organization.name, organization.timezone
        _audit(
            actor,
            organization,
            action="organization.update",
            resource_type="organization",
            resource_id=str(organization.account_id),
            changes=changes,
        )
    return organization


def email_domain_add(*, actor: Principal, domain: str, auto_approve: bool = False) -> EmailDomain:
    organization = actor.organization
    domain = (domain or "").strip().lower().lstrip("@")
    if not DOMAIN_RE.match(domain):
        raise InvalidInput.for_field("domain", "Enter a domain name such as acme.com.")
    if domain in PUBLIC_EMAIL_DOMAINS:
        raise InvalidInput.for_field("domain", f"{domain} is a public email provider: anyone could join.")
    try:
        with transaction.atomic():
            rule = EmailDomain.objects.create(organization=organization, domain=domain, auto_approve=auto_approve)
    except IntegrityError as exc:
        raise EmailDomainExists(f"{domain} is already listed.") from exc
    _audit(
        actor,
        organization,
        action="email_domain.create",
        resource_type="email_domain",
        resource_id=domain,
        changes={"auto_approve": auto_approve},
    )
    return rule


def _email_domain(organization: Organization, domain: str) -> EmailDomain:
    rule = EmailDomain.objects.filter(organization=organization, domain=domain.lower()).first()
    if rule is None:
        raise EmailDomainNotFound(f"{domain} is not listed.")
    return rule


def email_domain_update(*, actor: Principal, domain: str, auto_approve: bool) -> EmailDomain:
    rule = _email_domain(actor.organization, domain)
    if rule.auto_approve != auto_approve:
        rule.auto_approve = auto_approve
        rule.save(update_fields=["auto_approve"])
        _audit(
            actor,
            actor.organization,
            action="email_domain.update",
            resource_type="email_domain",
            resource_id=rule.domain,
            changes={"auto_approve": auto_approve},
        )
    return rule


def email_domain_remove(*, actor: Principal, domain: str) -> None:
    rule = _email_domain(actor.organization, domain)
    rule.delete()
    _audit(actor, actor.organization, action="email_domain.delete", resource_type="email_domain", resource_id=domain)


def domain_join_for_verified_email(*, user: User, email: str) -> list[Membership]:
    """Join the organizations that list the domain of a verified address.

    Auto-approving organizations make the user an active Viewer; the others
    a pending member an administrator approves on the People page.
    Idempotent: existing memberships are left as they are.
    """
    domain = email.rsplit("@", 1)[-1].lower()
    joined = []
    for rule in EmailDomain.objects.select_related("organization").filter(
        domain=domain, organization__is_template=False
    ):
        organization = rule.organization
        status = Membership.Status.ACTIVE if rule.auto_approve else Membership.Status.PENDING
        membership, created = Membership.objects.get_or_create(
            user=user, organization=organization, defaults={"role": SystemRole.VIEWER, "status": status}
        )
        if not created:
            continue
        joined.append(membership)
        system = Principal.system(organization=organization, label="email domain sign-up")
        _audit(
            system,
            organization,
            action="member.join",
            resource_type="member",
            resource_id=str(membership.public_id),
            changes={"email": user.email, "domain": domain, "status": status, "role": SystemRole.VIEWER},
        )
    return joined


def email_domain_allows_signup(*, email: str) -> bool:
    domain = (email or "").rsplit("@", 1)[-1].lower()
    return EmailDomain.objects.filter(domain=domain, organization__is_template=False).exists()


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
