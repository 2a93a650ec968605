"""Test cases API (API.md "Test cases"): every field, bad input, scoping, approval (no workers)."""

import pytest

from apps.settings.models import AuditEvent
from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db

CODE = "export default async function(ctx) {\n  return {sum: ctx.input.a + ctx.input.b};\n}\n"
BASE = "/api/v1/workflows/adder/test-cases"


@pytest.fixture
def client(api, org_a):
    client = api(org_a)
    assert client.post("/api/v1/workflows", {"name": "Adder", "slug": "adder", "code": CODE}).status_code == 201
    return client


def full_case(**changes):
    body = {
        "name": "Adds two numbers",
        "scenario": "A customer sends two numbers and gets their sum.",
        "mode": "mock",
        "input": {"a": 2, "b": 3},
        "headers": {"X-Source": "test"},
        "mocks": [
            {"connector": "acme-crm", "action": "getContact", "status": 200, "response": {"id": 7}},
            {"connector": "acme-crm", "action": "createContact", "response": {"id": 8}, "params": {"email": "a@b.c"}},
        ],
        "expect": {"status": "completed", "output": {"sum": 5}, "assert": "(result) => result.output.sum > 4"},
    }
    body.update(changes)
    return body


def test_create_keeps_every_field_and_lists_it_with_counts(client):
    response = client.post(BASE, full_case())
    assert response.status_code == 201, response.json()
    case = response.json()
    assert case["name"] == "Adds two numbers" and case["workflow"] == "adder"
    assert case["scenario"].startswith("A customer")
    assert case["mode"] == "mock" and case["input"] == {"a": 2, "b": 3}
    assert case["headers"] == {"x-source": "test"}
    assert case["mocks"][0] == {"connector": "acme-crm", "action": "getContact", "status": 200, "response": {"id": 7}}
    assert case["mocks"][1]["status"] == 200 and case["mocks"][1]["params"] == {"email": "a@b.c"}
    assert case["expect"] == {
        "status": "completed",
        "output": {"sum": 5},
        "assert": "(result) => result.output.sum > 4",
    }
    assert case["approved"] is False and case["last_result"] is None and case["feedback"] == ""
    assert case["customer"] is None and case["environment"] == ""
    listed = client.get(BASE).json()
    assert [c["id"] for c in listed["results"]] == [case["id"]]
    assert listed["counts"] == {"total": 1, "live": 0, "approved": 0}
    assert listed["has_more"] is False and listed["next_cursor"] is None
    detail = client.get(f"{BASE}/{case['id']}").json()
    assert detail["id"] == case["id"] and detail["results"] == []


def test_minimal_case_defaults_to_mock_expecting_completion(client):
    case = client.post(BASE, {"name": "Smallest"}).json()
    assert case["mode"] == "mock" and case["mocks"] == [] and case["expect"] == {} and case["input"] is None


