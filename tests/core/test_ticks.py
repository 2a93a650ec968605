"""The public index of due periodic work (apps.core.ticks): ticks visit only organizations with
something due, and learn from each visit when to come back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.models import TickDue
from apps.core.ticks import tick_mark, tick_visit

pytestmark = pytest.mark.django_db


def _due(org, kind):
    row = TickDue.objects.filter(organization=org.organization, kind=kind).first()
    return row.due_at if row else None


def _clear():
    TickDue.objects.all().delete()


def test_a_tick_visits_only_organizations_with_work_due_and_stores_when_they_are_next_due(spare_orgs):
    _clear()
    due_now, due_later, idle = spare_orgs
    now = timezone.now()
    tick_mark(kind="demo", at=now - timedelta(seconds=1), organization=due_now.organization)
    tick_mark(kind="demo", at=now + timedelta(hours=1), organization=due_later.organization)
    visited = []

    def work():
        visited.append(connection.schema_name)
        return {"done": 1}

    summary = tick_visit(
        kind="demo", work=work, next_due=lambda now: now + timedelta(minutes=10), label="Demo", now=now
    )
    assert summary == {"visited": 1, "failed": 0}
    assert visited == [due_now.organization.schema_name]
    assert _due(due_now, "demo") == now + timedelta(minutes=10)
    assert _due(due_later, "demo") == now + timedelta(hours=1) and _due(idle, "demo") is None
    assert connection.schema_name == "public"


def test_an_organization_with_nothing_left_is_not_visited_again_until_marked(spare_orgs):
    _clear()
    org = spare_orgs[0]
    now = timezone.now()
    tick_mark(kind="demo", at=now, organization=org.organization)
    calls = []
    tick_visit(kind="demo", work=lambda: calls.append(1) or {}, next_due=lambda now: None, label="Demo", now=now)
    tick_visit(
        kind="demo",
        work=lambda: calls.append(1) or {},
        next_due=lambda now: None,
        label="Demo",
        now=now + timedelta(days=9),
    )
    assert calls == [1] and _due(org, "demo").year == 9999
    tick_mark(kind="demo", at=now + timedelta(days=10), organization=org.organization)
    tick_visit(
        kind="demo",
        work=lambda: calls.append(1) or {},
        next_due=lambda now: None,
        label="Demo",
        now=now + timedelta(days=10),
    )
    assert calls == [1, 1]


def test_a_mark_made_during_a_visit_is_kept(spare_orgs):
    _clear()
    org = spare_orgs[0]
    now = timezone.now()
    tick_mark(kind="demo", at=now, organization=org.organization)

    def work():
        # New work arrives while the organization is being visited.
        tick_mark(kind="demo", at=now + timedelta(seconds=30))
        return {}

    tick_visit(kind="demo", work=work, next_due=lambda now: now + timedelta(hours=2), label="Demo", now=now)
    assert _due(org, "demo") == now + timedelta(seconds=30)


def test_a_failed_visit_is_retried_after_the_lease(spare_orgs):
    from apps.core.ticks import LEASE

    _clear()
    org = spare_orgs[0]
    now = timezone.now()
    tick_mark(kind="demo", at=now, organization=org.organization)

    def broken():
        raise RuntimeError("boom")

    assert tick_visit(kind="demo", work=broken, next_due=lambda now: None, label="Demo", now=now)["failed"] == 1
    assert _due(org, "demo") == now + LEASE


def test_saving_a_schedule_marks_it_and_the_tick_fires_it_when_due(spare_orgs, api, django_capture_on_commit_callbacks):
    from apps.triggers.services.scheduler import schedules_next_due, schedules_tick
    from tests.triggers.conftest import Setup

    _clear()
    org = spare_orgs[1]
    s = Setup(api, org)
    created = s.trigger("scheduler", workflow=s.workflow(), config={"interval_seconds": 60})
    due_at = _due(org, "schedule")
    assert due_at is not None and abs((due_at - timezone.now()).total_seconds() - 60) < 5
    fired = []

    def tick():
        counts = schedules_tick(now=due_at + timedelta(seconds=1))
        fired.append(counts["fired"])
        return counts

    with django_capture_on_commit_callbacks(execute=True):
        tick_visit(
            kind="schedule",
            work=tick,
            next_due=schedules_next_due,
            label="Scheduler tick",
            now=due_at - timedelta(seconds=1),
        )
        # Not due yet: nothing visited.
        assert fired == []
        tick_visit(
            kind="schedule",
            work=tick,
            next_due=schedules_next_due,
            label="Scheduler tick",
            now=due_at + timedelta(seconds=1),
        )
    assert fired == [1]
    assert _due(org, "schedule") > due_at + timedelta(seconds=30)
    assert created["id"]


def test_a_queued_execution_makes_its_organization_due_for_the_reaper(spare_orgs, api):
    from apps.workflows.runner import reap_next_due

    _clear()
    org = spare_orgs[2]
    client = api(org)
    slug = "reap-watch"
    client.post(
        "/api/v1/workflows", {"name": slug, "slug": slug, "code": "export default async () => 1", "tier": "standard"}
    )
    client.post(f"/api/v1/workflows/{slug}/publish")
    client.post(f"/api/v1/workflows/{slug}/deploy", {"version": 1})
    assert client.post(f"/api/v1/workflows/{slug}/run", {}).status_code == 202
    due_at = _due(org, "reap")
    assert due_at is not None and 50 < (due_at - timezone.now()).total_seconds() < 70
    connection.set_tenant(org.organization)
    assert abs((reap_next_due() - due_at).total_seconds()) < 1
    connection.set_schema_to_public()


def test_an_accepted_standard_event_makes_its_organization_due_for_the_relay(spare_orgs, api):
    from apps.triggers.services.events import relay_next_due
    from tests.triggers.conftest import Setup, hook_path, post_hook

    _clear()
    org = spare_orgs[0]
    s = Setup(api, org)
    trigger = s.trigger("webhook", workflow=s.workflow(tier="standard"))
    assert post_hook(hook_path(trigger), {"n": 1}).status_code == 202
    due_at = _due(org, "relay")
    assert due_at is not None and 0 < (due_at - timezone.now()).total_seconds() < 15
    connection.set_tenant(org.organization)
    assert relay_next_due() is not None
    connection.set_schema_to_public()
