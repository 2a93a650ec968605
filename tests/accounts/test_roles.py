"""The permission matrix of the six system roles."""

import pytest

from apps.accounts.roles import (
    ALL_PERMISSIONS,
    BUILD_RESOURCES,
    SYSTEM_ROLE_PERMISSIONS,
    Action,
    Resource,
    SystemRole,
    role_permissions,
)


def can(role, resource, action):
    return f"{resource}.{action}" in SYSTEM_ROLE_PERMISSIONS[role]


def test_every_role_grants_only_known_permissions():
    for permissions in SYSTEM_ROLE_PERMISSIONS.values():
        assert permissions <= ALL_PERMISSIONS


def test_owner_has_everything_and_roles_nest_sensibly():
    owner = SYSTEM_ROLE_PERMISSIONS[SystemRole.OWNER]
    assert owner == ALL_PERMISSIONS
    for role in SystemRole:
        assert SYSTEM_ROLE_PERMISSIONS[role] <= owner
    assert SYSTEM_ROLE_PERMISSIONS[SystemRole.VIEWER] <= SYSTEM_ROLE_PERMISSIONS[SystemRole.DEVELOPER]
    assert SYSTEM_ROLE_PERMISSIONS[SystemRole.DEVELOPER] <= SYSTEM_ROLE_PERMISSIONS[SystemRole.ADMIN]


@pytest.mark.parametrize("resource", BUILD_RESOURCES)
@pytest.mark.parametrize("action", list(Action))
def test_developer_builds_everything_and_viewer_only_views(resource, action):
    assert can(SystemRole.DEVELOPER, resource, action)
    assert can(SystemRole.VIEWER, resource, action) == (action == Action.VIEW)


@pytest.mark.parametrize(
    "role, resource, action, allowed",
    [
        (SystemRole.ADMIN, Resource.API_KEYS, Action.CREATE, True),
        (SystemRole.ADMIN, Resource.ORGANIZATION, Action.DELETE, False),
        (SystemRole.DEVELOPER, Resource.API_KEYS, Action.VIEW, False),
        (SystemRole.DEVELOPER, Resource.API_KEYS, Action.CREATE, False),
        (SystemRole.DEVELOPER, Resource.SECRETS, Action.DELETE, False),
        (SystemRole.DEVELOPER, Resource.AUDIT_LOG, Action.VIEW, False),
        (SystemRole.OPERATOR, Resource.WORKFLOWS, Action.RUN, True),
        (SystemRole.OPERATOR, Resource.WORKFLOWS, Action.DEPLOY, True),
        (SystemRole.OPERATOR, Resource.WORKFLOWS, Action.EDIT, False),
        (SystemRole.OPERATOR, Resource.AUDIT_LOG, Action.VIEW, True),
        (SystemRole.VIEWER, Resource.CUSTOMERS, Action.CREATE, False),
        (SystemRole.END_USER, Resource.CONNECTIONS, Action.CREATE, True),
        (SystemRole.END_USER, Resource.WORKFLOWS, Action.RUN, True),
        (SystemRole.END_USER, Resource.WORKFLOWS, Action.EDIT, False),
        (SystemRole.END_USER, Resource.SECRETS, Action.VIEW, False),
        (SystemRole.END_USER, Resource.CUSTOMERS, Action.VIEW, False),
    ],
)
def test_matrix_cells(role, resource, action, allowed):
    assert can(role, resource, action) is allowed


@pytest.mark.django_db
def test_unknown_role_grants_nothing(org_a, in_org):
    in_org(org_a)
    assert role_permissions("made-up-role") == frozenset()
