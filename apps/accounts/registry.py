"""What accounts needs from the app above it, registered from its `ready()`.

accounts sits below settings (apps/README.md): settings builds on the roles,
principals and access checks defined here. Three things accounts needs in
return are kept in settings' tables — custom roles, the audit log and API
keys — so `SettingsConfig.ready()` registers settings' functions here.
Until it has, everything fails closed: a custom role grants nothing, no API
key authenticates anyone, and recording an audit event raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from apps.accounts.roles import SystemRole, is_system_role


@dataclass
class _Registered:
    # Custom roles of the current organization (keyword `slug`).
    role_permissions: Callable[..., frozenset[str]] | None = None
    role_scoped_resources: Callable[..., frozenset[str]] | None = None
    role_exists: Callable[[str], bool] | None = None
    role_choices: Callable[[], list[tuple[str, str]]] | None = None
    # The audit log (the keywords of apps.settings.services.audit_record / audit_denied).
    audit_record: Callable[..., Any] | None = None
    audit_denied: Callable[..., Any] | None = None
    # API keys: the active key for a presented secret, or None.
    api_key_authenticate: Callable[..., Any] | None = None


_registered = _Registered()


def register_custom_roles(
    *,
    permissions: Callable[..., frozenset[str]],
    scoped_resources: Callable[..., frozenset[str]],
    exists: Callable[[str], bool],
    choices: Callable[[], list[tuple[str, str]]],
) -> None:
    _registered.role_permissions = permissions
    _registered.role_scoped_resources = scoped_resources
    _registered.role_exists = exists
    _registered.role_choices = choices


def register_audit_log(*, record: Callable[..., Any], denied: Callable[..., Any]) -> None:
    _registered.audit_record = record
    _registered.audit_denied = denied


def register_api_keys(*, authenticate: Callable[..., Any]) -> None:
    _registered.api_key_authenticate = authenticate


def custom_role_permissions(*, slug: str) -> frozenset[str]:
    """Permissions of a custom role of the current organization (none when unknown)."""
    lookup = _registered.role_permissions
    return lookup(slug=slug) if lookup is not None else frozenset()


def custom_role_scoped_resources(*, slug: str) -> frozenset[str]:
    """The resources on which a custom role is narrowed to chosen objects."""
    lookup = _registered.role_scoped_resources
    return lookup(slug=slug) if lookup is not None else frozenset()


def role_exists(role: str) -> bool:
    """A system role, or a custom role of the current organization."""
    if _registered.role_exists is None:
        return is_system_role(role)
    return _registered.role_exists(role)


def role_choices() -> list[tuple[str, str]]:
    """(slug, name) of every role that can be given in the current organization."""
    if _registered.role_choices is None:
        return list(SystemRole.choices)
    return _registered.role_choices()


def _audit(name: str) -> Callable[..., Any]:
    writer = getattr(_registered, name)
    if writer is None:
        raise ImproperlyConfigured("No app registered the audit log (apps.settings does, in its ready()).")
    return writer


def audit_record(**kwargs: Any) -> Any:
    """Append one audit event (apps.settings.services.audit_record)."""
    return _audit("audit_record")(**kwargs)


def audit_denied(**kwargs: Any) -> Any:
    """Append one refused attempt (apps.settings.services.audit_denied)."""
    return _audit("audit_denied")(**kwargs)


def api_key_authenticate(*, raw_key: str):
    """The active API key for a presented secret (recording its use), or None."""
    lookup = _registered.api_key_authenticate
    return lookup(raw_key=raw_key) if lookup is not None else None
