"""Test cases on real Standard workers: MOCK isolation, expectations, LIVE runs,
run all, and the deploy gate."""

import pytest

from tests.core.test_errors import assert_error

pytestmark = [pytest.mark.workers]

SYNC_CODE = """
export default async function (ctx) {
  const contact = await fastn.connector['acme-crm'].getContact({id: ctx.input.id});
  const created = await fastn.connector['acme-crm'].createContact({email: contact.email});
  await fastn.state.set('last', created.id);
  const last = await fastn.state.get('last');
  return {email: contact.email, created: created.id, last};
}
"""

DEFINITION = {
    "slug": "acme-crm",
    "name": "Acme CRM",
    "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
    "actions": {
        "getContact": {"method": "GET", "path": "/contacts/{id}"},
        "createContact": {"method": "POST", "path": "/contacts"},
    },
}

MOCKS = [
    {"connector": "acme-crm", "action": "getContact", "response": {"id": 7, "email": "seven@acme.test"}},
    {"connector": "acme-crm", "action": "createContact", "status": 201, "response": {"id": 8}},
]


def _setup(api, org, httpserver, code=SYNC_CODE, **fields):
    client = api(org)
    definition = {**DEFINITION, "base_url": httpserver.url_for("/v2")}
    assert client.post("/api/v1/connectors", definition).status_code == 201
    created = client.post("/api/v1/workflows", {"name": "Sync", "slug": "sync", "code": code, **fields})
    assert created.status_code == 201, created.json()
    return client


def test_a_mock_case_passes_and_the_fake_api_receives_nothing(celery_workers, live_org, api, httpserver, settings):
    settings.FASTN_ALLOW_PRIVATE_NETWORK = True
    org = live_org()
    client = _setup(api, org, httpserver)
    # A connection exists: a MOCK run must still not use it.
    client.post("/api/v1/customers", {"external_id": "c1", "name": "C1"})
    api(org, customer="c1").post(
        "/api/v1/connections", {"connector": "acme-crm", "credentials": {"api_key": "k-123456"}, "verify": False}
    )
    case = client.post(
        "/api/v1/workflows/sync/test-cases",
        {
            "name": "Copies a contact",
            "input": {"id": 7},
            "mocks": MOCKS,
            "customer": "c1",
            "expect": {"status": "completed", "output": {"email": "seven@acme.test", "created": 8, "last": 8}},
        },
    ).json()
    body = client.post(f"/api/v1/workflows/sync/test-cases/{case['id']}/run").json()
    assert body["passed"] is True, body
    assert body["failures"] == []
    execution = body["execution"]
    assert execution["status"] == "completed" and execution["output"]["created"] == 8
    assert [(s["op"], s["target"], s["status"]) for s in execution["steps"]] == [
        ("connector.call", "acme-crm.getContact", 200),
        ("connector.call", "acme-crm.createContact", 201),
        ("state.set", "last", None),
        ("state.get", "last", None),
    ]
    assert httpserver.log == []  # nothing left the machine
    # State lived only for the test run.
    from django.db import connection

    from apps.workflows.models import StateEntry

    connection.set_tenant(org.organization)
    assert not StateEntry.objects.exists()
    connection.set_schema_to_public()
    listed = client.get("/api/v1/workflows/sync/test-cases").json()["results"][0]
    assert listed["last_result"]["passed"] is True and listed["last_result"]["status"] == "completed"


def test_an_unmocked_call_fails_the_case_naming_the_action_even_when_caught(
    celery_workers, live_org, api, httpserver, settings
):
    code = """
    export default async function (ctx) {
      try { await fastn.connector['acme-crm'].createContact({email: 'x@y.z'}); } catch (e) { return {caught: e.code}; }
      return {caught: null};
    }
    """
    org = live_org()
    client = _setup(api, org, httpserver, code=code)
    case = client.post("/api/v1/workflows/sync/test-cases", {"name": "No mocks", "mocks": []}).json()
    body = client.post(f"/api/v1/workflows/sync/test-cases/{case['id']}/run").json()
    assert body["passed"] is False
    assert any("acme-crm.createContact" in failure for failure in body["failures"]), body["failures"]
    assert body["execution"]["output"] == {"caught": "unmocked_call"}
    assert httpserver.log == []


def test_expectations_status_output_subset_assertion_and_mocked_errors(celery_workers, live_org, api, httpserver):
    code = """
    export default async function (ctx) {
      try {
        await fastn.connector['acme-crm'].getContact({id: 1});
      } catch (e) {
        if (ctx.input.rethrow) throw new Error('gone: ' + e.status);
        return {status: e.status, body: e.body, extra: true};
      }
      return {status: 200};
    }
    """
    org = live_org()
    client = _setup(api, org, httpserver, code=code)
    mock_404 = [{"connector": "acme-crm", "action": "getContact", "status": 404, "response": {"error": "nope"}}]
    base = "/api/v1/workflows/sync/test-cases"
    cases = {
        "subset": ({"output": {"status": 404, "body": {"error": "nope"}}}, {}, True),
        "wrong": ({"output": {"status": 200}}, {}, False),
        "failed": ({"status": "failed"}, {"rethrow": True}, True),
        "assert-ok": ({"assert": "(r, input) => r.output.status === 404 && input.n === 1"}, {"n": 1}, True),
        "assert-false": ({"assert": "(r) => r.output.status === 500"}, {}, False),
        "assert-msg": ({"assert": "(r) => 'status was ' + r.output.status"}, {}, False),
        "assert-throws": ({"assert": "(r) => { throw new Error('boom') }"}, {}, False),
    }
    outcome = {}
    for name, (expect, input, _) in cases.items():
        case = client.post(base, {"name": name, "mocks": mock_404, "expect": expect, "input": input}).json()
        outcome[name] = client.post(f"{base}/{case['id']}/run").json()
    assert {name: body["passed"] for name, body in outcome.items()} == {n: c[2] for n, c in cases.items()}
    assert outcome["wrong"]["failures"] == ["output.status: expected 200, got 404."]
    assert outcome["assert-false"]["failures"] == ["Assertion returned false."]
    assert outcome["assert-msg"]["failures"] == ["Assertion failed: status was 404"]
    assert "boom" in outcome["assert-throws"]["failures"][0]
    assert outcome["failed"]["execution"]["error"]["message"] == "gone: 404"


