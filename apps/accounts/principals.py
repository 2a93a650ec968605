"""Who is acting: a signed-in member or an API key, inside one organization."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apps.accounts.roles import permission, role_permissions

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.core.models import Organization


@dataclass(frozen=True)
class Principal:
    """The actor of a request or a task, with the permissions of its role.

    DRF uses it as `request.user`, so it answers `is_authenticated`.
    """

    organization: Organization
    role: str
    permissions: frozenset[str]
    kind: str  # "user", "api_key", "customer" (an embed session) or "system"
    user: User | None = None
    api_key: Any = None  # apps.settings.models.ApiKey
    ip: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    is_authenticated = True
    is_anonymous = False

    @classmethod
    def for_member(cls, *, organization, user, role: str, ip: str | None = None) -> Principal:
        return cls(organization, role, role_permissions(role), "user", user=user, ip=ip)

    @classmethod
    def for_api_key(cls, *, organization, api_key, ip: str | None = None) -> Principal:
        return cls(organization, api_key.role, role_permissions(api_key.role), "api_key", api_key=api_key, ip=ip)

    @classmethod
    def system(cls, *, organization, label: str = "system") -> Principal:
        from apps.accounts.roles import ALL_PERMISSIONS

        return cls(organization, "system", ALL_PERMISSIONS, "system", extra={"label": label})

    def can(self, resource: str, action: str) -> bool:
        return permission(resource, action) in self.permissions

    @property
    def actor_id(self) -> str:
        if self.user is not None:
            return str(self.user.public_id)
        if self.api_key is not None:
            return str(self.api_key.id)
        return self.extra.get("actor_id") or self.extra.get("label", "system")

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.email
        if self.api_key is not None:
            return f"API key {self.api_key.name} ({self.api_key.prefix}…)"
        return self.extra.get("label", "system")

    # DRF and Django occasionally read these off request.user.
    @property
    def pk(self) -> str:
        return self.actor_id

    def __str__(self) -> str:
        return self.label
