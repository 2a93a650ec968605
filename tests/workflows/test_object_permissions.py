"""A custom role narrowed to chosen workflows sees and acts on those only."""

import pytest

from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db

CODE = "export default async (ctx) => 1"


def test_a_role_narrowed_to_one_workflow(api, org_a, role_key):
    owner = api(org_a)
    for name in ("Mine", "Theirs"):
        owner.post("/api/v1/workflows", {"name": name, "code": CODE})
        owner.post(f"/api/v1/workflows/{name.lower()}/publish")
        owner.post(f"/api/v1/workflows/{name.lower()}/deploy", {"version": 1})
    theirs_run = owner.post("/api/v1/workflows/theirs/run", {}).json()["execution_id"]
    created = owner.post(
        "/api/v1/roles",
        {
            "slug": "one-workflow",
            "name": "One workflow",
            "permissions": ["workflows.view", "workflows.run"],
            "scopes": {"workflows": ["mine"]},
        },
    )
    assert created.status_code == 201, created.content
    narrow = api(org_a, key=role_key(org_a, "one-workflow", "live"))
    assert [w["slug"] for w in narrow.get("/api/v1/workflows").json()["results"]] == ["mine"]
    assert narrow.get("/api/v1/workflows/mine").status_code == 200
    assert_error(narrow.get("/api/v1/workflows/theirs"), 404, "workflow_not_found")
    assert_error(narrow.post("/api/v1/workflows/theirs/run", {}), 404)
    mine_run = narrow.post("/api/v1/workflows/mine/run", {})
    assert mine_run.status_code == 202
    listed = {e["workflow"] for e in narrow.get("/api/v1/executions").json()["results"]}
    assert listed == {"mine"}
    assert_error(narrow.get(f"/api/v1/executions/{theirs_run}"), 404)
    assert narrow.get(f"/api/v1/executions/{mine_run.json()['execution_id']}").status_code == 200
    # The matrix still applies inside the scope: no publish permission.
    assert_error(narrow.post("/api/v1/workflows/mine/publish"), 403)
