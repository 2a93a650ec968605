"""`/api/v1/triggers` and `/api/v1/events`: the contract, bad input, isolation, permissions, audit."""

from __future__ import annotations

import pytest

from tests.core.test_errors import assert_error
from tests.triggers.conftest import hook_path, post_hook

pytestmark = pytest.mark.django_db


def _audit(in_org, org, action):
    from apps.settings.models import AuditEvent

    in_org(org)
    return list(AuditEvent.objects.filter(action=action).order_by("-created_at"))


def test_a_webhook_trigger_is_created_with_its_hook_url(api, org_a, setup, in_org):
    s = setup(org_a)
    trigger = s.trigger("webhook")
    assert trigger["id"] and trigger["type"] == "webhook" and trigger["environment"] == "production"
    assert "/hooks/" in trigger["url"] and len(hook_path(trigger).rsplit("/", 1)[1]) >= 43  # 256 bits
    assert trigger["signing"] is False and "signing_secret" not in trigger
    fetched = api(org_a).get(f"/api/v1/triggers/{trigger['id']}").json()
    assert fetched["url"] == trigger["url"]
    assert _audit(in_org, org_a, "trigger.create")[0].resource_id == trigger["id"]


def test_the_token_is_stored_hashed_in_the_shared_routing_table(org_a, setup):
    from apps.core.models import HookRoute
    from apps.triggers.services.triggers import token_hash

    trigger = setup(org_a).trigger("webhook")
    token = hook_path(trigger).rsplit("/", 1)[1]
    route = HookRoute.objects.get(target_id=trigger["id"])
    assert route.token_hash == token_hash(token) and token not in route.token_hash
    assert route.organization_id == org_a.organization.pk


def test_signing_returns_the_secret_once(api, org_a, setup):
    trigger = setup(org_a).trigger("webhook", config={"signing": True})
    assert trigger["signing_secret"].startswith("whsec_")
    assert trigger["config"]["signature_header"] == "X-Fastn-Signature"
    again = api(org_a).get(f"/api/v1/triggers/{trigger['id']}").json()
    assert "signing_secret" not in again and again["signing"] is True
    listed = api(org_a).get("/api/v1/triggers").json()["results"]
    assert trigger["signing_secret"] not in str(listed)


def test_a_scheduler_trigger_shows_its_next_five_runs(org_a, setup):
    trigger = setup(org_a).trigger("scheduler", config={"cron": "*/5 * * * *", "timezone": "Europe/Berlin"})
    assert len(trigger["next_runs"]) == 5 and trigger["url"] is None
    assert trigger["config"] == {
        "cron": "*/5 * * * *",
        "timezone": "Europe/Berlin",
        "missed": "skip",
        "jitter_seconds": 0,
    }
    interval = setup(org_a).trigger("scheduler", config={"interval_seconds": 60})
    assert len(interval["next_runs"]) == 5


