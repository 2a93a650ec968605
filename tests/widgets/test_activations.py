"""Customers switching templates on and off through the end-user API."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

CODE = "export default async function(ctx) { return ctx.config; }"
SCHEMA = {
    "type": "object",
    "properties": {
        "channel": {"type": "string", "minLength": 1},
        "limit": {"type": "integer", "minimum": 1, "default": 10},
        "filters": {"type": "object", "properties": {"tag": {"type": "string"}}, "additionalProperties": False},
    },
    "required": ["channel"],
    "additionalProperties": False,
}


@pytest.fixture
def world(org_a, embedding, fake_api, private_network):
    side = embedding(org_a)
    side.client.post("/api/v1/connectors", fake_api.definition("keyapp"))
    side.client.post("/api/v1/connectors", fake_api.definition("bearerapp", "bearer"))
    workflow = side.workflow(CODE)
    side.template(
        slug="hook-sync",
        workflow=workflow,
        title="Hook sync",
        connectors=["keyapp"],
        config_schema=SCHEMA,
        trigger={"type": "webhook", "config": {}},
    )
    side.template(
        slug="nightly",
        workflow=workflow,
        title="Nightly",
        connectors=["keyapp", "bearerapp"],
        trigger={"type": "scheduler", "config": {"cron": "0 2 * * *", "timezone": "Europe/Berlin"}},
    )
    side.widget(integrations=[{"connector": "keyapp"}, {"connector": "bearerapp"}], templates=["nightly", "hook-sync"])
    side.workflow_slug = workflow
    return side


def connect(client, slug="keyapp", credentials=None):
    response = client.post(
        "/api/v1/embed/connections", {"connector": slug, "credentials": credentials or {"api_key": "key-1"}}
    )
    assert response.status_code == 201, response.content


def test_templates_come_in_the_widgets_order_with_their_settings_form(world):
    client = world.embed()
    listed = client.get("/api/v1/embed/templates").json()["results"]
    assert [t["slug"] for t in listed] == ["nightly", "hook-sync"]
    hook = listed[1]
    assert hook["config_schema"] == SCHEMA and hook["config"] == {"limit": 10}
    assert hook["enabled"] is False and hook["missing_connectors"] == ["keyapp"] and hook["trigger_type"] == "webhook"
    assert listed[0]["config_schema"] == {"type": "object", "properties": {}}
    assert client.get("/api/v1/embed/config").json()["templates"] == listed


def test_enabling_needs_the_required_apps_connected(world):
    client = world.embed()
    response = client.post("/api/v1/embed/templates/nightly/enable", {})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "connector_not_connected" and error["details"]["missing"] == ["keyapp", "bearerapp"]
    assert "keyapp" in error["message"]
    connect(client)
    response = client.post("/api/v1/embed/templates/nightly/enable", {})
    assert response.status_code == 409 and response.json()["error"]["details"]["connector"] == "bearerapp"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({}, "config.channel"),
        ({"channel": ""}, "config.channel"),
        ({"channel": 5}, "config.channel"),
        ({"channel": "#a", "limit": 0}, "config.limit"),
        ({"channel": "#a", "limit": "ten"}, "config.limit"),
        ({"channel": "#a", "colour": "red"}, "config.colour"),
        ({"channel": "#a", "filters": {"tag": 1}}, "config.filters.tag"),
        ({"channel": "#a", "filters": {"other": "x"}}, "config.filters.other"),
    ],
)
def test_settings_that_break_the_schema_answer_400_naming_the_field(world, config, field):
    client = world.embed()
    connect(client)
    response = client.post("/api/v1/embed/templates/hook-sync/enable", {"config": config})
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]["fields"], response.json()
    assert client.get("/api/v1/embed/templates/hook-sync").json()["enabled"] is False


def test_enable_bodies_are_checked(world):
    client = world.embed()
    connect(client)
    for raw in ("{", "[]", '{"config": []}', '{"config": "x"}', '{"settings": {}}'):
        assert client.post("/api/v1/embed/templates/hook-sync/enable", raw=raw).status_code == 400, raw
    assert client.post("/api/v1/embed/templates/nope/enable", {}).status_code == 404


def test_a_webhook_template_gives_the_customer_its_own_url(world):
    client, other = world.embed(), world.embed()
    connect(client)
    connect(other, credentials={"api_key": "key-2"})
    mine = client.post("/api/v1/embed/templates/hook-sync/enable", {"config": {"channel": "#mine"}})
    assert mine.status_code == 201, mine.content
    body = mine.json()
    assert body["enabled"] is True and body["config"] == {"channel": "#mine", "limit": 10}
    assert body["url"].startswith("http") and "/hooks/" in body["url"]
    theirs = other.post("/api/v1/embed/templates/hook-sync/enable", {"config": {"channel": "#theirs"}}).json()
    assert theirs["url"] != body["url"]
    card = client.get("/api/v1/embed/templates/hook-sync").json()
    assert card["enabled"] is True and card["activation"]["url"] == body["url"]
    # Enabled again: only the settings change (200), the URL stays.
    again = client.post("/api/v1/embed/templates/hook-sync/enable", {"config": {"channel": "#renamed"}})
    assert again.status_code == 200 and again.json()["url"] == body["url"]
    assert again.json()["config"]["channel"] == "#renamed"


def test_the_activations_trigger_is_bound_to_the_customer(world, api, org_a):
    customer = world.customer()
    client = world.embed(customer)
    connect(client)
    body = client.post("/api/v1/embed/templates/hook-sync/enable", {"config": {"channel": "#x"}}).json()
    triggers = api(org_a, customer=customer).get("/api/v1/triggers").json()["results"]
    mine = next(t for t in triggers if t["url"] == body["url"])
    assert mine["customer"] == customer and mine["workflow"] == world.workflow_slug and mine["enabled"] is True


def test_disabling_stops_the_trigger_and_enabling_again_keeps_the_settings(world, api, org_a):
    customer = world.customer()
    client = world.embed(customer)
    connect(client)
    first = client.post("/api/v1/embed/templates/hook-sync/enable", {"config": {"channel": "#keep", "limit": 3}}).json()
    assert client.delete("/api/v1/embed/templates/hook-sync").status_code == 204
    assert client.delete("/api/v1/embed/templates/hook-sync").status_code == 204  # already off
    card = client.get("/api/v1/embed/templates/hook-sync").json()
    assert card["enabled"] is False and card["config"] == {"channel": "#keep", "limit": 3}
    trigger = next(t for t in api(org_a, customer=customer).get("/api/v1/triggers").json()["results"])
    assert trigger["enabled"] is False
    again = client.post("/api/v1/embed/templates/hook-sync/enable", {})
    assert again.status_code == 201
    assert again.json()["config"] == {"channel": "#keep", "limit": 3} and again.json()["url"] == first["url"]


def test_a_scheduled_template_gets_a_schedule_of_its_own(world):
    client = world.embed()
    connect(client)
    connect(client, "bearerapp", {"token": "tok-1"})
    body = client.post("/api/v1/embed/templates/nightly/enable", {}).json()
    assert body["url"] is None and len(body["next_runs"]) == 5
    client.delete("/api/v1/embed/templates/nightly")
    assert client.get("/api/v1/embed/templates/nightly").json()["activation"]["next_runs"] == []


def test_enabling_and_disabling_are_audited_as_the_customer(world):
    customer = world.customer()
    client = world.embed(customer)
    connect(client)
    client.post("/api/v1/embed/templates/hook-sync/enable", {"config": {"channel": "#a"}})
    client.delete("/api/v1/embed/templates/hook-sync")
    log = world.client.get("/api/v1/audit-log", {"resource_type": "activation"}).json()["results"]
    actions = [
        (e["action"], e["actor_type"], e["changes"]["customer"])
        for e in log
        if e["changes"].get("customer") == customer
    ]
    assert ("template.enable", "customer", customer) in actions and (
        "template.disable",
        "customer",
        customer,
    ) in actions


def test_the_organization_sees_who_uses_a_template(world):
    customer = world.customer()
    client = world.embed(customer)
    connect(client)
    client.post("/api/v1/embed/templates/hook-sync/enable", {"config": {"channel": "#a"}})
    activations = world.client.get("/api/v1/templates/hook-sync/activations").json()["results"]
    assert [(a["customer"], a["enabled"]) for a in activations] == [(customer, True)]
    assert world.client.get("/api/v1/templates/hook-sync").json()["activations"] == {"enabled": 1, "total": 1}


def test_deleting_a_template_removes_the_customers_triggers(world, api, org_a):
    customer = world.customer()
    client = world.embed(customer)
    connect(client)
    url = client.post("/api/v1/embed/templates/hook-sync/enable", {"config": {"channel": "#a"}}).json()["url"]
    assert world.client.delete("/api/v1/templates/hook-sync").status_code == 204
    assert api(org_a, customer=customer).get("/api/v1/triggers").json()["results"] == []
    from urllib.parse import urlsplit

    from django.test import Client

    assert Client().post(urlsplit(url).path, data=b"{}", content_type="application/json").status_code == 404
    assert "hook-sync" not in world.client.get("/api/v1/widget").json()["templates"]
    assert client.get("/api/v1/embed/templates/hook-sync").status_code == 404


def test_changing_a_templates_recipe_reaches_every_activation(world, api, org_a):
    customer = world.customer()
    client = world.embed(customer)
    connect(client)
    connect(client, "bearerapp", {"token": "tok-1"})
    client.post("/api/v1/embed/templates/nightly/enable", {})
    response = world.client.patch(
        "/api/v1/templates/nightly", {"trigger": {"type": "scheduler", "config": {"interval_seconds": 600}}}
    )
    assert response.status_code == 200, response.content
    trigger = api(org_a, customer=customer).get("/api/v1/triggers").json()["results"][0]
    assert trigger["config"]["interval_seconds"] == 600 and "cron" not in trigger["config"]
    changed = world.client.patch("/api/v1/templates/nightly", {"trigger": {"type": "webhook", "config": {}}})
    assert changed.status_code == 400 and "trigger.type" in changed.json()["error"]["details"]["fields"]
