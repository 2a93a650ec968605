"""The factories of tests/factories.py make what they say, through the services,
in the right organization's schema, and leave the connection where it was."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import (
    ApiKeyFactory,
    ConnectionFactory,
    CustomerFactory,
    ExecutionFactory,
    MembershipFactory,
    OrganizationFactory,
    PlanFactory,
    TriggerFactory,
    WorkflowFactory,
)

pytestmark = pytest.mark.django_db


def test_an_organization_is_a_template_clone_with_owner_environments_and_keys(api):
    from apps.accounts.models import Membership
    from apps.core.tenancy import organization_context
    from apps.settings.models import AuditEvent, Environment

    org = OrganizationFactory(plan="free", timezone_name="Europe/Paris")

    assert org.organization.plan.slug == "free" and org.organization.timezone == "Europe/Paris"
    assert Membership.objects.get(organization=org.organization).user == org.owner
    assert org.owner.check_password(org.owner_password)
    with organization_context(org.organization):
        assert sorted(Environment.objects.values_list("slug", flat=True)) == ["dev", "production", "staging"]
        assert AuditEvent.objects.filter(action="organization.create").count() == 1
    assert api(org).get("/api/v1/customers").status_code == 200  # the Live key works
    assert connection.schema_name == "public"


def test_rows_land_in_the_organizations_schema_and_the_connection_is_left_as_it_was(org_a, org_b, in_org):
    from apps.workflows.models import Deployment, Workflow

    workflow = WorkflowFactory(org=org_a, deploy="production")

    assert connection.schema_name == "public"
    in_org(org_a)
    assert workflow.latest_version == 1
    assert Deployment.objects.get(workflow=workflow).environment.slug == "production"
    in_org(org_b)
    assert not Workflow.objects.filter(slug=workflow.slug).exists()


def test_an_api_key_is_stored_hashed_and_authenticates_with_its_role(api, org_a):
    key = ApiKeyFactory(org=org_a, role="viewer")

    assert key.raw.startswith("fastn_test_") and key.raw not in key.key_hash
    assert api(org_a, key=key.raw).get("/api/v1/customers").status_code == 200
    assert api(org_a, key=key.raw).post("/api/v1/customers", {"external_id": "x", "name": "x"}).status_code == 403


def test_a_member_signs_in_with_the_role_given(client, org_a):
    membership = MembershipFactory(org=org_a, role="operator", user__password="pw-factory-123")

    assert membership.organization == org_a.organization and membership.role == "operator"
    assert client.login(email=membership.user.email, password="pw-factory-123")
    assert client.get(f"/o/{org_a.slug}/").status_code == 200


def test_a_connection_belongs_to_a_customer_and_keeps_its_credentials_encrypted(org_a, in_org):
    customer = CustomerFactory(org=org_a, tier="gold")
    connection_row = ConnectionFactory(org=org_a, customer=customer, credentials={"api_key": "secret-123"})

    in_org(org_a)
    connection_row.refresh_from_db()
    assert connection_row.customer_id == customer.id and customer.tier == "gold"
    assert connection_row.connector.slug.startswith("acme-")
    assert "secret-123" not in connection_row.credentials_ciphertext


def test_a_webhook_trigger_gets_a_hook_url_to_its_deployed_workflow(org_a, in_org):
    from apps.core.models import HookRoute
    from apps.triggers.services.triggers import trigger_url

    trigger = TriggerFactory(org=org_a)

    in_org(org_a)
    assert trigger.workflow.latest_version == 1 and trigger.environment == "production"
    assert urlparse(trigger_url(trigger)).path.startswith("/hooks/")
    assert HookRoute.objects.filter(organization=org_a.organization, target_id=trigger.id).exists()


def test_an_execution_is_the_row_a_worker_leaves_placed_in_time(org_a, in_org):
    workflow = WorkflowFactory(org=org_a, publish=True, tier="instant")

    execution = ExecutionFactory(org=org_a, workflow=workflow, status="failed", age=timedelta(hours=2), attempts=3)

    in_org(org_a)
    assert execution.version_number == 1 and execution.tier == "instant" and execution.attempts == 3
    assert execution.finished_at is not None and execution.duration_ms == 12.5
    assert abs((timezone.now() - timedelta(hours=2)) - execution.created_at) < timedelta(minutes=1)


def test_a_plan_has_the_limits_given():
    plan = PlanFactory(limits={"api_calls_per_minute": 3}, enforcement="soft")

    assert plan.limit("api_calls_per_minute") == 3 and plan.enforcement_for("events_per_day") == "soft"