def test_patch_changes_a_trigger_and_audits_it(api, org_a, setup, in_org):
    s = setup(org_a)
    trigger = s.trigger("scheduler", config={"interval_seconds": 60})
    response = api(org_a).patch(
        f"/api/v1/triggers/{trigger['id']}", {"enabled": False, "config": {"cron": "0 9 * * 1", "timezone": "UTC"}}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["enabled"] is False and body["next_runs"] == [] and body["config"]["cron"] == "0 9 * * 1"
    (audit,) = _audit(in_org, org_a, "trigger.update")[:1]
    assert audit.changes["enabled"] is False


def test_delete_removes_the_trigger_and_its_url(api, org_a, setup, in_org):
    trigger = setup(org_a).trigger("webhook")
    assert api(org_a).delete(f"/api/v1/triggers/{trigger['id']}").status_code == 204
    assert_error(api(org_a).get(f"/api/v1/triggers/{trigger['id']}"), 404, "trigger_not_found")
    assert_error(post_hook(hook_path(trigger)), 404, "hook_not_found")
    assert _audit(in_org, org_a, "trigger.delete")


def test_rotating_the_token_stops_the_old_url_at_once(api, org_a, setup):
    trigger = setup(org_a).trigger("webhook")
    old = hook_path(trigger)
    rotated = api(org_a).post(f"/api/v1/triggers/{trigger['id']}/rotate-token")
    assert rotated.status_code == 200
    new = hook_path(rotated.json())
    assert new != old
    assert_error(post_hook(old), 404, "hook_not_found")
    assert post_hook(new).status_code == 202


def test_rotating_the_secret_returns_a_new_one(api, org_a, setup):
    trigger = setup(org_a).trigger("webhook", config={"signing": True})
    rotated = api(org_a).post(f"/api/v1/triggers/{trigger['id']}/rotate-secret").json()
    assert rotated["signing_secret"] != trigger["signing_secret"]
    unsigned = setup(org_a).trigger("webhook")
    assert_error(api(org_a).post(f"/api/v1/triggers/{unsigned['id']}/rotate-secret"), 409, "nothing_to_rotate")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"workflow": "x", "config": {}}, "type"),
        ({"type": "cron", "workflow": "x"}, "type"),
        ({"type": "webhook"}, "workflow"),
        ({"type": "webhook", "workflow": 5}, "workflow"),
        ({"type": "webhook", "workflow": "missing-wf"}, "workflow"),
        ({"type": "webhook", "workflow": "@wf", "environment": "nowhere"}, "environment"),
        ({"type": "webhook", "workflow": "@wf", "customer": "nobody"}, "customer"),
        ({"type": "webhook", "workflow": "@wf", "config": []}, "config"),
        ({"type": "webhook", "workflow": "@wf", "enabled": "yes"}, "enabled"),
        ({"type": "webhook", "workflow": "@wf", "surprise": 1}, "surprise"),
        ({"type": "webhook", "workflow": "@wf", "config": {"signing": "yes"}}, "config.signing"),
        ({"type": "webhook", "workflow": "@wf", "config": {"colour": 1}}, "config.colour"),
        ({"type": "webhook", "workflow": "@wf", "config": {"ip_allowlist": ["10.0.0.0/33"]}}, "config.ip_allowlist[0]"),
        ({"type": "webhook", "workflow": "@wf", "config": {"ip_allowlist": "10.0.0.1"}}, "config.ip_allowlist"),
        ({"type": "webhook", "workflow": "@wf", "config": {"secret": "long-enough"}}, "config.secret"),
        (
            {"type": "webhook", "workflow": "@wf", "config": {"signature": {"scheme": "md5"}}},
            "config.signature.scheme",
        ),
        ({"type": "webhook", "workflow": "@wf", "config": {"tolerance_seconds": -1}}, "config.tolerance_seconds"),
        ({"type": "scheduler", "workflow": "@wf", "config": {}}, "config.cron"),
        ({"type": "scheduler", "workflow": "@wf", "config": {"cron": "* * *"}}, "config.cron"),
        ({"type": "scheduler", "workflow": "@wf", "config": {"cron": "0 0 * * * *"}}, "config.cron"),
        ({"type": "scheduler", "workflow": "@wf", "config": {"cron": "61 * * * *"}}, "config.cron"),
        (
            {"type": "scheduler", "workflow": "@wf", "config": {"cron": "* * * * *", "timezone": "Mars/Olympus"}},
            "config.timezone",
        ),
        ({"type": "scheduler", "workflow": "@wf", "config": {"interval_seconds": 1}}, "config.interval_seconds"),
        ({"type": "scheduler", "workflow": "@wf", "config": {"interval_seconds": "60"}}, "config.interval_seconds"),
        (
            {"type": "scheduler", "workflow": "@wf", "config": {"cron": "* * * * *", "interval_seconds": 60}},
            "config.cron",
        ),
        (
            {"type": "scheduler", "workflow": "@wf", "config": {"interval_seconds": 60, "jitter_seconds": 60}},
            "config.jitter_seconds",
        ),
        (
            {"type": "scheduler", "workflow": "@wf", "config": {"interval_seconds": 60, "missed": "all"}},
            "config.missed",
        ),
        (
            {"type": "scheduler", "workflow": "@wf", "config": {"interval_seconds": 60, "fan_out": "customers"}},
            "config.customers",
        ),
        (
            {"type": "scheduler", "workflow": "@wf", "config": {"interval_seconds": 60, "fan_out": "everyone"}},
            "config.fan_out",
        ),
        ({"type": "app_event", "workflow": "@wf", "config": {}}, "config.connector"),
        ({"type": "app_event", "workflow": "@wf", "config": {"connector": "no-such"}}, "config.connector"),
    ],
)
def test_bad_input_on_create_is_400_naming_the_field(api, org_a, setup, body, field):
    if body.get("workflow") == "@wf":
        body = {**body, "workflow": setup(org_a).workflow(deploy=False)}
    error = assert_error(api(org_a).post("/api/v1/triggers", body), 400)
    assert field in error["details"]["fields"], error


