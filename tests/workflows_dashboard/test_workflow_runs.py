"""Run (a deployed version) and Test (the editor's code) from the dashboard.

The worker is replaced here where the outcome does not matter; the tests
with real Celery workers are in test_live_runs.py.
"""

import json

import pytest

from apps.settings.models import AuditEvent, Customer
from apps.workflows.models import Execution

pytestmark = pytest.mark.django_db


def page_url(org, slug, suffix=""):
    return f"/o/{org.slug}/integrations/workflows/{slug}/{suffix}"


@pytest.fixture
def no_wait(monkeypatch):
    """Instant runs do not wait for a worker (none runs in these tests)."""
    from apps.workflows import runner

    monkeypatch.setattr(runner, "execution_wait", lambda **kwargs: None)


@pytest.fixture
def fake_test_run(monkeypatch):
    """Replace the queue round trip of Test; records what it was asked to run."""
    from apps.workflows import api

    calls = []

    def fake(*, workflow, code, input, headers, customer):
        calls.append({"code": code, "input": input, "headers": headers, "customer": customer})
        return {
            "status": "completed",
            "output": {"echo": input},
            "error": None,
            "logs": [{"level": "info", "message": "hello from test", "ts_ms": 3}],
            "logs_truncated": False,
            "duration_ms": 4.2,
        }

    monkeypatch.setattr(api, "draft_run_and_wait", fake)
    return calls


