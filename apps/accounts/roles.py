"""Roles and the permission matrix.

A permission is "<resource>.<action>". System roles are fixed here; custom
roles (defined per organization) resolve to sets of the same strings, so every
check — API view, dashboard view, service — asks one question:
`"workflows.deploy" in principal.permissions`.
"""

from __future__ import annotations

from django.db import models


class Resource(models.TextChoices):
    # The product's matrix (DESIGN.md).
    CONNECTORS = "connectors", "Connectors"
    CONNECTIONS = "connections", "Connections"
    WORKFLOWS = "workflows", "Workflows"
    AGENTS = "agents", "Agents"
    TOOLS = "tools", "Tools"
    # Administration of the organization.
    CUSTOMERS = "customers", "Customers"
    SECRETS = "secrets", "Secrets"
    API_KEYS = "api_keys", "API keys"
    ENVIRONMENTS = "environments", "Environments"
    MEMBERS = "members", "People"
    ROLES = "roles", "Roles"
    AUDIT_LOG = "audit_log", "Audit log"
    BILLING = "billing", "Billing"
    ORGANIZATION = "organization", "Organization settings"


class Action(models.TextChoices):
    VIEW = "view", "View"
    CREATE = "create", "Create"
    EDIT = "edit", "Edit"
    DELETE = "delete", "Delete"
    RUN = "run", "Run"
    PUBLISH = "publish", "Publish"
    DEPLOY = "deploy", "Deploy"


BUILD_RESOURCES = (Resource.CONNECTORS, Resource.CONNECTIONS, Resource.WORKFLOWS, Resource.AGENTS, Resource.TOOLS)
ADMIN_RESOURCES = tuple(r for r in Resource if r not in BUILD_RESOURCES)
BUILD_ACTIONS = tuple(Action)
ADMIN_ACTIONS = (Action.VIEW, Action.CREATE, Action.EDIT, Action.DELETE)


# In DESIGN.md's matrix, but no feature of the product acts on them yet: the
# Roles page leaves them out (a matrix row that grants nothing misleads), and
# keeps whatever a role already holds for them. The app that first uses one
# takes it out of this set.
RESOURCES_NOT_IN_USE: frozenset[str] = frozenset({Resource.AGENTS, Resource.TOOLS})


def resources_shown() -> tuple[Resource, ...]:
    """The resources the Roles page shows, in the matrix's order."""
    return tuple(r for r in Resource if r not in RESOURCES_NOT_IN_USE)


def actions_for(resource: str) -> tuple[Action, ...]:
    """The actions that mean something for a resource (the matrix's columns)."""
    return BUILD_ACTIONS if resource in BUILD_RESOURCES else ADMIN_ACTIONS


def permission(resource: str, action: str) -> str:
    return f"{resource}.{action}"


ALL_PERMISSIONS: frozenset[str] = frozenset(
    permission(resource, action) for resource in Resource for action in actions_for(resource)
)


class SystemRole(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    DEVELOPER = "developer", "Developer"
    OPERATOR = "operator", "Operator"
    VIEWER = "viewer", "Viewer"
    END_USER = "end_user", "End User"


def _grant(resources, actions) -> set[str]:
    return {permission(r, a) for r in resources for a in actions if a in actions_for(r)}


def _build_matrix() -> dict[str, frozenset[str]]:
    view_all = _grant(Resource, [Action.VIEW])
    sensitive_views = {permission(Resource.AUDIT_LOG, Action.VIEW), permission(Resource.API_KEYS, Action.VIEW)}

    owner = set(ALL_PERMISSIONS)
    # Admins run everything but the organization's existence and its bill.
    admin = owner - {permission(Resource.ORGANIZATION, Action.DELETE), permission(Resource.BILLING, Action.EDIT)}
    developer = (
        _grant(BUILD_RESOURCES, BUILD_ACTIONS)
        | _grant([Resource.CUSTOMERS, Resource.SECRETS], [Action.VIEW, Action.CREATE, Action.EDIT])
        | (view_all - sensitive_views)
    )
    operator = (
        _grant(BUILD_RESOURCES, [Action.VIEW, Action.RUN, Action.DEPLOY])
        | _grant([Resource.CONNECTIONS], [Action.CREATE, Action.EDIT, Action.DELETE])
        | _grant([Resource.CUSTOMERS], [Action.VIEW, Action.CREATE, Action.EDIT])
        | view_all
    ) - {permission(Resource.API_KEYS, Action.VIEW)}
    viewer = view_all - sensitive_views
    end_user = _grant([Resource.CONNECTORS, Resource.WORKFLOWS], [Action.VIEW, Action.RUN]) | _grant(
        [Resource.CONNECTIONS], [Action.VIEW, Action.CREATE, Action.EDIT, Action.DELETE]
    )
    end_user -= {permission(Resource.CONNECTORS, Action.RUN)}
    return {
        SystemRole.OWNER: frozenset(owner),
        SystemRole.ADMIN: frozenset(admin),
        SystemRole.DEVELOPER: frozenset(developer),
        SystemRole.OPERATOR: frozenset(operator),
        SystemRole.VIEWER: frozenset(viewer),
        SystemRole.END_USER: frozenset(end_user),
    }


SYSTEM_ROLE_PERMISSIONS: dict[str, frozenset[str]] = _build_matrix()


def is_system_role(slug: str) -> bool:
    return slug in SYSTEM_ROLE_PERMISSIONS


def role_permissions(slug: str) -> frozenset[str]:
    """The permissions a role grants in the current organization.

    Unknown slugs grant nothing: a role that was deleted, or never existed,
    fails closed.
    """
    if slug in SYSTEM_ROLE_PERMISSIONS:
        return SYSTEM_ROLE_PERMISSIONS[slug]
    from apps.accounts.registry import custom_role_permissions

    return custom_role_permissions(slug=slug)