def test_malformed_json_and_non_object_bodies_are_400(api, org_a):
    assert_error(api(org_a).post("/api/v1/triggers", raw=b'{"type": '), 400, "malformed_json")
    assert_error(api(org_a).post("/api/v1/triggers", [1, 2]), 400, "invalid_body")


def test_bad_input_on_patch_and_list(api, org_a, setup):
    trigger = setup(org_a).trigger("webhook")
    path = f"/api/v1/triggers/{trigger['id']}"
    assert "type" in assert_error(api(org_a).patch(path, {"type": "scheduler"}), 400)["details"]["fields"]
    assert "enabled" in assert_error(api(org_a).patch(path, {"enabled": 1}), 400)["details"]["fields"]
    assert "config" in assert_error(api(org_a).patch(path, {"config": "x"}), 400)["details"]["fields"]
    assert "workflow" in assert_error(api(org_a).patch(path, {"workflow": "gone"}), 400)["details"]["fields"]
    assert assert_error(api(org_a).patch(path, raw=b"{"), 400, "malformed_json")
    assert "type" in assert_error(api(org_a).get("/api/v1/triggers?type=cron"), 400)["details"]["fields"]
    assert "limit" in assert_error(api(org_a).get("/api/v1/triggers?limit=0"), 400)["details"]["fields"]
    assert "cursor" in assert_error(api(org_a).get("/api/v1/triggers?cursor=zz"), 400)["details"]["fields"]
    assert_error(api(org_a).get("/api/v1/triggers/not-a-uuid"), 404, "trigger_not_found")


def test_another_organizations_trigger_is_404(api, org_a, org_b, setup):
    trigger = setup(org_a).trigger("webhook")
    for call in (
        lambda c: c.get(f"/api/v1/triggers/{trigger['id']}"),
        lambda c: c.patch(f"/api/v1/triggers/{trigger['id']}", {"enabled": False}),
        lambda c: c.delete(f"/api/v1/triggers/{trigger['id']}"),
        lambda c: c.post(f"/api/v1/triggers/{trigger['id']}/rotate-token"),
        lambda c: c.post(f"/api/v1/triggers/{trigger['id']}/fire"),
    ):
        assert_error(call(api(org_b)), 404, "trigger_not_found")
    assert trigger["id"] not in str(api(org_b).get("/api/v1/triggers").json())


