"""This customer's runs and the Insights figures."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

pytestmark = pytest.mark.django_db

CODE = "export default async function(ctx) { return ctx.config; }"


@pytest.fixture
def world(org_a, embedding, fake_api, private_network):
    side = embedding(org_a)
    side.client.post("/api/v1/connectors", fake_api.definition("keyapp"))
    side.wf_sync = side.workflow(CODE)
    side.wf_other = side.workflow(CODE)
    side.wf_internal = side.workflow(CODE)
    side.template(
        slug="sync",
        workflow=side.wf_sync,
        title="Sync",
        connectors=["keyapp"],
        trigger={"type": "webhook", "config": {}},
    )
    side.template(slug="other", workflow=side.wf_other, title="Other", trigger={"type": "webhook", "config": {}})
    side.widget(integrations=[{"connector": "keyapp"}], templates=["sync", "other"])
    return side


def add_run(org, customer: str, workflow: str, status: str, *, output=None, error=None, at=None):
    from django.db import connection

    from apps.settings.models import Customer
    from apps.workflows.models import Execution

    connection.set_tenant(org.organization)
    row = Customer.objects.get(external_id=customer)
    execution = Execution.objects.create(
        workflow_slug=workflow,
        version_number=1,
        environment="production",
        tier="standard",
        status=status,
        triggered_by="webhook",
        timeout_ms=1000,
        customer=row,
        customer_external_id=customer,
        output=output,
        error=error,
        attempts=1,
    )
    if at is not None:
        Execution.objects.filter(pk=execution.pk).update(created_at=at, finished_at=at)
    connection.set_schema_to_public()
    return str(execution.id)


def test_a_customer_sees_its_runs_of_templates_newest_first(world, org_a):
    ann, bob = world.customer(), world.customer()
    first = add_run(org_a, ann, world.wf_sync, "completed", output={"records_processed": 5})
    add_run(org_a, ann, world.wf_internal, "completed")  # not a template's workflow: not shown
    add_run(org_a, bob, world.wf_sync, "completed")  # another customer's
    last = add_run(org_a, ann, world.wf_other, "failed", error={"message": "Boom", "stack": "at secret.js:1"})
    client = world.embed(ann)
    body = client.get("/api/v1/embed/executions").json()
    assert [r["id"] for r in body["results"]] == [last, first] and body["has_more"] is False
    failed, done = body["results"]
    assert failed["template"] == {"slug": "other", "title": "Other"} and failed["error"] == {"message": "Boom"}
    assert "stack" not in str(body) and "input" not in failed and "output" not in failed
    assert done["records"] == 5 and done["error"] is None
    assert client.get(f"/api/v1/embed/executions/{first}").json()["id"] == first
    assert client.get(f"/api/v1/embed/executions/{add_run(org_a, bob, world.wf_sync, 'completed')}").status_code == 404
    assert client.get("/api/v1/embed/executions/not-a-uuid").status_code == 404
    only = client.get("/api/v1/embed/executions", {"template": "sync"}).json()["results"]
    assert [r["id"] for r in only] == [first]
    assert [r["id"] for r in client.get("/api/v1/embed/executions", {"status": "failed"}).json()["results"]] == [last]
    assert client.get("/api/v1/embed/executions", {"status": "exploded"}).status_code == 400
    assert client.get("/api/v1/embed/executions", {"limit": "0"}).status_code == 400
    assert client.get("/api/v1/embed/executions", {"cursor": "garbage"}).status_code == 400


def test_runs_are_paged_with_a_cursor(world, org_a):
    ann = world.customer()
    ids = [add_run(org_a, ann, world.wf_sync, "completed") for _ in range(5)]
    client = world.embed(ann)
    page1 = client.get("/api/v1/embed/executions", {"limit": 2}).json()
    page2 = client.get("/api/v1/embed/executions", {"limit": 2, "cursor": page1["next_cursor"]}).json()
    page3 = client.get("/api/v1/embed/executions", {"limit": 2, "cursor": page2["next_cursor"]}).json()
    seen = [r["id"] for r in page1["results"] + page2["results"] + page3["results"]]
    assert seen == list(reversed(ids)) and page3["has_more"] is False


@pytest.mark.parametrize(
    ("output", "records"),
    [
        ({"records_processed": 7}, 7),
        ([1, 2, 3], 3),
        ({"items": [1, 2]}, 2),
        ({"records": [1]}, 1),
        ({"results": [1, 2, 3, 4]}, 4),
        ({"data": []}, 0),
        ({"records_processed": "many"}, 0),
        ({"records_processed": -5}, 0),
        ("done", 0),
        (None, 0),
    ],
)
def test_records_processed_is_what_a_run_reports(world, org_a, output, records):
    ann = world.customer()
    add_run(org_a, ann, world.wf_sync, "completed", output=output)
    client = world.embed(ann)
    assert client.get("/api/v1/embed/executions").json()["results"][0]["records"] == records
    assert client.get("/api/v1/embed/insights").json()["records_processed"] == records


def test_insights_count_today_in_the_organizations_time_zone(world, org_a, in_org):
    ann = world.customer()
    in_org(org_a)
    org_a.organization.timezone = "America/New_York"
    org_a.organization.save(update_fields=["timezone"])
    # 2026-05-02 03:00 UTC is still May 1st in New York (23:00).
    with time_machine.travel(dt.datetime(2026, 5, 2, 3, 30, tzinfo=dt.UTC), tick=False):
        yesterday_ny = dt.datetime(2026, 5, 1, 3, 0, tzinfo=dt.UTC)  # April 30th, 23:00 in New York
        today_ny = dt.datetime(2026, 5, 1, 14, 0, tzinfo=dt.UTC)
        add_run(org_a, ann, world.wf_sync, "completed", output={"records_processed": 100}, at=yesterday_ny)
        add_run(org_a, ann, world.wf_sync, "completed", output={"records_processed": 3}, at=today_ny)
        add_run(org_a, ann, world.wf_sync, "failed", output=None, at=today_ny)
        add_run(org_a, ann, world.wf_internal, "completed", output={"records_processed": 50}, at=today_ny)
        body = world.embed(ann).get("/api/v1/embed/insights").json()
    assert body["runs_today"] == 2 and body["records_processed"] == 3 and body["failed_today"] == 1
    assert body["since"].startswith("2026-05-01T00:00:00-04:00") or body["since"] == "2026-05-01T04:00:00Z"


def test_needs_attention_names_broken_connections_and_failing_templates(world, org_a):
    from django.db import connection

    from apps.connectors.models import Connection

    ann = world.customer()
    client = world.embed(ann)
    made = client.post("/api/v1/embed/connections", {"connector": "keyapp", "credentials": {"api_key": "key-1"}}).json()
    assert client.post("/api/v1/embed/templates/sync/enable", {}).status_code == 201
    assert client.get("/api/v1/embed/insights").json()["needs_attention"] == 0
    add_run(org_a, ann, world.wf_sync, "failed", error={"message": "The CRM said no"})
    connection.set_tenant(org_a.organization)
    Connection.objects.filter(pk=made["id"]).update(status="needs_reauth", last_error="Token revoked")
    connection.set_schema_to_public()
    body = client.get("/api/v1/embed/insights").json()
    assert body["needs_attention"] == 2
    kinds = {(a["kind"], a.get("connector") or a.get("template"), a["status"], a["message"]) for a in body["attention"]}
    assert kinds == {
        ("connection", "keyapp", "needs_reauth", "Token revoked"),
        ("template", "sync", "failed", "The CRM said no"),
    }
    # A later successful run clears the template's warning.
    add_run(org_a, ann, world.wf_sync, "completed")
    assert client.get("/api/v1/embed/insights").json()["needs_attention"] == 1
    # Another customer's troubles are not this one's.
    assert world.embed().get("/api/v1/embed/insights").json()["needs_attention"] == 0
