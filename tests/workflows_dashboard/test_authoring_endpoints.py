"""The workflow page's authoring endpoints: compile diagnostics (and their
latency), docs, the Markdown reference, the sequence view, the Test Cases
tab's fragments; bad input and other organizations' ids."""

import json
import statistics
import time

import pytest

from apps.workflows.models import Execution

pytestmark = pytest.mark.django_db

BRANCHING = """export default async function (ctx) {
  if (!ctx.input.email) return { skipped: true };
  const key = await fastn.secrets.get('CRM_KEY');
  await fastn.connector['acme-crm'].createContact({ name: ctx.input.name });
  return { ok: true };
}
"""


def url(org, slug, tail):
    return f"/o/{org.slug}/integrations/workflows/{slug}/{tail}"


def post_json(client, path, body, **extra):
    return client.post(
        path, data=json.dumps(body) if not isinstance(body, bytes) else body, content_type="application/json", **extra
    )


@pytest.fixture
def acme(org_a, in_org):
    from apps.connectors.models import Connector

    in_org(org_a)
    Connector.objects.create(
        slug="acme-crm",
        name="Acme CRM",
        auth_type="api_key",
        content_hash="x",
        definition={
            "slug": "acme-crm",
            "actions": {
                "createContact": {
                    "method": "POST",
                    "path": "/contacts",
                    "input_schema": {"type": "object", "properties": {"email": {}, "name": {}}, "required": ["email"]},
                }
            },
        },
    )


def test_compile_reports_the_quickjs_error_with_its_position(owner, org_a, make_workflow):
    wf = make_workflow("Compiler")
    body = post_json(
        owner, url(org_a, wf.slug, "compile"), {"code": "export default async function () {\n  const = 1;\n}"}
    ).json()
    assert body["ok"] is False
    [diagnostic] = body["diagnostics"]
    assert (diagnostic["line"], diagnostic["severity"], diagnostic["source"]) == (2, "error", "QuickJS")
    assert "SyntaxError" in diagnostic["message"]
    assert post_json(owner, url(org_a, wf.slug, "compile"), {"code": wf.code}).json() == {
        "ok": True,
        "diagnostics": [],
        "ms": pytest.approx(0, abs=1000),
    }


def test_compile_warns_about_runtime_calls_the_organization_cannot_satisfy(owner, org_a, make_workflow, acme):
    wf = make_workflow("Warner")
    body = post_json(owner, url(org_a, wf.slug, "compile"), {"code": BRANCHING}).json()
    assert body["ok"] is True  # warnings do not stop a save
    messages = [(d["line"], d["severity"], d["message"]) for d in body["diagnostics"]]
    assert (3, "warning", "No secret named 'CRM_KEY' (Settings → Secrets).") in messages
    assert (4, "warning", "acme-crm.createContact needs email.") in messages
    code = "export default async () => { await fastn.connector['nope'].x(); await fastn.connector['acme-crm'].y(); }"
    messages = [
        d["message"] for d in post_json(owner, url(org_a, wf.slug, "compile"), {"code": code}).json()["diagnostics"]
    ]
    assert messages == [
        "No connector 'nope' is installed in this organization.",
        "acme-crm has no action 'y' (it has: createContact).",
    ]


def test_compile_answers_well_under_100_ms(owner, org_a, make_workflow, acme):
    """The editor lints as the author types. Measured over 40 calls on a
    ~150-line workflow: the view's own time and the whole request's, printed;
    asserted on the CPU the request costs, which machine load does not inflate
    (wall time on a shared, loaded 2-core machine would make this flaky)."""
    wf = make_workflow("Fast")
    lines = [BRANCHING.rstrip().rstrip("}")]
    lines += [f"  const v{i} = ctx.input.values ? ctx.input.values[{i}] : {i};" for i in range(140)]
    code = "\n".join(lines) + "\n  return { ok: true };\n}\n"
    timings, walls, cpu = [], [], []
    for _ in range(40):
        started, started_cpu = time.perf_counter(), time.process_time()
        body = post_json(owner, url(org_a, wf.slug, "compile"), {"code": code}).json()
        walls.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        timings.append(body["ms"])
    p50, p95 = statistics.median(timings), sorted(timings)[int(len(timings) * 0.95) - 1]
    print(
        f"compile endpoint: view p50 {p50:.1f} ms p95 {p95:.1f} ms;"
        f" whole request p50 {statistics.median(walls):.1f} ms, of which CPU here p50 {statistics.median(cpu):.1f} ms"
    )
    assert statistics.median(cpu) < 50


