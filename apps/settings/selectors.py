"""Reads of an organization's settings. Run inside the organization's schema."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db.models import Q, QuerySet

from apps.core import crypto
from apps.core.pagination import Page, paginate_newest_first
from apps.core.tenancy import current_organization
from apps.settings.exceptions import CustomerNotFound, EnvironmentNotFound, RoleNotFound, SecretNotFound
from apps.settings.models import ApiKey, AuditEvent, Customer, CustomRole, Environment, Secret


def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def api_key_for_raw(*, raw_key: str) -> ApiKey | None:
    """The active key matching a presented secret, or None."""
    if not raw_key.startswith("fastn_") or len(raw_key) > 128:
        return None
    # Every API call runs this: one plain query instead of the ORM's compile step.
    rows = list(ApiKey.objects.raw(API_KEY_SQL, [api_key_hash(raw_key)]))
    return rows[0] if rows else None


API_KEY_SQL = (
    "SELECT id, name, kind, role, prefix, key_hash, created_at, created_by, last_used_at, revoked_at "
    "FROM settings_apikey WHERE key_hash = %s AND revoked_at IS NULL LIMIT 1"
)


def api_key_list(*, include_revoked: bool = False) -> QuerySet[ApiKey]:
    queryset = ApiKey.objects.all()
    if not include_revoked:
        queryset = queryset.filter(revoked_at__isnull=True)
    return queryset.order_by("-created_at", "-id")


def customer_list(*, search: str = "", tier: str = "", region: str = "") -> QuerySet[Customer]:
    queryset = Customer.objects.all()
    if search:
        queryset = queryset.filter(Q(external_id__icontains=search) | Q(name__icontains=search))
    if tier:
        queryset = queryset.filter(tier=tier)
    if region:
        queryset = queryset.filter(region=region)
    return queryset


def customer_get(*, external_id: str) -> Customer:
    customer = Customer.objects.filter(external_id=external_id).first()
    if customer is None:
        raise CustomerNotFound(f"No customer with external_id {external_id!r}.")
    return customer


def secret_list() -> QuerySet[Secret]:
    return Secret.objects.order_by("name")


def secret_get(*, name: str) -> Secret:
    secret = Secret.objects.filter(name=name).first()
    if secret is None:
        raise SecretNotFound(f"No secret named {name!r}.")
    return secret


def secret_value(*, name: str) -> str:
    """The decrypted value. Only the workflow runtime should need this."""
    return crypto.decrypt(secret_get(name=name).ciphertext)


def secret_values(*, names: list[str]) -> dict[str, str]:
    rows = Secret.objects.filter(name__in=names).values_list("name", "ciphertext")
    return {name: crypto.decrypt(ciphertext) for name, ciphertext in rows}


def environment_list() -> list[Environment]:
    return list(Environment.objects.order_by("created_at"))


def environment_get(*, slug: str) -> Environment:
    environment = Environment.objects.filter(slug=slug).first()
    if environment is None:
        raise EnvironmentNotFound(f"No environment named {slug!r}.")
    return environment


def audit_event_page(
    *,
    cursor: str | None,
    limit: int,
    actor: str = "",
    action: str = "",
    resource_type: str = "",
    outcome: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page:
    queryset = AuditEvent.objects.all()
    if actor:
        queryset = queryset.filter(Q(actor_id=actor) | Q(actor_label=actor))
    if action:
        queryset = queryset.filter(action=action)
    if resource_type:
        queryset = queryset.filter(resource_type=resource_type)
    if outcome:
        queryset = queryset.filter(outcome=outcome)
    if since:
        queryset = queryset.filter(created_at__gte=since)
    if until:
        queryset = queryset.filter(created_at__lt=until)
    return paginate_newest_first(queryset, cursor=cursor, limit=limit)


def custom_role_permissions(*, slug: str) -> frozenset[str]:
    """Permissions of a custom role of the current organization.

    An unknown slug (a deleted role, or one of another organization) grants
    nothing: fail closed. Only permissions of the current matrix count, so a
    stored string that no longer means anything grants nothing either.
    """
    from apps.accounts.roles import ALL_PERMISSIONS

    if current_organization() is None:
        return frozenset()
    stored = CustomRole.objects.filter(slug=slug).values_list("permissions", flat=True).first()
    if not stored:
        return frozenset()
    return frozenset(p for p in stored if p in ALL_PERMISSIONS)


def custom_role_list() -> list[CustomRole]:
    return list(CustomRole.objects.order_by("name"))


def custom_role_get(*, slug: str) -> CustomRole:
    role = CustomRole.objects.filter(slug=slug).first()
    if role is None:
        raise RoleNotFound(f"No role {slug!r} in this organization.")
    return role


def custom_role_scoped_resources(*, slug: str) -> frozenset[str]:
    if current_organization() is None:
        return frozenset()
    stored = CustomRole.objects.filter(slug=slug).values_list("scoped_resources", flat=True).first()
    return frozenset(stored or ())


def role_choices() -> list[tuple[str, str]]:
    """(slug, name) of every role that can be given in this organization."""
    from apps.accounts.roles import SystemRole

    choices = list(SystemRole.choices)
    if current_organization() is not None:
        choices += [(r.slug, r.name) for r in CustomRole.objects.order_by("name")]
    return choices


def api_keys_with_role(*, slug: str) -> int:
    return ApiKey.objects.filter(role=slug, revoked_at__isnull=True).count()


def customer_id_for_external_id(*, external_id: str):
    """The Customer's UUID for a header value, or None when there is none."""
    return Customer.objects.filter(external_id=external_id).values_list("id", flat=True).first()


def home_summary(*, principal) -> dict:
    """Counts and recent activity for the dashboard's Home page."""
    summary = {
        "customers": Customer.objects.count(),
        "secrets": Secret.objects.count(),
        "environments": Environment.objects.count(),
        "recent_events": [],
    }
    if principal.can("api_keys", "view"):
        summary["api_keys"] = ApiKey.objects.filter(revoked_at__isnull=True).count()
    if principal.can("audit_log", "view"):
        summary["recent_events"] = list(AuditEvent.objects.order_by("-created_at", "-id")[:10])
    return summary


def audit_filter_values() -> dict[str, list[str]]:
    """Distinct actions, resource types and actors for the Audit Log filters (bounded)."""
    return {
        "actions": list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()[:300]),
        "resource_types": list(
            AuditEvent.objects.order_by("resource_type").values_list("resource_type", flat=True).distinct()[:100]
        ),
        "actors": list(
            AuditEvent.objects.exclude(actor_label="")
            .order_by("actor_label")
            .values_list("actor_label", flat=True)
            .distinct()[:300]
        ),
    }