def test_list_is_keyset_paginated_newest_first(client):
    ids = [client.post(BASE, {"name": f"case {i}"}).json()["id"] for i in range(3)]
    first = client.get(BASE, {"limit": 2}).json()
    assert [c["id"] for c in first["results"]] == ids[::-1][:2] and first["has_more"]
    second = client.get(BASE, {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [c["id"] for c in second["results"]] == [ids[0]] and not second["has_more"]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"mode": "replay"}, "mode"),
        ({"mode": 1}, "mode"),
        ({"scenario": ["a"]}, "scenario"),
        ({"headers": ["a"]}, "headers"),
        ({"headers": {"x": 1}}, "headers"),
        ({"mocks": {"connector": "a"}}, "mocks"),
        ({"mocks": [{"action": "x", "response": 1}]}, "mocks"),
        ({"mocks": [{"connector": "a", "action": "", "response": 1}]}, "mocks"),
        ({"mocks": [{"connector": "a", "action": "b", "status": 99}]}, "mocks"),
        ({"mocks": [{"connector": "a", "action": "b", "status": "200"}]}, "mocks"),
        ({"mocks": [{"connector": "a", "action": "b", "body": {}}]}, "mocks"),
        ({"mocks": [{"connector": "a", "action": "b", "params": [1]}]}, "mocks"),
        ({"expect": "completed"}, "expect"),
        ({"expect": {"status": "done"}}, "expect"),
        ({"expect": {"outcome": 1}}, "expect"),
        ({"expect": {"assert": 42}}, "expect"),
        ({"expect": {"assert": "(result) => {"}}, "expect.assert"),
        ({"customer": 7}, "customer"),
        ({"customer": "nobody"}, "customer"),
        ({"mode": "live"}, "customer"),
        ({"approved": True}, "approved"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_fields_are_400_naming_the_field(client, changes, field):
    error = assert_error(client.post(BASE, {**full_case(), **changes}), 400)
    assert any(name == field or name.startswith(field) for name in error["details"]["fields"]), error


def test_malformed_and_non_object_bodies_are_400(client):
    assert_error(client.post(BASE, raw=b'{"name": "x",'), 400)
    assert_error(client.post(BASE, raw=b"[1, 2]"), 400)
    assert_error(client.post(BASE, raw=b'"just a string"'), 400)


def test_oversized_input_is_413_or_400_never_500(client, settings):
    big = {"blob": "x" * (1024 * 1024 + 10)}
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
    error = assert_error(client.post(BASE, {"name": "big", "input": big}), 400)
    assert "input" in error["details"]["fields"]


def test_live_cases_need_a_test_customer_and_a_non_production_environment(client):
    client.post("/api/v1/customers", {"external_id": "cust-1", "name": "Test customer"})
    live = client.post(BASE, {"name": "Live", "mode": "live", "customer": "cust-1"})
    assert live.status_code == 201, live.json()
    assert live.json()["customer"] == "cust-1" and live.json()["environment"] == "dev"
    staging = client.post(BASE, {"name": "Live", "mode": "live", "customer": "cust-1", "environment": "staging"})
    assert staging.json()["environment"] == "staging"
    error = assert_error(
        client.post(BASE, {"name": "Live", "mode": "live", "customer": "cust-1", "environment": "production"}), 400
    )
    assert "environment" in error["details"]["fields"]
    error = assert_error(
        client.post(BASE, {"name": "Live", "mode": "live", "customer": "cust-1", "environment": "mars"}), 400
    )
    assert "environment" in error["details"]["fields"]
    assert client.get(BASE).json()["counts"] == {"total": 2, "live": 2, "approved": 0}


def test_patch_changes_fields_and_bad_patches_are_named(client):
    case = client.post(BASE, full_case()).json()
    patched = client.patch(f"{BASE}/{case['id']}", {"name": "Renamed", "input": [1, 2], "expect": {"status": "failed"}})
    assert patched.status_code == 200, patched.json()
    body = patched.json()
    assert body["name"] == "Renamed" and body["input"] == [1, 2] and body["expect"] == {"status": "failed"}
    for bad, field in [({"mode": "x"}, "mode"), ({"mocks": 3}, "mocks"), ({"name": ""}, "name"), ({"x": 1}, "x")]:
        error = assert_error(client.patch(f"{BASE}/{case['id']}", bad), 400)
        assert field in error["details"]["fields"], error


def test_approve_records_who_and_feedback_and_substantive_edits_withdraw_it(client, in_org, org_a):
    case = client.post(BASE, full_case()).json()
    approved = client.post(f"{BASE}/{case['id']}/approve", {"feedback": "Matches the spec"})
    assert approved.status_code == 200, approved.json()
    body = approved.json()
    assert body["approved"] is True and body["feedback"] == "Matches the spec"
    assert body["approved_by"] and body["approved_at"]
    assert client.get(BASE).json()["counts"]["approved"] == 1
    # Feedback and the name are not what was approved: the approval stays.
    kept = client.patch(f"{BASE}/{case['id']}", {"feedback": "Also covers zero", "name": "Sum"}).json()
    assert kept["approved"] is True and kept["feedback"] == "Also covers zero"
    # The expectation is: changing it withdraws the approval.
    withdrawn = client.patch(f"{BASE}/{case['id']}", {"expect": {"output": {"sum": 6}}}).json()
    assert withdrawn["approved"] is False and withdrawn["approved_by"] == ""
    client.post(f"{BASE}/{case['id']}/approve")
    assert client.post(f"{BASE}/{case['id']}/approve", {"approved": False}).json()["approved"] is False
    assert_error(client.post(f"{BASE}/{case['id']}/approve", {"approved": "yes"}), 400)
    assert_error(client.post(f"{BASE}/{case['id']}/approve", {"feedback": 3}), 400)
    in_org(org_a)
    actions = set(AuditEvent.objects.filter(resource_id="adder").values_list("action", flat=True))
    assert {"workflow.test_case.create", "workflow.test_case.approve", "workflow.test_case.update"} <= actions
    assert "workflow.test_case.unapprove" in actions


def test_delete_removes_the_case(client):
    case = client.post(BASE, full_case()).json()
    assert client.delete(f"{BASE}/{case['id']}").status_code == 204
    assert_error(client.get(f"{BASE}/{case['id']}"), 404, "test_case_not_found")


@pytest.mark.parametrize("case_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_ids_are_404(client, case_id):
    assert_error(client.get(f"{BASE}/{case_id}"), 404, "test_case_not_found")
    assert_error(client.patch(f"{BASE}/{case_id}", {"name": "x"}), 404)
    assert_error(client.post(f"{BASE}/{case_id}/run"), 404)
    assert_error(client.post(f"{BASE}/{case_id}/approve"), 404)
    assert_error(client.get(f"/api/v1/workflows/adder/test-runs/{case_id}"), 404)


def test_run_body_is_validated_before_anything_is_queued(client):
    case = client.post(BASE, full_case()).json()
    assert_error(client.post(f"{BASE}/{case['id']}/run", {"version": "1"}), 400)
    assert_error(client.post(f"{BASE}/{case['id']}/run", {"version": 0}), 400)
    assert_error(client.post(f"{BASE}/{case['id']}/run", {"version": 9}), 404, "version_not_found")
    assert_error(client.post(f"{BASE}/run", {"version": 9}), 404, "version_not_found")
    assert_error(client.post(f"{BASE}/run", {"flavour": 1}), 400)


def test_another_organization_and_another_workflow_see_nothing(client, api, org_b):
    case = client.post(BASE, full_case()).json()
    client.post("/api/v1/workflows", {"name": "Other", "slug": "other", "code": CODE})
    assert_error(client.get(f"/api/v1/workflows/other/test-cases/{case['id']}"), 404)
    stranger = api(org_b)
    assert_error(stranger.get(BASE), 404)
    assert_error(stranger.get(f"{BASE}/{case['id']}"), 404)
    stranger.post("/api/v1/workflows", {"name": "Adder", "slug": "adder", "code": CODE})
    assert stranger.get(BASE).json()["results"] == []
    assert_error(stranger.get(f"{BASE}/{case['id']}"), 404)
    assert_error(stranger.post(f"{BASE}/{case['id']}/approve"), 404)


def test_roles_need_edit_to_write_run_to_run_and_deploy_to_approve(client, api, org_a, role_key):
    case = client.post(BASE, full_case()).json()
    viewer = api(org_a, key=role_key(org_a, "viewer"))
    operator = api(org_a, key=role_key(org_a, "operator", kind="live"))
    assert viewer.get(BASE).status_code == 200
    assert_error(viewer.post(BASE, full_case()), 403)
    assert_error(viewer.patch(f"{BASE}/{case['id']}", {"name": "x"}), 403)
    assert_error(viewer.delete(f"{BASE}/{case['id']}"), 403)
    assert_error(viewer.post(f"{BASE}/{case['id']}/run"), 403)
    assert_error(viewer.post(f"{BASE}/{case['id']}/approve"), 403)
    assert_error(operator.post(BASE, full_case()), 403)
    assert operator.post(f"{BASE}/{case['id']}/approve").status_code == 200


def test_require_passing_tests_is_a_workflow_field(client):
    body = client.patch("/api/v1/workflows/adder", {"require_passing_tests": True}).json()
    assert body["require_passing_tests"] is True
    assert_error(client.patch("/api/v1/workflows/adder", {"require_passing_tests": "yes"}), 400)
