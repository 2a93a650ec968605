"""Escalation attempts are refused and audited."""

import pytest

from apps.accounts.models import Membership, User
from apps.accounts.principals import Principal
from apps.settings.exceptions import EnvironmentNotAllowed
from apps.settings.models import ApiKey, AuditEvent, CustomRole
from apps.settings.services import environment_check_allowed
from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db


def member(org, role, email):
    user = User.objects.create_user(email=email, password="pw-123456-x")
    return Membership.objects.create(user=user, organization=org.organization, role=role)


def session_api(client, org):
    client.defaults["HTTP_X_FASTN_ACCOUNT_ID"] = org.account_id
    return client


def test_developer_cannot_make_themselves_owner(client, org_a, in_org):
    me = member(org_a, "developer", "dev@alpha.test")
    client.force_login(me.user)
    response = session_api(client, org_a).patch(
        f"/api/v1/members/{me.public_id}", {"role": "owner"}, content_type="application/json"
    )
    assert_error(response, 403, "permission_denied")
    me.refresh_from_db()
    assert me.role == "developer"
    in_org(org_a)
    assert AuditEvent.objects.filter(outcome="denied", action="members.edit", actor_label="dev@alpha.test").exists()


def test_admin_cannot_make_themselves_owner_nor_demote_the_owner(client, org_a, in_org):
    me = member(org_a, "admin", "admin@alpha.test")
    client.force_login(me.user)
    api = session_api(client, org_a)
    response = api.patch(f"/api/v1/members/{me.public_id}", {"role": "owner"}, content_type="application/json")
    assert_error(response, 403, "role_not_grantable")
    owner = Membership.objects.get(user=org_a.owner, organization=org_a.organization)
    response = api.patch(f"/api/v1/members/{owner.public_id}", {"role": "viewer"}, content_type="application/json")
    assert_error(response, 403, "role_not_grantable")
    owner.refresh_from_db()
    me.refresh_from_db()
    assert (me.role, owner.role) == ("admin", "owner")
    in_org(org_a)
    denied = AuditEvent.objects.filter(outcome="denied", action="member.update", actor_label="admin@alpha.test")
    assert denied.count() == 2


def test_viewer_cannot_create_an_api_key(api, org_a, role_key, in_org):
    response = api(org_a, key=role_key(org_a, "viewer")).post("/api/v1/api-keys", {"name": "mine", "kind": "live"})
    assert_error(response, 403, "permission_denied")
    in_org(org_a)
    assert not ApiKey.objects.filter(name="mine").exists()
    assert AuditEvent.objects.filter(outcome="denied", action="api_keys.create").exists()


def test_viewer_cannot_create_an_api_key_from_the_dashboard(client, org_a, in_org):
    me = member(org_a, "viewer", "view2@alpha.test")
    client.force_login(me.user)
    response = client.post(f"/o/{org_a.slug}/settings/api-keys/", {"name": "ui", "kind": "live", "role": ""})
    assert response.status_code == 403
    in_org(org_a)
    assert AuditEvent.objects.filter(
        outcome="denied", action="api_keys.create", actor_label="view2@alpha.test"
    ).exists()


def test_admin_cannot_mint_an_owner_key(api, org_a, role_key, in_org):
    response = api(org_a, key=role_key(org_a, "admin")).post(
        "/api/v1/api-keys", {"name": "up", "kind": "live", "role": "owner"}
    )
    assert_error(response, 403, "role_not_grantable")
    in_org(org_a)
    assert AuditEvent.objects.filter(outcome="denied", action="api_key.create").exists()


def test_test_key_cannot_deploy_to_or_run_in_production(org_a, in_org):
    in_org(org_a)
    test_key = ApiKey.objects.get(name="Default test key")
    live_key = ApiKey.objects.get(name="Default live key")
    test = Principal.for_api_key(organization=org_a.organization, api_key=test_key, ip="127.0.0.1")
    live = Principal.for_api_key(organization=org_a.organization, api_key=live_key)
    for action in ("deploy", "run"):
        with pytest.raises(EnvironmentNotAllowed) as refused:
            environment_check_allowed(principal=test, environment_slug="production", action=action)
        assert refused.value.status == 403 and refused.value.code == "environment_not_allowed"
        event = AuditEvent.objects.get(action=f"environment.{action}", outcome="denied")
        assert event.resource_id == "production" and event.actor_id == str(test_key.id)
    # Live keys can; Test keys can elsewhere; people are governed by their role.
    assert (
        environment_check_allowed(principal=live, environment_slug="production", action="deploy").slug == "production"
    )
    assert environment_check_allowed(principal=test, environment_slug="staging", action="deploy").slug == "staging"
    owner = Principal.for_member(organization=org_a.organization, user=org_a.owner, role="owner")
    assert environment_check_allowed(principal=owner, environment_slug="production", action="run")


def test_a_custom_production_environment_is_guarded_too(api, org_a, in_org):
    response = api(org_a).post("/api/v1/environments", {"slug": "prod-eu", "is_production": True})
    assert response.status_code == 201
    in_org(org_a)
    test = Principal.for_api_key(organization=org_a.organization, api_key=ApiKey.objects.get(name="Default test key"))
    with pytest.raises(EnvironmentNotAllowed):
        environment_check_allowed(principal=test, environment_slug="prod-eu", action="run")


def test_system_roles_cannot_be_changed_or_deleted(api, org_a, in_org):
    client = api(org_a)
    assert_error(
        client.patch("/api/v1/roles/viewer", {"permissions": ["customers.view"]}), 403, "system_role_immutable"
    )
    assert_error(client.delete("/api/v1/roles/owner"), 403, "system_role_immutable")
    assert_error(
        client.post("/api/v1/roles", {"slug": "admin", "name": "Mine", "permissions": []}), 403, "system_role_immutable"
    )
    in_org(org_a)
    actions = set(AuditEvent.objects.filter(outcome="denied", resource_type="role").values_list("action", flat=True))
    assert {"role.update", "role.delete", "role.create"} <= actions


def test_nobody_grants_a_permission_they_do_not_hold(api, org_a, role_key, in_org):
    admin = api(org_a, key=role_key(org_a, "admin"))
    response = admin.post(
        "/api/v1/roles", {"slug": "too-much", "name": "Too much", "permissions": ["organization.delete"]}
    )
    assert_error(response, 403, "role_not_grantable")
    assert response.json()["error"]["details"]["missing"] == ["organization.delete"]
    ok = admin.post("/api/v1/roles", {"slug": "fine", "name": "Fine", "permissions": ["customers.view"]})
    assert ok.status_code == 201
    assert_error(admin.patch("/api/v1/roles/fine", {"permissions": ["billing.edit"]}), 403, "role_not_grantable")
    in_org(org_a)
    assert CustomRole.objects.get(slug="fine").permissions == ["customers.view"]
    assert AuditEvent.objects.filter(outcome="denied", action="role.create", resource_id="too-much").exists()
    assert AuditEvent.objects.filter(outcome="denied", action="role.update", resource_id="fine").exists()


def test_a_custom_role_holder_cannot_widen_their_own_role(client, org_a, in_org):
    in_org(org_a)
    CustomRole.objects.create(
        slug="role-admin", name="Role admin", permissions=["roles.view", "roles.edit", "customers.view"]
    )
    me = member(org_a, "role-admin", "ra@alpha.test")
    client.force_login(me.user)
    response = session_api(client, org_a).patch(
        "/api/v1/roles/role-admin",
        {"permissions": ["roles.view", "roles.edit", "api_keys.create"]},
        content_type="application/json",
    )
    assert_error(response, 403, "role_not_grantable")
