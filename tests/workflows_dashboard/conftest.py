"""Fixtures of the workflow dashboard tests: signed-in members by role, and
workflows made through the services (as the pages would)."""

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
    """make_workflow(name, org=org_a, publish=False, deploy=None, **fields) → Workflow."""
    from apps.accounts.principals import Principal
    from apps.workflows import services

    def make(name: str = "Sync Contacts", *, org=None, publish: bool = False, deploy: str | None = None, **fields):
        org = org or org_a
        in_org(org)
        actor = Principal.system(organization=org.organization, label="test")
        fields.setdefault("code", "export default async function (ctx) { return {ok: true, input: ctx.input}; }")
        workflow = services.workflow_create(actor=actor, name=name, **fields)
        if publish or deploy:
            version = services.workflow_publish(actor=actor, workflow=workflow, note="first")
            if deploy:
                services.workflow_deploy(
                    actor=actor, workflow=workflow, version_number=version.number, environment_slug=deploy
                )
        workflow.refresh_from_db()
        return workflow

    return make


@pytest.fixture
def member(org_a):
    """member(role, org=org_a) → a signed-in Django test client of a new member with that role."""
    from django.test import Client

    from apps.accounts.models import Membership, User

    def make(role: str, org=None):
        org = org or org_a
        user = User.objects.create_user(email=f"{role}@{org.slug}.test", password="pw-member-123")
        Membership.objects.create(user=user, organization=org.organization, role=role)
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def owner(client, org_a):
    client.force_login(org_a.owner)
    return client
