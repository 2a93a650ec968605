"""Integrations → Triggers and Activity → Events in the dashboard (server-rendered pages)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.triggers.conftest import hook_path, post_hook

pytestmark = pytest.mark.django_db


def _member(org) -> Client:
    client = Client()
    client.force_login(org.owner)
    return client


def _form(workflow: str, **fields) -> dict:
    return {"type": "webhook", "workflow": workflow, "environment": "production", "enabled": "on", **fields}


def test_the_tabs_are_registered_and_the_pages_render(org_a, setup):
    client = _member(org_a)
    page = client.get(f"/o/{org_a.slug}/integrations/triggers/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Webhook" in html and "Scheduler" in html and "App events" in html
    assert f"/o/{org_a.slug}/activity/events/" in client.get(f"/o/{org_a.slug}/activity/executions/").content.decode()
    for kind in ("scheduler", "app_event", "nonsense"):
        assert client.get(f"/o/{org_a.slug}/integrations/triggers/?type={kind}").status_code == 200


def test_creating_a_webhook_shows_its_url_and_the_secret_once(org_a, setup):
    workflow = setup(org_a).workflow()
    client = _member(org_a)
    response = client.post(
        f"/o/{org_a.slug}/integrations/triggers/?type=webhook", _form(workflow, signing="on"), follow=True
    )
    html = response.content.decode()
    assert response.status_code == 200 and "/hooks/" in html and "whsec_" in html
    detail_path = response.redirect_chain[-1][0]
    assert "whsec_" not in client.get(detail_path).content.decode()


def test_bad_input_shows_on_the_field(org_a, setup):
    workflow = setup(org_a).workflow()
    client = _member(org_a)
    response = client.post(
        f"/o/{org_a.slug}/integrations/triggers/?type=scheduler",
        _form(workflow, type="scheduler", cron="not a cron", timezone="UTC"),
    )
    assert response.status_code == 400
    assert "Use the 5 fields" in response.content.decode()
    missing = client.post(
        f"/o/{org_a.slug}/integrations/triggers/?type=scheduler",
        _form(workflow, type="scheduler", cron="*/5 * * * *", timezone="Mars/Base"),
    )
    assert missing.status_code == 400 and "IANA" in missing.content.decode()


def test_a_schedule_page_shows_the_next_runs(org_a, setup):
    trigger = setup(org_a).trigger("scheduler", config={"cron": "0 9 * * 1", "timezone": "Europe/Berlin"})
    html = _member(org_a).get(f"/o/{org_a.slug}/integrations/triggers/{trigger['id']}/").content.decode()
    assert html.count("Mon ") >= 5 and "0 9 * * 1" in html


def test_edit_rotate_fire_and_delete_from_the_trigger_page(org_a, setup, in_org):
    from apps.triggers.models import Event, Trigger

    s = setup(org_a)
    trigger = s.trigger("webhook")
    client = _member(org_a)
    base = f"/o/{org_a.slug}/integrations/triggers/{trigger['id']}/"
    edited = client.post(base, _form(trigger["workflow"], name="Orders hook"), follow=True)
    assert "Orders hook" in edited.content.decode()
    client.post(base + "rotate-token")
    assert post_hook(hook_path(trigger)).status_code == 404
    client.post(base + "fire")
    in_org(org_a)
    assert Event.objects.filter(trigger_id=trigger["id"], type="manual").count() == 1
    assert client.post(base + "delete").status_code == 302
    in_org(org_a)
    assert not Trigger.objects.filter(id=trigger["id"]).exists()


def test_events_log_filters_refreshes_and_links_executions(org_a, setup):
    s = setup(org_a)
    trigger = s.trigger("webhook")
    accepted = post_hook(hook_path(trigger), {"hello": "events"}).json()
    client = _member(org_a)
    html = client.get(f"/o/{org_a.slug}/activity/events/").content.decode()
    assert accepted["execution_id"][:8] in html and "Auto-refresh" in html and "every 5s" in html
    assert (
        accepted["execution_id"][:8] not in client.get(f"/o/{org_a.slug}/activity/events/?type=manual").content.decode()
    )
    rows = client.get(
        f"/o/{org_a.slug}/activity/events/?type=webhook", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="event-rows"
    )
    assert "<table" not in rows.content.decode() and accepted["execution_id"][:8] in rows.content.decode()
    detail = client.get(f"/o/{org_a.slug}/activity/events/{accepted['event_id']}/").content.decode()
    assert "hello" in detail and f"/activity/executions/{accepted['execution_id']}/" in detail
    assert client.get(f"/o/{org_a.slug}/activity/events/not-an-id/").status_code == 404


def test_a_viewer_sees_but_cannot_change_and_strangers_get_404(org_a, org_b, setup, in_org):
    from apps.accounts.models import Membership, User

    trigger = setup(org_a).trigger("webhook")
    viewer = User.objects.create_user(email="viewer-trg@alpha.test", password="x-very-long-pass")
    Membership.objects.create(user=viewer, organization=org_a.organization, role="viewer")
    client = Client()
    client.force_login(viewer)
    assert client.get(f"/o/{org_a.slug}/integrations/triggers/").status_code == 200
    assert client.post(f"/o/{org_a.slug}/integrations/triggers/{trigger['id']}/rotate-token").status_code == 403
    assert (
        client.post(f"/o/{org_a.slug}/integrations/triggers/?type=webhook", _form(trigger["workflow"])).status_code
        == 403
    )
    stranger = _member(org_b)
    assert stranger.get(f"/o/{org_a.slug}/integrations/triggers/{trigger['id']}/").status_code == 404
    assert stranger.get(f"/o/{org_b.slug}/integrations/triggers/{trigger['id']}/").status_code == 404
