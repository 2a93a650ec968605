"""Writes to an organization's settings. Each one is audited.

Services run inside the organization's schema (the request's or the task's)
and take the acting `Principal` as `actor`.
"""

from __future__ import annotations

import logging
import re
import secrets as pysecrets
import string
import uuid
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.principals import Principal
from apps.accounts.roles import SystemRole, is_system_role, role_permissions
from apps.core import crypto, lifecycle
from apps.core.errors import InvalidInput
from apps.core.residency import customer_database
from apps.settings.exceptions import (
    ApiKeyNotFound,
    CustomerExists,
    EnvironmentExists,
    EnvironmentNotAllowed,
    EnvironmentProtected,
    RoleExists,
    RoleInUse,
    RoleNotGrantable,
    SecretExists,
    SystemRoleImmutable,
    UnknownRole,
)
from apps.settings.models import ApiKey, AuditEvent, Customer, CustomRole, Environment, Secret
from apps.settings.selectors import (
    api_key_for_raw,
    api_key_hash,
    custom_role_get,
    customer_get,
    environment_get,
    secret_get,
)

logger = logging.getLogger(__name__)

SECRET_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
MAX_SECRET_BYTES = 64 * 1024
DEFAULT_ENVIRONMENTS = (
    ("dev", "Development", False),
    ("staging", "Staging", False),
    ("production", "Production", True),
)
KEY_ALPHABET = string.ascii_letters + string.digits
KEY_RANDOM_LENGTH = 40  # ~238 bits
KEY_VISIBLE_LENGTH = 8
LAST_USED_RESOLUTION = timedelta(minutes=1)
DEFAULT_KEY_ROLES = {ApiKey.Kind.TEST: SystemRole.DEVELOPER, ApiKey.Kind.LIVE: SystemRole.ADMIN}


# --- Audit ---------------------------------------------------------------------


