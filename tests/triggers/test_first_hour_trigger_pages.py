"""A trigger's page names the trigger (not its UUID), and the signature
fields stay hidden, and count for nothing, while signing is off."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _member(org) -> Client:
    client = Client()
    client.force_login(org.owner)
    return client


def test_the_breadcrumb_and_title_name_the_trigger_not_its_uuid(org_a, setup):
    made = setup(org_a)
    named = made.trigger(name="Orders webhook")
    page = _member(org_a).get(f"/o/{org_a.slug}/integrations/triggers/{named['id']}/").content.decode()
    crumb = page.split('aria-label="Breadcrumb"', 1)[1].split("</nav>", 1)[0]
    assert "Orders webhook" in crumb and named["id"] not in crumb
    assert "<title>Orders webhook" in page

    unnamed = made.trigger()
    page = _member(org_a).get(f"/o/{org_a.slug}/integrations/triggers/{unnamed['id']}/").content.decode()
    crumb = page.split('aria-label="Breadcrumb"', 1)[1].split("</nav>", 1)[0]
    assert "Webhook →" in crumb and unnamed["id"] not in crumb


def test_signature_fields_are_hidden_while_signing_is_off(org_a, setup):
    made = setup(org_a)
    plain = made.trigger()
    page = _member(org_a).get(f"/o/{org_a.slug}/integrations/triggers/{plain['id']}/").content.decode()
    assert 'data-testid="signing-fields" hidden' in page
    assert 'data-shows=".signing-fields"' in page  # the checkbox shows them when ticked (static/js/fastn.js)

    signed = made.trigger(config={"signing": True})
    page = _member(org_a).get(f"/o/{org_a.slug}/integrations/triggers/{signed['id']}/").content.decode()
    assert 'data-testid="signing-fields">' in page


def test_a_signature_format_left_in_the_hidden_fields_does_not_turn_signing_on(org_a, setup):
    workflow = setup(org_a).workflow()
    client = _member(org_a)
    response = client.post(
        f"/o/{org_a.slug}/integrations/triggers/?type=webhook",
        {
            "type": "webhook",
            "workflow": workflow,
            "environment": "production",
            "enabled": "on",
            "signature_scheme": "github",
        },
        follow=True,
    )
    assert response.status_code == 200
    from django.db import connection

    from apps.triggers.models import Trigger

    connection.set_tenant(org_a.organization)
    trigger = Trigger.objects.filter(workflow__slug=workflow).get()
    assert not trigger.config.get("signing")
