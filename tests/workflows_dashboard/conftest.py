"""Fixtures of the workflow dashboard tests: signed-in members by role, and
workflows made through the services (as the pages would), by tests/factories.py."""

from __future__ import annotations

import pytest


@pytest.fixture
def system(org_a, in_org):
    """The system principal of Alpha, in Alpha's schema."""
    from apps.accounts.principals import Principal

    in_org(org_a)
    return Principal.system(organization=org_a.organization, label="test")


@pytest.fixture
def make_workflow(org_a, in_org):
    """make_workflow(name, org=org_a, publish=False, deploy=None, **fields) → Workflow
    (tests.factories.WorkflowFactory); the test is then in the organization's schema."""
    from tests.factories import WorkflowFactory

    def make(name: str = "Sync Contacts", *, org=None, publish: bool = False, deploy: str | None = None, **fields):
        org = org or org_a
        workflow = WorkflowFactory(org=org, name=name, publish=publish, deploy=deploy, **fields)
        in_org(org)
        return workflow

    return make


@pytest.fixture
def member(org_a):
    """member(role, org=org_a) → a signed-in Django test client of a new member with that role."""
    from django.test import Client

    from tests.factories import MembershipFactory

    def make(role: str, org=None):
        org = org or org_a
        membership = MembershipFactory(
            org=org, role=role, user__email=f"{role}@{org.slug}.test", user__password="pw-member-123"
        )
        client = Client()
        client.force_login(membership.user)
        return client

    return make


@pytest.fixture
def owner(client, org_a):
    client.force_login(org_a.owner)
    return client