def audit_record(
    *,
    actor: Principal | None,
    action: str,
    resource_type: str,
    resource_id: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. Callers leave secret values out of `changes`."""
    if actor is None:
        actor_type, actor_id, label, ip = AuditEvent.ActorType.SYSTEM, "", "system", None
    else:
        actor_type = {
            "user": AuditEvent.ActorType.USER,
            "api_key": AuditEvent.ActorType.API_KEY,
            "customer": AuditEvent.ActorType.CUSTOMER,
        }.get(actor.kind, AuditEvent.ActorType.SYSTEM)
        actor_id, label, ip = actor.actor_id, actor.label, actor.ip
    return AuditEvent.objects.create(
        actor_type=actor_type,
        actor_id=actor_id[:64],
        actor_label=label[:255],
        action=action[:64],
        resource_type=resource_type[:64],
        resource_id=str(resource_id)[:255],
        outcome=outcome,
        ip=ip,
        changes=changes or {},
    )


def audit_denied(*, actor: Principal | None, action: str, resource_type: str, resource_id: str = "", reason: str = ""):
    return audit_record(
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        outcome=AuditEvent.Outcome.DENIED,
        changes={"reason": reason} if reason else None,
    )


# --- Customers -----------------------------------------------------------------


def customer_create(
    *, actor: Principal, external_id: str, name: str, tier: str = "standard", region: str = "us", metadata=None
) -> Customer:
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                external_id=external_id, name=name, tier=tier, region=region, metadata=metadata or {}
            )
    except IntegrityError as exc:
        raise CustomerExists(
            f"A customer with external_id {external_id!r} already exists.", details={"external_id": external_id}
        ) from exc
    audit_record(
        actor=actor,
        action="customer.create",
        resource_type="customer",
        resource_id=external_id,
        changes={"name": name, "tier": tier, "region": region},
    )
    return customer


def customer_update(*, actor: Principal, external_id: str, **fields: Any) -> Customer:
    customer = customer_get(external_id=external_id)
    allowed = {"name", "tier", "region", "metadata"}
    changed = {k: v for k, v in fields.items() if k in allowed and getattr(customer, k) != v}
    for name, value in changed.items():
        setattr(customer, name, value)
    if changed:
        customer.save(update_fields=[*changed, "updated_at"])
        audit_record(
            actor=actor,
            action="customer.update",
            resource_type="customer",
            resource_id=external_id,
            changes={k: v for k, v in changed.items() if k != "metadata"},
        )
    return customer


def customer_delete(*, actor: Principal, external_id: str) -> None:
    """Delete a customer and everything keyed by it. Apps that must act while
    its rows exist (revoking its connections at the providers) do it in their
    `customer_deleting` lifecycle step first."""
    customer = customer_get(external_id=external_id)
    lifecycle.customer_deleting(customer=customer, actor=actor)
    customer_id = customer.id
    region_database = customer_database(customer)
    customer.delete()
    # What other apps keep for the customer elsewhere goes with it (its fastn.db schema and role).
    lifecycle.customer_deleted(organization_id=actor.organization.pk, customer_id=customer_id, database=region_database)
    audit_record(actor=actor, action="customer.delete", resource_type="customer", resource_id=external_id)


# --- Secrets -------------------------------------------------------------------


def _validate_secret(name: str, value: str) -> None:
    if not SECRET_NAME_RE.match(name or ""):
        raise InvalidInput.for_field(
            "name", "Use 1–128 letters, digits, '_', '.' or '-', starting with a letter or '_'."
        )
    if not isinstance(value, str) or value == "":
        raise InvalidInput.for_field("value", "A secret's value must be a non-empty string.")
    if len(value.encode("utf-8")) > MAX_SECRET_BYTES:
        raise InvalidInput.for_field("value", f"A secret's value may be at most {MAX_SECRET_BYTES} bytes.")


def secret_create(*, actor: Principal, name: str, value: str) -> Secret:
    _validate_secret(name, value)
    try:
        with transaction.atomic():
            secret = Secret.objects.create(
                name=name, ciphertext=crypto.encrypt(value), created_by=actor.label, updated_by=actor.label
            )
    except IntegrityError as exc:
        raise SecretExists(f"A secret named {name!r} already exists; use PUT to change its value.") from exc
    audit_record(actor=actor, action="secret.create", resource_type="secret", resource_id=name)
    return secret


def secret_put(*, actor: Principal, name: str, value: str) -> tuple[Secret, bool]:
    """Create or replace a secret's value. Returns (secret, created)."""
    _validate_secret(name, value)
    with transaction.atomic():
        secret, created = Secret.objects.select_for_update().get_or_create(
            name=name,
            defaults={"ciphertext": crypto.encrypt(value), "created_by": actor.label, "updated_by": actor.label},
        )
        if not created:
            secret.ciphertext = crypto.encrypt(value)
            secret.updated_by = actor.label
            secret.save(update_fields=["ciphertext", "updated_by", "updated_at"])
    audit_record(
        actor=actor, action="secret.create" if created else "secret.update", resource_type="secret", resource_id=name
    )
    return secret, created


def secret_delete(*, actor: Principal, name: str) -> None:
    secret = secret_get(name=name)
    secret.delete()
    audit_record(actor=actor, action="secret.delete", resource_type="secret", resource_id=name)


def secrets_rotate_encryption() -> int:
    """Re-encrypt every secret under the newest key. Returns the count."""
    count = 0
    for secret in Secret.objects.select_for_update().iterator():
        secret.ciphertext = crypto.rotate(secret.ciphertext)
        secret.save(update_fields=["ciphertext"])
        count += 1
    return count


# --- API keys --------------------------------------------------------------------


def _new_raw_key(kind: str) -> str:
    body = "".join(pysecrets.choice(KEY_ALPHABET) for _ in range(KEY_RANDOM_LENGTH))
    return f"fastn_{kind}_{body}"


def role_exists(role: str) -> bool:
    return is_system_role(role) or CustomRole.objects.filter(slug=role).exists()


def _ensure_grantable(actor: Principal, role: str) -> None:
    if not role_exists(role):
        raise UnknownRole.for_field("role", f"There is no role {role!r} in this organization.")
    missing = role_permissions(role) - actor.permissions
    if missing:
        audit_denied(actor=actor, action="api_key.create", resource_type="api_key", reason=f"cannot grant role {role}")
        raise RoleNotGrantable(
            f"You cannot create a key with the role {role!r}: it has permissions you do not have.",
            details={"role": role, "missing": sorted(missing)[:20]},
        )


def api_key_create(*, actor: Principal, name: str, kind: str, role: str | None = None) -> tuple[ApiKey, str]:
    """Create a key. Returns (key, raw secret): the raw secret is shown this once."""
    if kind not in ApiKey.Kind.values:
        raise InvalidInput.for_field("kind", "Must be 'test' or 'live'.")
    role = role or DEFAULT_KEY_ROLES[kind]
    if actor.kind != "system":
        _ensure_grantable(actor, role)
    elif not role_exists(role):
        raise UnknownRole.for_field("role", f"There is no role {role!r} in this organization.")
    raw = _new_raw_key(kind)
    visible = raw[: len(f"fastn_{kind}_") + KEY_VISIBLE_LENGTH]
    key = ApiKey.objects.create(
        name=name, kind=kind, role=role, prefix=visible, key_hash=api_key_hash(raw), created_by=actor.label
    )
    audit_record(
        actor=actor,
        action="api_key.create",
        resource_type="api_key",
        resource_id=str(key.id),
        changes={"name": name, "kind": kind, "role": role, "prefix": visible},
    )
    return key, raw


def api_key_revoke(*, actor: Principal, key_id: str) -> ApiKey:
    key = ApiKey.objects.filter(id=key_id).first() if _is_uuid(key_id) else None
    if key is None:
        raise ApiKeyNotFound("No API key with this id.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="api_key.revoke",
            resource_type="api_key",
            resource_id=str(key.id),
            changes={"prefix": key.prefix},
        )
    return key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key for a presented secret; records its use (at most once a minute)."""
    key = api_key_for_raw(raw_key=raw_key)
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        # A conditional update: concurrent requests write it once.
        stale = now - LAST_USED_RESOLUTION
        ApiKey.objects.filter(pk=key.pk).filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)).update(
            last_used_at=now
        )
        key.last_used_at = now
    return key


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# --- Environments ------------------------------------------------------------------


def environments_create_defaults() -> list[Environment]:
    return [
        Environment.objects.get_or_create(slug=slug, defaults={"name": name, "is_production": prod})[0]
        for slug, name, prod in DEFAULT_ENVIRONMENTS
    ]


def environment_create(*, actor: Principal, slug: str, name: str = "", is_production: bool = False) -> Environment:
    try:
        with transaction.atomic():
            environment = Environment.objects.create(slug=slug, name=name or slug, is_production=is_production)
    except IntegrityError as exc:
        raise EnvironmentExists(f"An environment named {slug!r} already exists.") from exc
    audit_record(actor=actor, action="environment.create", resource_type="environment", resource_id=slug)
    return environment


ENVIRONMENT_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
# Deploying to and running in an environment: what Test keys may not do in production.
PRODUCTION_GUARDED_ACTIONS = ("deploy", "run")


def environment_update(
    *, actor: Principal, slug: str, name: str | None = None, is_production: bool | None = None
) -> Environment:
    environment = environment_get(slug=slug)
    changes: dict[str, Any] = {}
    if name is not None and name != environment.name:
        changes["name"] = name
    if is_production is not None and is_production != environment.is_production:
        if slug in {s for s, _, _ in DEFAULT_ENVIRONMENTS}:
            raise EnvironmentProtected(f"The {slug} environment's production flag cannot change.")
        changes["is_production"] = is_production
    for field, value in changes.items():
        setattr(environment, field, value)
    if changes:
        environment.save(update_fields=list(changes))
        audit_record(
            actor=actor, action="environment.update", resource_type="environment", resource_id=slug, changes=changes
        )
    return environment


def environment_delete(*, actor: Principal, slug: str) -> None:
    """Delete a custom environment. dev, staging and production stay."""
    environment = environment_get(slug=slug)
    if slug in {s for s, _, _ in DEFAULT_ENVIRONMENTS}:
        raise EnvironmentProtected(f"The default environment {slug!r} cannot be deleted.")
    environment.delete()
    audit_record(actor=actor, action="environment.delete", resource_type="environment", resource_id=slug)


def environment_check_allowed(*, principal: Principal, environment_slug: str, action: str) -> Environment:
    """May `principal` `action` ("deploy" or "run") in this environment?

    The rule: Test API keys cannot deploy to or run in a production
    environment (production itself, or a custom one flagged production);
    Live keys can, and so can people (their role decides). Role checks
    (workflows.deploy / workflows.run) are the caller's, as usual.

    Returns the Environment; raises EnvironmentNotFound (404) or
    EnvironmentNotAllowed (403, audited as denied). The workflow engine calls
    this before deploying a version and before starting a run.
    """
    environment = environment_get(slug=environment_slug)
    api_key = principal.api_key
    if (
        action in PRODUCTION_GUARDED_ACTIONS
        and environment.is_production
        and api_key is not None
        and api_key.kind == ApiKey.Kind.TEST
    ):
        audit_denied(
            actor=principal,
            action=f"environment.{action}",
            resource_type="environment",
            resource_id=environment.slug,
            reason="test keys cannot deploy to or run in production",
        )
        raise EnvironmentNotAllowed(
            f"Test keys cannot {action} in the {environment.slug} environment: it is a production environment. "
            "Use a Live key.",
            details={"environment": environment.slug, "action": action, "key_kind": api_key.kind},
        )
    return environment


# --- Custom roles --------------------------------------------------------------------

ROLE_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _validate_role_permissions(permissions: list[str]) -> frozenset[str]:
    from apps.accounts.roles import ALL_PERMISSIONS

    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise InvalidInput.for_field("permissions", 'Must be a list of "<resource>.<action>" strings.')
    unknown = sorted(set(permissions) - ALL_PERMISSIONS)
    if unknown:
        raise InvalidInput.for_field("permissions", f"Unknown permissions: {', '.join(unknown[:10])}.")
    return frozenset(permissions)


def _refuse_escalation(actor: Principal, action: str, slug: str, wanted: frozenset[str]) -> None:
    """Nobody grants (or takes away) what they do not hold themselves."""
    missing = wanted - actor.permissions
    if missing:
        audit_denied(
            actor=actor,
            action=action,
            resource_type="role",
            resource_id=slug,
            reason=f"cannot grant permissions it lacks: {', '.join(sorted(missing)[:10])}",
        )
        raise RoleNotGrantable(
            "You cannot grant permissions you do not have.", details={"role": slug, "missing": sorted(missing)[:20]}
        )


def _resolve_scopes(actor: Principal, slug: str, permissions: frozenset[str], scopes: dict | None) -> dict:
    from apps.accounts.access import principal_can_object, resolve_objects

    resolved = {}
    for resource, ids in (scopes or {}).items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InvalidInput.for_field(f"scopes.{resource}", "Must be a list of ids.")
        if not any(p.startswith(f"{resource}.") for p in permissions):
            raise InvalidInput.for_field(f"scopes.{resource}", "The role grants nothing on this resource.")
        objects = resolve_objects(resource, ids)
        for obj in objects:
            if not principal_can_object(actor, resource, "view", obj):
                audit_denied(
                    actor=actor,
                    action="role.scope",
                    resource_type="role",
                    resource_id=slug,
                    reason=f"cannot grant access to a {resource} object it cannot see",
                )
                raise RoleNotGrantable("You cannot grant access to objects you cannot access.")
        resolved[resource] = objects
    return resolved


def _refuse_system_role(actor: Principal, slug: str, action: str) -> None:
    if is_system_role(slug):
        audit_denied(actor=actor, action=action, resource_type="role", resource_id=slug, reason="system role")
        raise SystemRoleImmutable(f"{slug} is a system role: system roles cannot be changed or deleted.")


def role_create(
    *,
    actor: Principal,
    slug: str,
    name: str,
    permissions: list[str],
    description: str = "",
    scopes: dict[str, list[str]] | None = None,
) -> CustomRole:
    from apps.accounts.access import role_scope_sync

    if not ROLE_SLUG_RE.match(slug or ""):
        raise InvalidInput.for_field("slug", "Use 1–64 lowercase letters, digits, '-' or '_'.")
    _refuse_system_role(actor, slug, "role.create")
    wanted = _validate_role_permissions(permissions)
    _refuse_escalation(actor, "role.create", slug, wanted)
    resolved = _resolve_scopes(actor, slug, wanted, scopes)
    try:
        with transaction.atomic():
            role = CustomRole.objects.create(
                slug=slug,
                name=name,
                description=description,
                permissions=sorted(wanted),
                scoped_resources=sorted(resolved),
                created_by=actor.label,
            )
            role_scope_sync(actor.organization, slug, wanted, resolved)
    except IntegrityError as exc:
        raise RoleExists(f"A role {slug!r} already exists.") from exc
    audit_record(
        actor=actor,
        action="role.create",
        resource_type="role",
        resource_id=slug,
        changes={"name": name, "permissions": sorted(wanted), "scopes": {r: scopes[r] for r in resolved}},
    )
    return role


def role_update(
    *,
    actor: Principal,
    slug: str,
    name: str | None = None,
    description: str | None = None,
    permissions: list[str] | None = None,
    scopes: dict[str, list[str]] | None = None,
) -> CustomRole:
    """Change a custom role. Changing its permissions or scopes needs the
    actor to hold both the old and the new permissions."""
    from apps.accounts.access import role_scope_ids, role_scope_sync, scopable_types

    _refuse_system_role(actor, slug, "role.update")
    role = custom_role_get(slug=slug)
    changes: dict[str, Any] = {}
    current = frozenset(role.permissions)
    wanted, resolved = current, None
    # Checks (and their audited refusals) come before the transaction, so a
    # refusal's audit event is not rolled back with it.
    if permissions is not None or scopes is not None:
        wanted = _validate_role_permissions(permissions) if permissions is not None else current
        _refuse_escalation(actor, "role.update", slug, wanted | current)
        if scopes is None:
            scopes = {r: role_scope_ids(actor.organization, slug, r) for r in role.scoped_resources}
            scopes = {r: ids for r, ids in scopes.items() if r in scopable_types()}
        resolved = _resolve_scopes(actor, slug, wanted, scopes)
        if wanted != current:
            changes["permissions"] = {"added": sorted(wanted - current), "removed": sorted(current - wanted)}
        if sorted(resolved) != sorted(role.scoped_resources) or scopes:
            changes["scopes"] = {r: scopes[r] for r in resolved}
    with transaction.atomic():
        role = CustomRole.objects.select_for_update().get(pk=role.pk)
        if frozenset(role.permissions) != current:
            raise RoleExists("The role changed meanwhile; reload it and try again.", code="role_changed")
        if resolved is not None:
            role.permissions = sorted(wanted)
            role.scoped_resources = sorted(resolved)
            role_scope_sync(actor.organization, slug, wanted, resolved)
        if name is not None and name != role.name:
            changes["name"] = name
            role.name = name
        if description is not None and description != role.description:
            changes["description"] = description
            role.description = description
        role.save()
    if changes:
        audit_record(actor=actor, action="role.update", resource_type="role", resource_id=slug, changes=changes)
    return role


def role_delete(*, actor: Principal, slug: str) -> None:
    """Delete a custom role nobody (person, key or pending invitation) holds."""
    from apps.accounts.access import role_scope_delete
    from apps.accounts.selectors import role_holders

    _refuse_system_role(actor, slug, "role.delete")
    role = custom_role_get(slug=slug)
    _refuse_escalation(actor, "role.delete", slug, frozenset(role.permissions))
    holders = role_holders(organization=actor.organization, slug=slug)
    holders["api_keys"] = ApiKey.objects.filter(role=slug, revoked_at__isnull=True).count()
    if any(holders.values()):
        raise RoleInUse(
            f"The role {slug!r} is still held: give its members, keys and invitations another role first.",
            details=holders,
        )
    with transaction.atomic():
        role.delete()
        role_scope_delete(actor.organization, slug)
    audit_record(actor=actor, action="role.delete", resource_type="role", resource_id=slug)