def test_run_dialog_lists_environments_with_what_runs_there(owner, org_a, make_workflow):
    workflow = make_workflow("Runnable", publish=True, deploy="production")
    html = owner.get(page_url(org_a, workflow.slug, "run"), HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div class="run-body" id="run-body">')
    assert 'value="production" selected' in html and "Production — v1" in html and "Staging — not deployed" in html


def test_run_a_standard_workflow_queues_an_execution(owner, org_a, make_workflow, in_org):
    workflow = make_workflow("Queued Flow", publish=True, deploy="production")
    response = owner.post(
        page_url(org_a, workflow.slug, "run"),
        {"environment": "production", "input": '{"order": 42}', "customer": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Queued" in html and "Open execution" in html
    in_org(org_a)
    execution = Execution.objects.get(workflow_slug=workflow.slug)
    assert execution.input == {"order": 42} and execution.triggered_by == "manual"
    assert execution.environment == "production" and execution.version_number == 1 and execution.headers == {}
    assert json.loads(response["HX-Trigger"]) == {"fastn:executions-changed": str(execution.id)}


def test_run_as_a_customer(owner, org_a, make_workflow, in_org):
    workflow = make_workflow("Customer Flow", publish=True, deploy="staging")
    in_org(org_a)
    Customer.objects.create(external_id="cust-7", name="Seven")
    response = owner.post(
        page_url(org_a, workflow.slug, "run"), {"environment": "staging", "input": "", "customer": "cust-7"}
    )
    assert response.status_code == 200
    in_org(org_a)
    execution = Execution.objects.get(workflow_slug=workflow.slug)
    assert execution.customer_external_id == "cust-7" and execution.input == {}


def test_run_instant_shows_the_execution_when_the_wait_runs_out(owner, org_a, make_workflow, no_wait):
    workflow = make_workflow("Instant Flow", tier="instant", publish=True, deploy="production")
    response = owner.post(page_url(org_a, workflow.slug, "run"), {"environment": "production", "input": "{}"})
    html = response.content.decode()
    assert response.status_code == 200 and "Still running after the wait" in html and "Open execution" in html


@pytest.mark.parametrize(
    ("setup", "data", "status", "message"),
    [
        ("deployed", {"environment": "production", "input": "{nope"}, 400, "Not valid JSON (line 1, column 2)"),
        ("deployed", {"environment": "mars", "input": "{}"}, 400, "Select a valid choice."),
        (
            "deployed",
            {"environment": "production", "input": "{}", "customer": "ghost"},
            404,
            "No customer with external_id",
        ),
        ("deployed", {"environment": "staging", "input": "{}"}, 409, "has no version deployed to staging"),
        ("disabled", {"environment": "production", "input": "{}"}, 409, "is disabled"),
        ("schema", {"environment": "production", "input": '{"id": "x"}'}, 400, "input schema at id"),
    ],
)
def test_run_refusals_explain_themselves(owner, org_a, make_workflow, in_org, setup, data, status, message):
    fields = {"publish": True, "deploy": "production"}
    if setup == "disabled":
        fields["enabled"] = False
    if setup == "schema":
        fields["input_schema"] = {"type": "object", "properties": {"id": {"type": "integer"}}}
    workflow = make_workflow("Refusing", **fields)
    response = owner.post(page_url(org_a, workflow.slug, "run"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == status
    html = response.content.decode()
    assert message in html and "<form" in html
    in_org(org_a)
    assert not Execution.objects.filter(workflow_slug=workflow.slug).exists()


def test_viewer_cannot_run(member, org_a, make_workflow, in_org):
    workflow = make_workflow("No Run", publish=True, deploy="production")
    viewer = member("viewer")
    assert viewer.get(page_url(org_a, workflow.slug, "run")).status_code == 403
    assert viewer.post(page_url(org_a, workflow.slug, "run"), {"environment": "production"}).status_code == 403
    in_org(org_a)
    assert not Execution.objects.exists()
    assert AuditEvent.objects.filter(outcome="denied", action="workflows.run").count() == 2


def test_test_runs_the_editor_code_with_input_headers_and_customer(owner, org_a, make_workflow, in_org, fake_test_run):
    workflow = make_workflow("Testable")
    in_org(org_a)
    Customer.objects.create(external_id="cust-t", name="Tester")
    code = "export default async function (ctx) { console.info('hello from test'); return {echo: ctx.input}; }"
    response = owner.post(
        page_url(org_a, workflow.slug, "test"),
        {
            "code": code,
            "input": '{"a": 1}',
            "headers": '{"X-Source": "crm", "Authorization": "Bearer secret"}',
            "customer": "cust-t",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Completed" in html and "&quot;a&quot;: 1" in html and "hello from test" in html and "4.2 ms" in html
    (call,) = fake_test_run
    assert call["code"] == code and call["input"] == {"a": 1}
    assert call["headers"] == {"x-source": "crm"}  # credentials stripped, as in the API
    assert call["customer"].external_id == "cust-t"
    in_org(org_a)
    assert not Execution.objects.exists()  # a test run records nothing


def test_test_without_code_runs_the_saved_draft(owner, org_a, make_workflow, fake_test_run):
    workflow = make_workflow("Saved Draft")
    response = owner.post(page_url(org_a, workflow.slug, "test"), {"input": "", "headers": ""})
    assert response.status_code == 200
    assert fake_test_run[0]["code"] == workflow.code and fake_test_run[0]["input"] == {}


def test_test_with_code_that_does_not_compile_points_at_the_line(owner, org_a, make_workflow, fake_test_run):
    workflow = make_workflow("Test Broken")
    response = owner.post(
        page_url(org_a, workflow.slug, "test"),
        {"code": "export default async function () {\n\n  return );\n}", "input": "{}", "headers": "{}"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "does not compile" in html and 'data-goto-line="3"' in html
    assert json.loads(response["HX-Trigger"])["fastn:compile-error"]["line"] == 3
    assert fake_test_run == []


def test_a_failed_test_run_shows_the_error_line_and_stack(owner, org_a, make_workflow, monkeypatch):
    from apps.workflows import api

    monkeypatch.setattr(
        api,
        "draft_run_and_wait",
        lambda **kwargs: {
            "status": "failed",
            "output": None,
            "error": {
                "name": "TypeError",
                "message": "x is undefined",
                "code": "js_error",
                "line": 4,
                "column": 9,
                "stack": "TypeError: x is undefined\n    at default (workflow.js:4:9)",
            },
            "logs": [],
            "logs_truncated": False,
            "duration_ms": 1.0,
        },
    )
    workflow = make_workflow("Fails")
    response = owner.post(
        page_url(org_a, workflow.slug, "test"), {"code": workflow.code, "input": "{}", "headers": "{}"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Failed" in html and "x is undefined" in html and "Line 4, column 9" in html and "workflow.js:4:9" in html
    assert json.loads(response["HX-Trigger"])["fastn:error-line"] == {"line": 4, "column": 9}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"input": "{", "headers": "{}"}, "ctx.input:</strong> Not valid JSON (line 1, column 2)"),
        ({"input": "{}", "headers": "[1, 2]"}, "ctx.headers:</strong> Must be a JSON object"),
        ({"input": "{}", "headers": '{"x-n": 5}'}, "Header values must be strings"),
    ],
)
def test_test_with_bad_json_says_which_box(owner, org_a, make_workflow, fake_test_run, data, message):
    workflow = make_workflow("Json Check")
    response = owner.post(page_url(org_a, workflow.slug, "test"), data)
    assert response.status_code == 400 and message in response.content.decode()
    assert fake_test_run == []


def test_test_reports_a_missing_worker_or_customer_clearly(owner, org_a, make_workflow, monkeypatch):
    from apps.workflows import api
    from apps.workflows.exceptions import WaitTimeout

    workflow = make_workflow("Lonely")
    response = owner.post(
        page_url(org_a, workflow.slug, "test"), {"input": "{}", "headers": "{}", "customer": "nobody"}
    )
    assert response.status_code == 404 and "No customer with external_id" in response.content.decode()

    def timeout(**kwargs):
        raise WaitTimeout("The test run did not finish in time; is an instant worker running?")

    monkeypatch.setattr(api, "draft_run_and_wait", timeout)
    response = owner.post(page_url(org_a, workflow.slug, "test"), {"input": "{}", "headers": "{}"})
    assert response.status_code == 504 and "is an instant worker running?" in response.content.decode()


def test_operator_may_test_the_saved_draft_but_not_other_code(member, org_a, make_workflow, in_org, fake_test_run):
    workflow = make_workflow("Operated")
    operator = member("operator")  # run, but not edit
    html = operator.get(page_url(org_a, workflow.slug)).content.decode()
    assert 'hx-include="#code"' not in html and "Run test" in html
    response = operator.post(page_url(org_a, workflow.slug, "test"), {"input": "{}", "headers": "{}"})
    assert response.status_code == 200
    response = operator.post(
        page_url(org_a, workflow.slug, "test"), {"code": "export default async () => 'other'", "input": "{}"}
    )
    assert response.status_code == 403 and "does not allow edit" in response.content.decode()
    assert [call["code"] for call in fake_test_run] == [workflow.code]
    in_org(org_a)
    assert AuditEvent.objects.filter(outcome="denied", action="workflows.edit", resource_id=workflow.slug).exists()


def test_viewer_cannot_test(member, org_a, make_workflow, fake_test_run):
    workflow = make_workflow("Viewer Test")
    response = member("viewer").post(page_url(org_a, workflow.slug, "test"), {"input": "{}"})
    assert response.status_code == 403 and fake_test_run == []


def test_executions_tab_lists_this_workflows_runs(owner, org_a, make_workflow, in_org):
    workflow = make_workflow("Tabbed", publish=True, deploy="production")
    other = make_workflow("Other", publish=True, deploy="production")
    for target in (workflow, other):
        owner.post(page_url(org_a, target.slug, "run"), {"environment": "production", "input": "{}"})
    html = owner.get(page_url(org_a, workflow.slug, "executions"), HTTP_HX_REQUEST="true").content.decode()
    in_org(org_a)
    mine = Execution.objects.get(workflow_slug=workflow.slug)
    theirs = Execution.objects.get(workflow_slug=other.slug)
    assert str(mine.id) in html and str(theirs.id) not in html and "Queued" in html
    assert f"?workflow={workflow.slug}" in html
