"""The dashboard's Run and Test with real Celery workers (committed data)."""

import json
import time

from django.db import connection
from django.test import Client

CODE = """export default async function (ctx) {
  console.log("hello", ctx.input.name);
  console.warn("careful");
  return {greeting: "hi " + ctx.input.name, customer: ctx.customer ? ctx.customer.id : null};
}
"""


def setup_workflow(org, *, tier="instant", code=CODE, deploy=True):
    from apps.accounts.principals import Principal
    from apps.workflows import services

    connection.set_tenant(org.organization)
    try:
        actor = Principal.system(organization=org.organization, label="test")
        workflow = services.workflow_create(actor=actor, name="Live Flow", code=code, tier=tier)
        if deploy:
            services.workflow_publish(actor=actor, workflow=workflow)
            services.workflow_deploy(actor=actor, workflow=workflow, version_number=1, environment_slug="production")
        return workflow
    finally:
        connection.set_schema_to_public()


def signed_in(org) -> Client:
    client = Client()
    client.force_login(org.owner)
    return client


def test_test_tab_runs_unsaved_code_on_a_worker_and_shows_output_and_logs(celery_workers, live_org):
    org = live_org()
    workflow = setup_workflow(org, deploy=False)
    client = signed_in(org)
    unsaved = CODE.replace('"hi "', '"hello "')
    response = client.post(
        f"/o/{org.slug}/integrations/workflows/{workflow.slug}/test",
        {"code": unsaved, "input": '{"name": "Ada"}', "headers": "{}"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200, response.content.decode()
    html = response.content.decode()
    assert "Completed" in html and "hello Ada" in html and "careful" in html and "level-warn" in html


def test_test_tab_shows_a_runtime_error_with_its_line(celery_workers, live_org):
    org = live_org()
    workflow = setup_workflow(org, deploy=False)
    client = signed_in(org)
    failing = "export default async function (ctx) {\n  const x = null;\n  return x.missing;\n}\n"
    response = client.post(
        f"/o/{org.slug}/integrations/workflows/{workflow.slug}/test",
        {"code": failing, "input": "{}", "headers": "{}"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Failed" in html and "TypeError" in html
    assert json.loads(response["HX-Trigger"])["fastn:error-line"]["line"] == 3


def test_run_on_an_instant_workflow_waits_for_the_result(celery_workers, live_org):
    org = live_org()
    workflow = setup_workflow(org)
    client = signed_in(org)
    started = time.monotonic()
    response = client.post(
        f"/o/{org.slug}/integrations/workflows/{workflow.slug}/run",
        {"environment": "production", "input": '{"name": "Grace"}'},
        HTTP_HX_REQUEST="true",
    )
    assert time.monotonic() - started < 30
    html = response.content.decode()
    assert response.status_code == 200 and "Completed" in html and "hi Grace" in html
    execution_id = json.loads(response["HX-Trigger"])["fastn:executions-changed"]
    detail = client.get(f"/o/{org.slug}/activity/executions/{execution_id}/").content.decode()
    assert "hi Grace" in detail and "careful" in detail and "1 of 1" in detail


def test_run_on_a_standard_workflow_is_queued_then_completes(celery_workers, live_org):
    org = live_org()
    workflow = setup_workflow(org, tier="standard")
    client = signed_in(org)
    response = client.post(
        f"/o/{org.slug}/integrations/workflows/{workflow.slug}/run",
        {"environment": "production", "input": '{"name": "Lin"}'},
        HTTP_HX_REQUEST="true",
    )
    assert "Queued on the standard queue" in response.content.decode()
    execution_id = json.loads(response["HX-Trigger"])["fastn:executions-changed"]
    url = f"/o/{org.slug}/activity/executions/{execution_id}/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
        if 'data-testid="execution-status">Completed' in html:
            break
        time.sleep(0.2)
    assert "hi Lin" in html and 'hx-trigger="every 2s"' not in html


SLOW = """export default async function (ctx) {
  await new Promise((resolve) => setTimeout(resolve, 3000));
  return {slept: true};
}
"""


def test_test_and_run_wait_for_a_workflow_slower_than_the_redis_socket_timeout(celery_workers, live_org):
    # The shared Redis client times out reads after 2 s; waiting for a result
    # must not turn a 3-second run into "queue unavailable" or "still running".
    org = live_org()
    workflow = setup_workflow(org, code=SLOW)
    client = signed_in(org)
    response = client.post(
        f"/o/{org.slug}/integrations/workflows/{workflow.slug}/test",
        {"input": "{}", "headers": "{}"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200, response.content.decode()
    assert "Completed" in response.content.decode() and "slept" in response.content.decode()
    response = client.post(
        f"/o/{org.slug}/integrations/workflows/{workflow.slug}/run",
        {"environment": "production", "input": "{}"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "Completed" in html and "slept" in html and "Still running" not in html