def test_compile_and_docs_refuse_bad_bodies_with_json_errors(owner, org_a, make_workflow):
    wf = make_workflow("Strict")
    for tail in ("compile", "docs"):
        response = post_json(owner, url(org_a, wf.slug, tail), b'{"code": ')
        assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_json"
        response = post_json(owner, url(org_a, wf.slug, tail), [1])
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_body"
        response = post_json(owner, url(org_a, wf.slug, tail), {"code": 5})
        assert response.status_code == 400 and "code" in response.json()["error"]["details"]["fields"]
        response = post_json(owner, url(org_a, wf.slug, tail), {"code": "x" * (1024 * 1024 + 2048)})
        assert response.status_code == 413
    assert owner.get(url(org_a, wf.slug, "compile")).status_code == 405


def test_docs_give_the_graph_and_reference_of_the_editor_code_a_version_or_the_draft(owner, org_a, make_workflow, acme):
    wf = make_workflow("Documented", code=BRANCHING, publish=True)
    body = post_json(owner, url(org_a, wf.slug, "docs"), {"code": BRANCHING}).json()
    kinds = [n["kind"] for n in body["graph"]["nodes"]]
    assert kinds == ["TRIGGER", "DECISION", "DONE", "READ", "WRITE", "DONE"]
    assert body["reference"]["inputs"] == ["email", "name"] and body["reference"]["secrets"] == ["CRM_KEY"]
    assert body["graph"]["nodes"][0]["label"] == "Trigger: API / manual"
    versioned = owner.get(url(org_a, wf.slug, "docs"), {"version": 1}).json()
    assert versioned["reference"]["workflow"]["version"] == 1
    assert owner.get(url(org_a, wf.slug, "docs"), {"version": 7}).status_code == 404
    assert owner.get(url(org_a, wf.slug, "docs"), {"version": "x"}).status_code == 404
    markdown = owner.get(url(org_a, wf.slug, "docs.md"), {"version": 1})
    assert markdown["Content-Type"].startswith("text/markdown")
    assert markdown["Content-Disposition"] == f'attachment; filename="{wf.slug}-v1.md"'
    text = markdown.content.decode()
    assert "`ctx.input.email`" in text and "| `acme-crm` | `createContact` | POST | `name` |" in text


def test_sequence_shows_an_executions_steps_and_hides_other_workflows_runs(owner, org_a, make_workflow, in_org):
    wf = make_workflow("Sequenced", deploy="production")
    other = make_workflow("Other", deploy="production")
    in_org(org_a)
    execution = Execution.objects.create(
        workflow=wf,
        workflow_slug=wf.slug,
        version_number=1,
        environment="production",
        tier="standard",
        triggered_by="manual",
        timeout_ms=1000,
        status="completed",
        duration_ms=40.0,
        steps=[
            {
                "op": "state.get",
                "target": "cursor",
                "detail": "ORG",
                "at_ms": 1.0,
                "duration_ms": 2.0,
                "ok": True,
                "status": None,
                "error": None,
            },
            {
                "op": "connector.call",
                "target": "acme-crm.createContact",
                "detail": "",
                "at_ms": 5.0,
                "duration_ms": 30.0,
                "ok": False,
                "status": 422,
                "error": {"code": "http_error", "message": "Unprocessable"},
            },
        ],
    )
    page = owner.get(url(org_a, wf.slug, f"sequence/{execution.id}")).content.decode()
    assert page.count('data-testid="sequence-step"') == 2
    assert "cursor" in page and "acme-crm.createContact" in page and "422" in page and "Unprocessable" in page
    # The execution's own page (Activity) lists the same steps.
    detail = owner.get(f"/o/{org_a.slug}/activity/executions/{execution.id}/").content.decode()
    assert detail.count('data-testid="sequence-step"') == 2 and "Unprocessable" in detail
    assert owner.get(url(org_a, other.slug, f"sequence/{execution.id}")).status_code == 404
    assert owner.get(url(org_a, wf.slug, "sequence/not-an-id")).status_code == 404


