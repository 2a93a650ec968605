"""/api/v1/templates: a deployed workflow offered to customers, checked
field by field; changes reach every customer's activation."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

CODE = "export default async function(ctx) { return ctx.config; }"
SCHEMA = {
    "type": "object",
    "properties": {"channel": {"type": "string", "default": "#general"}, "limit": {"type": "integer", "minimum": 1}},
    "required": ["channel"],
}


@pytest.fixture
def side(org_a, embedding, fake_api):
    side = embedding(org_a)
    side.client.post("/api/v1/connectors", fake_api.definition("keyapp"))
    side.deployed = side.workflow(CODE)
    return side


def test_a_template_is_created_listed_and_read(side):
    body = side.template(
        workflow=side.deployed,
        title="Sync contacts",
        description="Every hour",
        connectors=["keyapp"],
        config_schema=SCHEMA,
        trigger={"type": "scheduler", "config": {"interval_seconds": 3600}},
    )
    assert body["slug"] == "sync-contacts" and body["workflow"] == side.deployed
    assert body["trigger"]["type"] == "scheduler" and body["trigger"]["config"]["interval_seconds"] == 3600
    assert body["activations"] == {"enabled": 0, "total": 0} and body["environment"] == "production"
    listed = side.client.get("/api/v1/templates").json()
    assert "sync-contacts" in [t["slug"] for t in listed["results"]] and "has_more" in listed
    assert side.client.get("/api/v1/templates/sync-contacts").json()["config_schema"] == SCHEMA
    again = side.template(workflow=side.deployed, title="Sync contacts", trigger={"type": "webhook", "config": {}})
    assert again["slug"] == "sync-contacts-2"
    taken = side.client.post(
        "/api/v1/templates",
        {
            "slug": "sync-contacts",
            "workflow": side.deployed,
            "title": "X",
            "trigger": {"type": "webhook", "config": {}},
        },
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "template_exists"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"workflow": "no-such-workflow"}, "workflow"),
        ({"workflow": 3}, "workflow"),
        ({"title": ""}, "title"),
        ({"title": None}, "title"),
        ({"slug": "Bad Slug"}, "slug"),
        ({"environment": "moon"}, "environment"),
        ({"connectors": ["nope"]}, "connectors[0]"),
        ({"connectors": "keyapp"}, "connectors"),
        ({"config_schema": "object"}, "config_schema"),
        ({"config_schema": {"type": "array"}}, "config_schema.type"),
        (
            {"config_schema": {"type": "object", "properties": {"a": {"type": "no-such-type"}}}},
            "config_schema.properties.a.type",
        ),
        ({"config_schema": {"type": "object", "minProperties": -1}}, "config_schema.minProperties"),
        ({"trigger": {"type": "carrier-pigeon", "config": {}}}, "trigger.type"),
        ({"trigger": {"type": "scheduler", "config": {"cron": "61 * * * *"}}}, "trigger.config.cron"),
        ({"trigger": {"type": "scheduler", "config": {}}}, "trigger.config.cron"),
        (
            {"trigger": {"type": "scheduler", "config": {"interval_seconds": 60, "fan_out": "customers"}}},
            "trigger.config.fan_out",
        ),
        ({"trigger": {"type": "webhook", "config": {"signing": "yes"}}}, "trigger.config.signing"),
        ({"trigger": {"type": "webhook", "config": []}}, "trigger.config"),
        ({"trigger": {"type": "webhook", "config": {}, "extra": 1}}, "trigger.extra"),
        ({"trigger": {"type": "app_event", "config": {"connector": "keyapp"}}}, "trigger.config.connector"),
        ({"trigger": "webhook"}, "trigger"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_template_bodies_answer_400_naming_the_field(side, change, field):
    body = {"workflow": side.deployed, "title": "T", "trigger": {"type": "webhook", "config": {}}, **change}
    response = side.client.post("/api/v1/templates", body)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]["fields"], response.json()


def test_a_workflow_without_a_deployed_version_cannot_become_a_template(side):
    slug = "draft-only"
    side.client.post("/api/v1/workflows", {"name": slug, "slug": slug, "code": CODE})
    response = side.client.post(
        "/api/v1/templates", {"workflow": slug, "title": "T", "trigger": {"type": "webhook", "config": {}}}
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_deployed"


def test_malformed_and_oversized_template_bodies(side, settings):
    assert side.client.post("/api/v1/templates", raw="{").json()["error"]["code"] == "malformed_json"
    settings.FASTN_MAX_BODY_BYTES = 1000
    big = '{"title": "' + "t" * 2000 + '"}'
    assert side.client.post("/api/v1/templates", raw=big).status_code == 413


def test_templates_are_per_organization(side, org_b, embedding):
    side.template(slug="alpha-only", workflow=side.deployed, title="A", trigger={"type": "webhook", "config": {}})
    other = embedding(org_b).client
    assert other.get("/api/v1/templates/alpha-only").status_code == 404
    assert other.patch("/api/v1/templates/alpha-only", {"title": "B"}).status_code == 404
    assert other.delete("/api/v1/templates/alpha-only").status_code == 404
    assert "alpha-only" not in str(other.get("/api/v1/templates").json())


def test_patching_a_template_checks_each_field(side):
    side.template(slug="patch-me", workflow=side.deployed, title="A", trigger={"type": "webhook", "config": {}})
    ok = side.client.patch("/api/v1/templates/patch-me", {"title": "B", "config_schema": SCHEMA})
    assert ok.status_code == 200 and ok.json()["title"] == "B"
    bad = side.client.patch("/api/v1/templates/patch-me", {"trigger": {"type": "scheduler", "config": {"cron": "x"}}})
    assert bad.status_code == 400 and "trigger.config.cron" in bad.json()["error"]["details"]["fields"]
    assert side.client.patch("/api/v1/templates/patch-me", {"slug": "new"}).status_code == 400
    log = side.client.get("/api/v1/audit-log", {"resource_type": "template"}).json()["results"]
    assert {"template.create", "template.update"} <= {e["action"] for e in log}


def test_viewers_read_templates_and_cannot_change_them(side, api, org_a, role_key):
    side.template(slug="read-only", workflow=side.deployed, title="A", trigger={"type": "webhook", "config": {}})
    viewer = api(org_a, key=role_key(org_a, "viewer"))
    assert viewer.get("/api/v1/templates/read-only").status_code == 200
    assert viewer.patch("/api/v1/templates/read-only", {"title": "X"}).status_code == 403
    assert viewer.delete("/api/v1/templates/read-only").status_code == 403
