"""Workflows API: drafts, versions, deployments, validation, errors (no workers needed)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.settings.models import AuditEvent
from apps.workflows.models import Execution, Workflow
from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db

CODE = "export default async function(ctx) {\n  return {sum: ctx.input.a + ctx.input.b};\n}\n"


def create(client, **fields):
    body = {"name": "Add numbers", "code": CODE, **fields}
    return client.post("/api/v1/workflows", body)


def test_create_fills_slug_tier_timeout_and_versions(api, org_a):
    response = create(api(org_a))
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "add-numbers"
    assert body["tier"] == "standard" and body["timeout_ms"] == 900_000
    assert body["versions"] == [] and body["latest_version"] == 0
    assert body["enabled"] is True and body["status"] == "active"
    assert body["retry_policy"] == {
        "enabled": False,
        "max_attempts": 3,
        "initial_interval_ms": 5000,
        "backoff_coefficient": 2,
        "max_interval_ms": 60000,
    }
    assert body["code_bytes"] == len(CODE.encode()) and body["edited_via"] == "manual"


def test_slugs_from_names_are_made_unique_and_explicit_duplicates_are_409(api, org_a):
    client = api(org_a)
    assert create(client).json()["slug"] == "add-numbers"
    assert create(client).json()["slug"] == "add-numbers-2"
    assert create(client, slug="mine").status_code == 201
    assert_error(create(client, slug="mine"), 409, "workflow_exists")


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"tier": "turbo"}, "tier"),
        ({"tier": "instant", "timeout_ms": 500}, "timeout_ms"),
        ({"tier": "instant", "timeout_ms": 120_001}, "timeout_ms"),
        ({"tier": "standard", "timeout_ms": 4_999}, "timeout_ms"),
        ({"tier": "long", "timeout_ms": 21_600_001}, "timeout_ms"),
        ({"timeout_ms": "60000"}, "timeout_ms"),
        ({"retry_policy": {"max_attempts": 11}}, "retry_policy.max_attempts"),
        ({"retry_policy": {"max_attempts": 0}}, "retry_policy.max_attempts"),
        ({"retry_policy": {"initial_interval_ms": 99}}, "retry_policy.initial_interval_ms"),
        ({"retry_policy": {"max_interval_ms": 3_600_001}}, "retry_policy.max_interval_ms"),
        ({"retry_policy": {"backoff_coefficient": 11}}, "retry_policy.backoff_coefficient"),
        ({"retry_policy": {"backoff_coefficient": 0.5}}, "retry_policy.backoff_coefficient"),
        ({"retry_policy": {"enabled": "yes"}}, "retry_policy.enabled"),
        ({"retry_policy": {"jitter": True}}, "retry_policy.jitter"),
        ({"retry_policy": []}, "retry_policy"),
        ({"enabled": "true"}, "enabled"),
        ({"slug": "Bad Slug"}, "slug"),
        ({"name": ""}, "name"),
        ({"code": 42}, "code"),
        ({"input_schema": {"type": "not-a-type"}}, "input_schema"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_workflow_fields_are_400_naming_the_field(api, org_a, fields, field):
    error = assert_error(create(api(org_a), **fields), 400)
    assert field in error["details"]["fields"], error


def test_missing_code_and_name_are_named(api, org_a):
    error = assert_error(api(org_a).post("/api/v1/workflows", {}), 400)
    assert {"name", "code"} <= set(error["details"]["fields"])


def test_code_that_does_not_compile_is_422_with_line_and_column(api, org_a):
    code = "export default async function(ctx) {\n  let x = ;\n}\n"
    error = assert_error(create(api(org_a), code=code), 422, "compile_error")
    assert error["details"]["line"] == 2
    assert error["details"]["column"] >= 1
    assert "line 2" in error["message"]


def test_patch_updates_the_draft_and_validates(api, org_a):
    client = api(org_a)
    create(client)
    response = client.patch(
        "/api/v1/workflows/add-numbers",
        {"tier": "instant", "timeout_ms": 2000, "enabled": False, "retry_policy": {"enabled": True}},
    )
    body = response.json()
    assert response.status_code == 200
    assert (body["tier"], body["timeout_ms"], body["enabled"], body["status"]) == ("instant", 2000, False, "inactive")
    assert body["retry_policy"]["enabled"] is True and body["retry_policy"]["max_attempts"] == 3
    # Changing the tier alone keeps a timeout that fits, or falls back to the tier's default.
    assert client.patch("/api/v1/workflows/add-numbers", {"tier": "long"}).json()["timeout_ms"] == 21_600_000
    assert_error(client.patch("/api/v1/workflows/add-numbers", {"timeout_ms": 1}), 400)
    assert_error(client.patch("/api/v1/workflows/add-numbers", {"code": "export default ("}), 422)
    assert_error(client.patch("/api/v1/workflows/add-numbers", {"slug": "renamed"}), 400)
    agent = client.patch("/api/v1/workflows/add-numbers", {"code": CODE + "// tuned\n", "edited_via": "agent"})
    assert agent.json()["edited_via"] == "agent"


def test_publish_makes_immutable_versions_newest_first(api, org_a):
    client = api(org_a)
    create(client)
    first = client.post("/api/v1/workflows/add-numbers/publish", {"note": "first"})
    assert first.status_code == 201 and first.json()["version"] == 1
    client.patch("/api/v1/workflows/add-numbers", {"code": CODE.replace("a + ctx.input.b", "a * ctx.input.b")})
    second = client.post("/api/v1/workflows/add-numbers/publish")
    assert second.json()["version"] == 2
    assert second.json()["content_hash"] != first.json()["content_hash"]
    versions = client.get("/api/v1/workflows/add-numbers/versions").json()["results"]
    assert [v["version"] for v in versions] == [2, 1]
    assert client.get("/api/v1/workflows/add-numbers/versions/1").json()["code"] == CODE
    assert_error(client.get("/api/v1/workflows/add-numbers/versions/9"), 404, "version_not_found")
    assert [v["version"] for v in client.get("/api/v1/workflows/add-numbers").json()["versions"]] == [2, 1]


def test_deploy_and_rollback_through_the_api(api, org_a, in_org):
    client = api(org_a)
    create(client)
    client.post("/api/v1/workflows/add-numbers/publish")
    client.post("/api/v1/workflows/add-numbers/publish")
    deployed = client.post("/api/v1/workflows/add-numbers/deploy", {"version": 2, "environment": "production"})
    assert deployed.status_code == 200
    assert deployed.json()["version"] == 2 and deployed.json()["environment"] == "production"
    client.post("/api/v1/workflows/add-numbers/deploy", {"version": 1, "environment": "staging"})
    assert client.get("/api/v1/workflows/add-numbers").json()["deployments"] == {"production": 2, "staging": 1}
    rollback = client.post("/api/v1/workflows/add-numbers/deploy", {"version": 1})
    assert rollback.json()["environment"] == "production"
    assert client.get("/api/v1/workflows/add-numbers").json()["deployments"]["production"] == 1
    in_org(org_a)
    event = AuditEvent.objects.filter(action="workflow.deploy").order_by("-created_at").first()
    assert event.changes["rollback"] is True and event.changes["previous_version"] == 2


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"version": 7}, 404, "version_not_found"),
        ({"version": 1, "environment": "moon"}, 404, "environment_not_found"),
        ({"version": "1"}, 400, "invalid_input"),
        ({"version": 0}, 400, "invalid_input"),
        ({}, 400, "invalid_input"),
    ],
)
def test_deploy_errors(api, org_a, body, status, code):
    client = api(org_a)
    create(client)
    client.post("/api/v1/workflows/add-numbers/publish")
    assert_error(client.post("/api/v1/workflows/add-numbers/deploy", body), status, code)


def test_run_without_deployment_or_disabled_is_409(api, org_a):
    client = api(org_a)
    create(client)
    assert_error(client.post("/api/v1/workflows/add-numbers/run", {"a": 1, "b": 2}), 409, "not_deployed")
    client.post("/api/v1/workflows/add-numbers/publish")
    client.post("/api/v1/workflows/add-numbers/deploy", {"version": 1, "environment": "staging"})
    assert_error(client.post("/api/v1/workflows/add-numbers/run", {"a": 1}), 409, "not_deployed")
    assert_error(client.post("/api/v1/workflows/add-numbers/run?environment=nowhere", {}), 404, "environment_not_found")
    client.patch("/api/v1/workflows/add-numbers", {"enabled": False})
    assert_error(client.post("/api/v1/workflows/add-numbers/run?environment=staging", {}), 409, "workflow_disabled")


def test_standard_run_is_202_with_a_queued_execution(api, org_a, in_org):
    client = api(org_a)
    create(client)
    client.post("/api/v1/workflows/add-numbers/publish")
    client.post("/api/v1/workflows/add-numbers/deploy", {"version": 1})
    response = client.post("/api/v1/workflows/add-numbers/run", {"a": 1, "b": 2}, HTTP_AUTHORIZATION="Bearer x")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    detail = client.get(f"/api/v1/executions/{body['execution_id']}").json()
    assert detail["input"] == {"a": 1, "b": 2}
    assert detail["status"] == "queued" and detail["tier"] == "standard" and detail["version"] == 1
    assert detail["environment"] == "production" and detail["triggered_by"] == "manual"
    in_org(org_a)
    headers = Execution.objects.get(id=body["execution_id"]).headers
    assert "authorization" not in headers and "x-fastn-access-key" not in headers


def test_run_body_may_be_any_json(api, org_a):
    client = api(org_a)
    create(client)
    client.post("/api/v1/workflows/add-numbers/publish")
    client.post("/api/v1/workflows/add-numbers/deploy", {"version": 1})
    for payload in ([1, 2, 3], "text", 42, None):
        response = client.post("/api/v1/workflows/add-numbers/run", raw=__import__("json").dumps(payload))
        assert response.status_code == 202, response.content
    assert_error(client.post("/api/v1/workflows/add-numbers/run", raw=b"{nope"), 400, "malformed_json")


def test_input_schema_rejects_bad_input_with_400(api, org_a):
    client = api(org_a)
    schema = {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}
    create(client, input_schema=schema)
    client.post("/api/v1/workflows/add-numbers/publish")
    client.post("/api/v1/workflows/add-numbers/deploy", {"version": 1})
    error = assert_error(client.post("/api/v1/workflows/add-numbers/run", {"a": "x"}), 400, "invalid_input")
    assert "a" in error["details"]["fields"]
    assert client.post("/api/v1/workflows/add-numbers/run", {"a": 1}).status_code == 202


def test_idempotency_key_returns_the_first_response_and_starts_nothing_new(api, org_a, in_org):
    client = api(org_a)
    create(client)
    client.post("/api/v1/workflows/add-numbers/publish")
    client.post("/api/v1/workflows/add-numbers/deploy", {"version": 1})
    first = client.post("/api/v1/workflows/add-numbers/run", {"a": 1}, HTTP_IDEMPOTENCY_KEY="key-1")
    again = client.post("/api/v1/workflows/add-numbers/run", {"a": 1}, HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/workflows/add-numbers/run", {"a": 1}, HTTP_IDEMPOTENCY_KEY="key-2")
    assert other.json()["execution_id"] != first.json()["execution_id"]
    assert_error(
        client.post("/api/v1/workflows/add-numbers/run", {"a": 2}, HTTP_IDEMPOTENCY_KEY="key-1"),
        409,
        "idempotency_key_reused",
    )
    in_org(org_a)
    assert Execution.objects.count() == 2


def test_executions_list_filters_and_paginates(api, org_a):
    client = api(org_a)
    create(client)
    create(client, name="Other", tier="long")
    for slug in ("add-numbers", "other"):
        client.post(f"/api/v1/workflows/{slug}/publish")
        client.post(f"/api/v1/workflows/{slug}/deploy", {"version": 1})
    ids = [client.post("/api/v1/workflows/add-numbers/run", {"n": i}).json()["execution_id"] for i in range(3)]
    client.post("/api/v1/workflows/other/run", {})
    everything = client.get("/api/v1/executions").json()["results"]
    assert len(everything) == 4 and everything[1]["id"] == ids[2]
    only = client.get("/api/v1/executions", {"workflow": "add-numbers", "limit": 2}).json()
    assert [e["id"] for e in only["results"]] == [ids[2], ids[1]]
    rest = client.get("/api/v1/executions", {"workflow": "add-numbers", "limit": 2, "cursor": only["next_cursor"]})
    assert [e["id"] for e in rest.json()["results"]] == [ids[0]]
    assert len(client.get("/api/v1/executions", {"tier": "long"}).json()["results"]) == 1
    assert len(client.get("/api/v1/executions", {"status": "queued"}).json()["results"]) == 4
    assert client.get("/api/v1/executions", {"status": "completed"}).json()["results"] == []
    assert client.get("/api/v1/executions", {"since": "2999-01-01T00:00:00Z"}).json()["results"] == []
    for bad in ({"status": "done"}, {"tier": "x"}, {"since": "soon"}, {"limit": "9999"}, {"cursor": "@@"}):
        assert_error(client.get("/api/v1/executions", bad), 400)


def test_execution_detail_has_every_field(api, org_a):
    client = api(org_a)
    create(client)
    client.post("/api/v1/workflows/add-numbers/publish")
    client.post("/api/v1/workflows/add-numbers/deploy", {"version": 1})
    execution_id = client.post("/api/v1/workflows/add-numbers/run", {"a": 1}).json()["execution_id"]
    detail = client.get(f"/api/v1/executions/{execution_id}").json()
    for field in (
        "id",
        "workflow",
        "version",
        "environment",
        "tier",
        "status",
        "attempts",
        "triggered_by",
        "customer",
        "started_at",
        "finished_at",
        "duration_ms",
        "input",
        "output",
        "error",
        "logs",
    ):
        assert field in detail, field
    assert_error(client.get("/api/v1/executions/not-a-uuid"), 404, "execution_not_found")
    assert_error(client.get("/api/v1/executions/00000000-0000-0000-0000-000000000000"), 404)


def test_another_organization_sees_no_workflow_or_execution(api, org_a, org_b):
    client = api(org_a)
    create(client)
    client.post("/api/v1/workflows/add-numbers/publish")
    client.post("/api/v1/workflows/add-numbers/deploy", {"version": 1})
    execution_id = client.post("/api/v1/workflows/add-numbers/run", {}).json()["execution_id"]
    other = api(org_b)
    assert_error(other.get("/api/v1/workflows/add-numbers"), 404, "workflow_not_found")
    assert_error(other.post("/api/v1/workflows/add-numbers/run", {}), 404)
    assert_error(other.post("/api/v1/workflows/add-numbers/publish"), 404)
    assert_error(other.get(f"/api/v1/executions/{execution_id}"), 404)
    assert other.get("/api/v1/workflows").json()["results"] == []
    assert other.get("/api/v1/executions").json()["results"] == []


def test_roles_through_the_workflow_endpoints(api, org_a, role_key):
    create(api(org_a))
    api(org_a).post("/api/v1/workflows/add-numbers/publish")
    viewer = api(org_a, key=role_key(org_a, "viewer"))
    operator = api(org_a, key=role_key(org_a, "operator", kind="live"))
    test_operator = api(org_a, key=role_key(org_a, "operator", kind="test"))
    assert viewer.get("/api/v1/workflows").status_code == 200
    assert_error(viewer.post("/api/v1/workflows", {"name": "x", "code": CODE}), 403)
    assert_error(viewer.post("/api/v1/workflows/add-numbers/publish"), 403)
    assert_error(viewer.post("/api/v1/workflows/add-numbers/run", {}), 403)
    assert_error(operator.patch("/api/v1/workflows/add-numbers", {"name": "x"}), 403)
    assert_error(operator.post("/api/v1/workflows/add-numbers/publish"), 403)
    assert operator.post("/api/v1/workflows/add-numbers/deploy", {"version": 1}).status_code == 200
    assert operator.post("/api/v1/workflows/add-numbers/run", {}).status_code == 202
    # Test keys stay out of production, for deploys and runs alike; other environments are fine.
    assert_error(test_operator.post("/api/v1/workflows/add-numbers/deploy", {"version": 1}), 403)
    assert_error(test_operator.post("/api/v1/workflows/add-numbers/run", {}), 403)
    assert (
        test_operator.post("/api/v1/workflows/add-numbers/deploy", {"version": 1, "environment": "staging"}).status_code
        == 200
    )
    assert test_operator.post("/api/v1/workflows/add-numbers/run?environment=staging", {}).status_code == 202


def test_delete_removes_the_workflow_and_keeps_executions(api, org_a, in_org):
    client = api(org_a)
    create(client)
    client.post("/api/v1/workflows/add-numbers/publish")
    client.post("/api/v1/workflows/add-numbers/deploy", {"version": 1})
    execution_id = client.post("/api/v1/workflows/add-numbers/run", {}).json()["execution_id"]
    assert client.delete("/api/v1/workflows/add-numbers").status_code == 204
    assert_error(client.get("/api/v1/workflows/add-numbers"), 404)
    assert client.get(f"/api/v1/executions/{execution_id}").json()["workflow"] == "add-numbers"
    in_org(org_a)
    assert not Workflow.objects.filter(slug="add-numbers").exists()


def test_workflow_mutations_are_audited(api, org_a, in_org):
    client = api(org_a)
    create(client)
    client.patch("/api/v1/workflows/add-numbers", {"description": "d"})
    client.post("/api/v1/workflows/add-numbers/publish")
    client.post("/api/v1/workflows/add-numbers/deploy", {"version": 1})
    client.delete("/api/v1/workflows/add-numbers")
    in_org(org_a)
    actions = set(AuditEvent.objects.filter(resource_type="workflow").values_list("action", flat=True))
    assert actions == {"workflow.create", "workflow.update", "workflow.publish", "workflow.deploy", "workflow.delete"}


def test_a_rare_filter_combination_scans_a_bounded_window_and_answers_with_a_cursor(api, org_a, in_org, settings):
    from apps.workflows.models import Execution

    settings.FASTN_EXECUTION_LIST_SCAN_ROWS = 4
    in_org(org_a)
    base = {"version_number": 1, "environment": "production", "triggered_by": "manual", "timeout_ms": 1000}
    now = timezone.now()
    # Newest first: six standard runs, then an instant run of wf-a, then one of wf-b (all completed).
    rows = [("wf-b", "instant", 10), ("wf-a", "instant", 9)] + [("wf-a", "standard", i) for i in range(6)]
    for slug, tier, age in rows:
        row = Execution.objects.create(workflow_slug=slug, status="completed", tier=tier, **base)
        Execution.objects.filter(pk=row.pk).update(created_at=now - timedelta(minutes=age))
    client = api(org_a)
    # Indexed combination (workflow + status): answered at once.
    direct = client.get("/api/v1/executions", {"workflow": "wf-b", "status": "completed"}).json()
    assert len(direct["results"]) == 1 and direct["next_cursor"] is None
    # status + tier has no index of its own: the first window (the 4 newest completed) holds no instant run.
    query = {"status": "completed", "tier": "instant", "limit": 5}
    first = client.get("/api/v1/executions", query).json()
    assert first["results"] == [] and first["next_cursor"] and first["has_more"]
    found, cursor, pages = [], first["next_cursor"], 1
    while cursor:
        page = client.get("/api/v1/executions", {**query, "cursor": cursor}).json()
        found += [(e["workflow"], e["tier"]) for e in page["results"]]
        cursor, pages = page["next_cursor"], pages + 1
        assert pages < 10
    assert found == [("wf-a", "instant"), ("wf-b", "instant")]


def test_deep_pages_start_from_the_cursor_in_the_index(api, org_a, in_org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.workflows.models import Execution

    in_org(org_a)
    base = {"workflow_slug": "wf-c", "version_number": 1, "environment": "production", "triggered_by": "manual"}
    for _ in range(5):
        Execution.objects.create(tier="standard", timeout_ms=1000, **base)
    client = api(org_a)
    first = client.get("/api/v1/executions", {"limit": 2}).json()
    with CaptureQueriesContext(connection) as captured:
        client.get("/api/v1/executions", {"limit": 2, "cursor": first["next_cursor"]})
    listing = [q["sql"] for q in captured.captured_queries if "workflows_execution" in q["sql"]]
    assert any('"created_at" <= ' in sql for sql in listing), listing