def test_another_organizations_members_get_404(client, org_a, org_b, make_workflow):
    wf = make_workflow("Private")
    client.force_login(org_b.owner)
    assert post_json(client, url(org_a, wf.slug, "compile"), {"code": "x"}).status_code == 404
    assert client.get(url(org_a, wf.slug, "docs")).status_code == 404
    assert client.get(url(org_a, wf.slug, "test-cases/")).status_code == 404


def test_the_test_cases_tab_creates_cases_from_the_form_and_names_bad_fields(owner, org_a, make_workflow):
    wf = make_workflow("Tested")
    tab = owner.get(url(org_a, wf.slug, "test-cases/"), HTTP_HX_REQUEST="true").content.decode()
    assert "Test Cases — 0, 0 Live" in tab
    form = {
        "name": "Happy path",
        "scenario": "",
        "mode": "mock",
        "input": '{"a": 1}',
        "mocks": '[{"connector": "acme-crm", "action": "x", "response": {}}]',
        "expect_status": "completed",
        "expect_output": '{"ok": true}',
        "expect_assert": "",
        "customer": "",
        "environment": "",
    }
    created = owner.post(url(org_a, wf.slug, "test-cases/"), form, HTTP_HX_REQUEST="true")
    assert created.status_code == 200
    assert "Test Cases — 1, 0 Live" in created.content.decode() and "Happy path" in created.content.decode()
    bad = owner.post(url(org_a, wf.slug, "test-cases/"), {**form, "mocks": "[{"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "Not valid JSON" in bad.content.decode()
    bad = owner.post(
        url(org_a, wf.slug, "test-cases/"),
        {**form, "mocks": '[{"connector": "a", "action": "b", "status": 700}]'},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 400 and "between 100 and 599" in bad.content.decode()
    bad = owner.post(url(org_a, wf.slug, "test-cases/"), {**form, "mode": "live"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "test customer" in bad.content.decode()


def test_a_viewer_sees_the_tab_but_cannot_create_run_or_approve(member, org_a, make_workflow, system):
    from apps.workflows.testcases.services import test_case_create

    wf = make_workflow("Watched")
    case = test_case_create(actor=system, workflow=wf, name="Seen")
    viewer = member("viewer")
    tab = viewer.get(url(org_a, wf.slug, "test-cases/"), HTTP_HX_REQUEST="true").content.decode()
    assert "Seen" in tab and "case-run" not in tab and "case-approve" not in tab and "new-case" not in tab
    assert viewer.post(url(org_a, wf.slug, "test-cases/"), {"name": "x"}).status_code == 403
    assert viewer.post(url(org_a, wf.slug, f"test-cases/{case.id}/run")).status_code == 403
    assert viewer.post(url(org_a, wf.slug, f"test-cases/{case.id}/approve")).status_code == 403


def test_executions_tab_polls_only_while_a_run_is_in_flight(owner, org_a, make_workflow, in_org):
    wf = make_workflow("Polled", deploy="production")
    in_org(org_a)
    fields = dict(
        workflow=wf,
        workflow_slug=wf.slug,
        version_number=1,
        environment="production",
        tier="standard",
        triggered_by="manual",
        timeout_ms=1000,
    )
    done = Execution.objects.create(status="completed", **fields)
    fragment = owner.get(url(org_a, wf.slug, "executions"), HTTP_HX_REQUEST="true").content.decode()
    assert "every 2s" not in fragment and f'data-open-sequence="{done.id}"' in fragment
    in_org(org_a)
    Execution.objects.create(status="running", **fields)
    fragment = owner.get(url(org_a, wf.slug, "executions"), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in fragment and "updating live" in fragment