def test_no_key_is_401_and_a_viewer_cannot_create_and_is_audited(api, org_a, setup, role_key, in_org):
    assert_error(api(org_a, key="").get("/api/v1/triggers"), 401)
    workflow = setup(org_a).workflow(deploy=False)
    viewer = api(org_a, key=role_key(org_a, "viewer"))
    assert viewer.get("/api/v1/triggers").status_code == 200
    assert_error(viewer.post("/api/v1/triggers", {"type": "webhook", "workflow": workflow}), 403)
    denied = _audit(in_org, org_a, "workflows.create")
    assert denied and denied[0].outcome == "denied"


def test_a_test_key_cannot_set_up_runs_in_production(api, org_a, setup):
    workflow = setup(org_a).workflow(deploy=False)
    response = api(org_a, key=org_a.keys["test"]).post("/api/v1/triggers", {"type": "webhook", "workflow": workflow})
    assert_error(response, 403)
    ok = api(org_a, key=org_a.keys["test"]).post(
        "/api/v1/triggers", {"type": "webhook", "workflow": workflow, "environment": "dev"}
    )
    assert ok.status_code == 201, ok.json()


def test_customer_scoped_calls_see_only_their_triggers_and_events(api, org_a, setup):
    s = setup(org_a)
    s.customer("cust-x")
    s.customer("cust-y")
    workflow = s.workflow()
    mine = api(org_a, customer="cust-x").post("/api/v1/triggers", {"type": "webhook", "workflow": workflow})
    assert mine.status_code == 201 and mine.json()["customer"] == "cust-x"
    theirs = s.trigger("webhook", workflow=workflow, customer="cust-y")
    assert post_hook(hook_path(theirs), {"a": 1}).status_code == 202
    as_x = api(org_a, customer="cust-x")
    assert [t["id"] for t in as_x.get("/api/v1/triggers").json()["results"]] == [mine.json()["id"]]
    assert_error(as_x.get(f"/api/v1/triggers/{theirs['id']}"), 404)
    assert as_x.get("/api/v1/events").json()["results"] == []
    mismatch = as_x.post("/api/v1/triggers", {"type": "webhook", "workflow": workflow, "customer": "cust-y"})
    assert "customer" in assert_error(mismatch, 400)["details"]["fields"]


def test_events_list_filters_and_detail_links_executions(api, org_a, setup):
    s = setup(org_a)
    trigger = s.trigger("webhook")
    accepted = post_hook(hook_path(trigger), {"order": 7}).json()
    fired = api(org_a).post(f"/api/v1/triggers/{trigger['id']}/fire", {"input": {"manual": 1}})
    assert fired.status_code == 202, fired.json()
    events = api(org_a).get("/api/v1/events").json()["results"]
    assert {e["type"] for e in events} >= {"webhook", "manual"}
    webhooks = api(org_a).get("/api/v1/events?type=webhook").json()["results"]
    assert all(e["type"] == "webhook" for e in webhooks)
    detail = api(org_a).get(f"/api/v1/events/{accepted['event_id']}").json()
    assert detail["payload"] == {"order": 7}
    assert [e["id"] for e in detail["executions"]] == [accepted["execution_id"]]
    execution = api(org_a).get(f"/api/v1/executions/{accepted['execution_id']}").json()
    assert execution["event_id"] == accepted["event_id"] and execution["triggered_by"] == "webhook"
    assert execution["input"] == {"order": 7}
    for query, field in (("type=cron", "type"), ("status=done", "status"), ("trigger=xyz", "trigger")):
        assert field in assert_error(api(org_a).get(f"/api/v1/events?{query}"), 400)["details"]["fields"]
    assert_error(api(org_a).get("/api/v1/events/nope"), 404, "event_not_found")


def test_fire_refuses_bad_input(api, org_a, setup):
    trigger = setup(org_a).trigger("webhook")
    path = f"/api/v1/triggers/{trigger['id']}/fire"
    assert "colour" in assert_error(api(org_a).post(path, {"colour": 1}), 400)["details"]["fields"]
    assert_error(api(org_a).post(path, raw=b"{"), 400, "malformed_json")
    assert api(org_a).post(path).status_code == 202