def test_a_live_case_uses_the_test_customers_real_connection(celery_workers, live_org, api, httpserver, settings):
    settings.FASTN_ALLOW_PRIVATE_NETWORK = True
    httpserver.expect_request("/v2/contacts/7", headers={"X-Api-Key": "live-key-123"}).respond_with_json(
        {"id": 7, "email": "live@acme.test"}
    )
    httpserver.expect_request("/v2/contacts", method="POST").respond_with_json({"id": 99}, status=201)
    org = live_org()
    client = _setup(api, org, httpserver)
    client.post("/api/v1/customers", {"external_id": "tester", "name": "Tester"})
    api(org, customer="tester").post(
        "/api/v1/connections", {"connector": "acme-crm", "credentials": {"api_key": "live-key-123"}, "verify": False}
    )
    case = client.post(
        "/api/v1/workflows/sync/test-cases",
        {
            "name": "Live copy",
            "mode": "live",
            "customer": "tester",
            "environment": "staging",
            "input": {"id": 7},
            "expect": {"output": {"email": "live@acme.test", "created": 99}},
        },
    ).json()
    body = client.post(f"/api/v1/workflows/sync/test-cases/{case['id']}/run").json()
    assert body["passed"] is True, body
    assert len(httpserver.log) == 2
    assert "live-key-123" not in str(body)


def test_run_all_runs_every_case_in_parallel_and_reports_each(celery_workers, live_org, api, httpserver):
    org = live_org()
    client = _setup(api, org, httpserver)
    base = "/api/v1/workflows/sync/test-cases"
    good = client.post(base, {"name": "good", "input": {"id": 7}, "mocks": MOCKS}).json()
    bad = client.post(base, {"name": "bad", "input": {"id": 7}, "mocks": MOCKS[:1]}).json()
    body = client.post(f"{base}/run").json()
    assert (body["total"], body["passed"], body["failed"], body["status"]) == (2, 1, 1, "failed")
    by_name = {r["name"]: r for r in body["results"]}
    assert by_name["good"]["passed"] and not by_name["bad"]["passed"]
    assert "acme-crm.createContact" in by_name["bad"]["failures"][0]
    progress = client.get(f"/api/v1/workflows/sync/test-runs/{body['id']}").json()
    assert progress["total"] == 2 and progress["status"] == "failed"
    assert {good["id"], bad["id"]} == {r["test_case"] for r in progress["results"]}


def test_the_deploy_gate_blocks_production_until_approved_cases_pass(celery_workers, live_org, api, httpserver):
    org = live_org()
    client = _setup(api, org, httpserver, require_passing_tests=True)
    base = "/api/v1/workflows/sync/test-cases"
    assert client.post("/api/v1/workflows/sync/publish").status_code == 201
    # Nothing approved: nothing to trust.
    error = assert_error(client.post("/api/v1/workflows/sync/deploy", {"version": 1}), 409, "tests_failed")
    assert error["details"]["total"] == 0
    # Non-production environments are not gated.
    assert client.post("/api/v1/workflows/sync/deploy", {"version": 1, "environment": "staging"}).status_code == 200
    case = client.post(base, {"name": "Copies a contact", "input": {"id": 7}, "mocks": MOCKS[:1]}).json()
    client.post(f"{base}/{case['id']}/approve")
    client.post(base, {"name": "Unapproved and failing", "expect": {"status": "timeout"}})
    error = assert_error(client.post("/api/v1/workflows/sync/deploy", {"version": 1}), 409, "tests_failed")
    assert error["details"]["version"] == 1 and error["details"]["total"] == 1
    assert [f["name"] for f in error["details"]["failed"]] == ["Copies a contact"]
    assert "acme-crm.createContact" in error["details"]["failed"][0]["failures"][0]
    assert "Copies a contact" in error["message"]
    assert "production" not in client.get("/api/v1/workflows/sync").json()["deployments"]
    # Fix the case (the approval is withdrawn by the change), approve again: v1 deploys.
    client.patch(f"{base}/{case['id']}", {"mocks": MOCKS})
    client.post(f"{base}/{case['id']}/approve")
    deployed = client.post("/api/v1/workflows/sync/deploy", {"version": 1})
    assert deployed.status_code == 200, deployed.json()
    assert deployed.json()["gate"]["status"] == "passed" and deployed.json()["gate"]["total"] == 1
    assert client.get("/api/v1/workflows/sync").json()["deployments"]["production"] == 1
    # The gate runs against the version being deployed, not the draft.
    client.patch("/api/v1/workflows/sync", {"code": "export default async function () { throw new Error('v2 broke') }"})
    client.post("/api/v1/workflows/sync/publish")
    error = assert_error(client.post("/api/v1/workflows/sync/deploy", {"version": 2}), 409, "tests_failed")
    assert "v2 broke" in str(error["details"]["failed"])
    assert client.post("/api/v1/workflows/sync/deploy", {"version": 1}).status_code == 200
