"""The workflow page's authoring tools in a real browser: the CodeMirror
editor (diagnostics, completion, connector sidebar), the Docs tab's flow
graph, test cases, and the deploy gate's message."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_workflows_pages import set_code, sign_in

pytestmark = pytest.mark.browser

BRANCHING = """export default async function (ctx) {
  if (!ctx.input.email) return { skipped: true };
  const contacts = await fastn.connector['acme-crm'].listContacts({ limit: 10 });
  for (const c of contacts) {
    try {
      await fastn.connector['acme-crm'].createContact({ email: c.email });
    } catch (err) {
      await fastn.state.set('failed', c.email);
    }
  }
  return { synced: contacts.length };
}
"""

DEFINITION = {
    "slug": "acme-crm",
    "name": "Acme CRM",
    "base_url": "http://127.0.0.1:9/v2",
    "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
    "actions": {
        "listContacts": {
            "method": "GET",
            "path": "/contacts",
            "input_schema": {"type": "object", "properties": {"limit": {"type": "integer"}}},
        },
        "createContact": {
            "method": "POST",
            "path": "/contacts",
            "input_schema": {
                "type": "object",
                "properties": {"email": {"type": "string"}, "name": {"type": "string"}},
                "required": ["email"],
            },
        },
    },
}


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"authoring-{name}.png"), full_page=True)


def _org_with_workflow(live_org, api, code=BRANCHING, **fields):
    org = live_org()
    client = api(org)
    assert client.post("/api/v1/connectors", DEFINITION).status_code == 201
    created = client.post("/api/v1/workflows", {"name": "Sync contacts", "slug": "sync", "code": code, **fields})
    assert created.status_code == 201, created.json()
    return org, client


def test_editor_diagnostics_completion_sidebar_and_conflict_diff(page, web_server, live_org, api):
    org, client = _org_with_workflow(live_org, api)
    sign_in(page, web_server, org)
    page.goto(f"{web_server}/o/{org.slug}/integrations/workflows/sync/")
    content = page.locator("[data-testid=code-editor]")
    content.wait_for()
    assert page.locator("[data-testid=file-name]").inner_text() == "sync.js"
    assert "JavaScript · export default async function(ctx)" in page.locator(".editor-bar").inner_text()
    assert page.locator(".cm-editor .cm-line").count() >= 10  # the code is in CodeMirror, highlighted
    assert page.locator(".cm-editor .tok-keyword, .cm-editor [class*=ͼ]").count() > 0

    # Search (Ctrl+F) and bracket matching come with the editor.
    page.evaluate("() => window.fastnEditor.goto(4, 35)")
    assert page.locator(".cm-matchingBracket").count() >= 1
    content.press("Control+f")
    page.locator(".cm-search input[name=search]").wait_for()
    page.keyboard.press("Escape")

    # Typing a syntax error: QuickJS's diagnostic appears inline, with its message.
    set_code(page, "export default async function (ctx) {\n  const total = ;\n  return { total };\n}\n")
    page.locator(".cm-lint-marker-error").wait_for()
    assert "1 error" in page.locator("[data-testid=diag-summary]").inner_text()
    assert page.locator(".cm-lintRange-error").count() == 1
    page.locator(".cm-lint-marker-error").hover()  # the gutter marker explains itself
    tooltip = page.locator(".cm-tooltip:has-text('SyntaxError')")
    tooltip.wait_for()
    assert "unexpected token" in tooltip.inner_text()
    shot(page, "diagnostic")

    # Fixed, but calling an action the connector lacks: a warning naming it.
    set_code(page, "export default async function (ctx) {\n  return await fastn.connector['acme-crm'].nope({});\n}\n")
    page.locator(".cm-lint-marker-warning").wait_for()
    assert "warning" in page.locator("[data-testid=diag-summary]").inner_text()

    # Completion offers the installed connector's actions with their parameters.
    set_code(page, "export default async function (ctx) {\n  \n}\n")
    page.evaluate("() => window.fastnEditor.goto(2, 3)")
    page.keyboard.type("await fastn.connector['acme-crm'].cre", delay=40)
    page.locator(".cm-tooltip-autocomplete li:has-text('createContact')").wait_for()
    assert "listContacts" not in page.locator(".cm-tooltip-autocomplete").inner_text()  # filtered by "cre"
    shot(page, "completion")
    page.keyboard.press("Enter")
    assert "createContact({ email: email })" in page.input_value("#code")

    # ctx completion.
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.type("ctx.in", delay=40)
    page.locator(".cm-tooltip-autocomplete li:has-text('input')").wait_for()
    page.keyboard.press("Escape")

    # The sidebar lists the connector's actions; a click inserts a call.
    sidebar = page.locator("[data-testid=connector-sidebar]")
    assert "listContacts" in sidebar.inner_text() and "createContact" in sidebar.inner_text()
    page.evaluate("() => window.fastnEditor.goto(2, 3)")
    sidebar.locator("button[data-insert-action=listContacts]").click()
    assert "await fastn.connector['acme-crm'].listContacts({ limit: limit })" in page.input_value("#code")

    # Someone else saves meanwhile: Save refuses and shows both versions as a diff.
    client.patch("/api/v1/workflows/sync", {"code": "export default async () => ({ theirs: true });\n"})
    set_code(page, "export default async () => ({ mine: true });\n")
    page.click("#save-btn")
    dialog = page.locator("[data-testid=conflict-dialog]")
    dialog.wait_for()
    assert "saved this workflow after you opened it" in dialog.inner_text()
    dialog.locator(".cm-mergeView").wait_for()
    assert "theirs" in dialog.inner_text() and "mine" in dialog.inner_text()
    shot(page, "conflict")
    dialog.locator("[data-conflict-keep]").click()
    page.locator("#save-result >> text=Saved at").wait_for()
    assert "mine" in client.get("/api/v1/workflows/sync").json()["code"]

    # Unsaved changes are guarded when leaving.
    set_code(page, "export default async () => ({ unsaved: true });\n")
    messages = []
    page.on("dialog", lambda d: (messages.append(d.message), d.dismiss()))
    page.click(".crumbs >> text=Workflows")
    assert messages and "unsaved" in messages[0].lower()
    assert page.url.endswith("/integrations/workflows/sync/")


def test_docs_tab_draws_the_flow_graph_reference_and_sequence(page, web_server, live_org, api, celery_workers):
    from apps.workflows.views import NEW_WORKFLOW_CODE

    org, client = _org_with_workflow(live_org, api)
    client.post(
        "/api/v1/workflows",
        {"name": "Template", "slug": "template", "code": NEW_WORKFLOW_CODE.format(name="Template"), "tier": "instant"},
    )
    sign_in(page, web_server, org)

    # The default template: trigger, one process step, done.
    page.goto(f"{web_server}/o/{org.slug}/integrations/workflows/template/#docs")
    graph = page.locator("[data-testid=flow-graph] svg")
    graph.wait_for()
    kinds = page.locator("[data-testid=flow-graph] .flow-node").evaluate_all("ns => ns.map(n => n.dataset.kind)")
    assert kinds[0] == "TRIGGER" and "PROCESS" in kinds and kinds[-1] == "DONE"
    shot(page, "docs-template")

    # A branching workflow: a decision with yes/skip, a loop, reads, writes, an error path.
    page.goto(f"{web_server}/o/{org.slug}/integrations/workflows/sync/#docs")
    graph.wait_for()
    nodes = page.locator("[data-testid=flow-graph] .flow-node")
    kinds = set(nodes.evaluate_all("ns => ns.map(n => n.dataset.kind)"))
    assert {"TRIGGER", "DECISION", "READ", "WRITE", "PROCESS", "DONE"} <= kinds
    assert page.locator(".flow-edge.edge-loop").count() >= 1
    assert page.locator(".flow-edge.edge-skip").count() == 1
    assert page.locator(".flow-edge.edge-error").count() >= 1
    assert "for each c of contacts" in page.locator("[data-testid=flow-graph]").inner_text()
    shot(page, "docs-branching")
    # Clicking a node moves the editor's cursor to its line.
    page.locator(".flow-node[data-kind=WRITE]").first.click()
    assert page.locator("[data-cursor-pos]").inner_text().startswith("Ln 6")

    # The reference: inputs, connector calls with parameters, outputs; downloadable.
    page.click("[data-docs-view=reference]")
    reference = page.locator("[data-testid=reference]")
    assert "ctx.input.email" in reference.inner_text()
    assert "createContact" in page.locator("[data-testid=ref-connectors]").inner_text()
    assert "synced" in reference.inner_text()
    with page.expect_download() as download:
        page.click("[data-docs-download]")
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.startswith("# Sync contacts") and "| `acme-crm` | `listContacts` | GET | `limit` |" in text
    shot(page, "docs-reference")

    # A run's sequence: each runtime call in order, from the execution's steps.
    code = """export default async function (ctx) {
  await fastn.state.set('seen', ctx.input.n);
  const seen = await fastn.state.get('seen');
  try { await fastn.secrets.get('MISSING'); } catch (e) {}
  return { seen };
}
"""
    client.patch("/api/v1/workflows/template", {"code": code})
    client.post("/api/v1/workflows/template/publish")
    client.post("/api/v1/workflows/template/deploy", {"version": 1})
    run = client.post("/api/v1/workflows/template/run", {"n": 3}).json()
    assert run["status"] == "completed", run
    page.goto(f"{web_server}/o/{org.slug}/integrations/workflows/template/#executions")
    page.locator("[data-testid=open-sequence]").first.click()
    steps = page.locator("#sequence-body [data-testid=sequence-step]")
    steps.first.wait_for()
    assert steps.count() == 3
    texts = steps.all_inner_texts()
    assert "state.set" in texts[0] and "state.get" in texts[1] and "secrets.get" in texts[2]
    assert "secret_not_found" in texts[2] or "No secret" in texts[2]
    assert page.locator(".flow-node.visited").count() >= 2
    shot(page, "sequence")


def test_a_test_case_is_created_run_approved_and_gates_the_deploy(page, web_server, live_org, api, celery_workers):
    org, client = _org_with_workflow(live_org, api, require_passing_tests=True)
    client.post("/api/v1/workflows/sync/publish")
    sign_in(page, web_server, org)
    page.goto(f"{web_server}/o/{org.slug}/integrations/workflows/sync/#cases")
    header = page.locator("[data-testid=test-cases-header]")
    header.wait_for()
    assert header.inner_text() == "Test Cases — 0, 0 Live"

    # Create a MOCK case through the form.
    page.click("[data-testid=new-case]")
    form = page.locator("[data-testid=case-form]")
    form.locator("input[name=name]").fill("Syncs one contact")
    form.locator("textarea[name=scenario]").fill("One contact in the CRM is copied back.")
    form.locator("textarea[name=input]").fill('{"email": "a@b.c"}')
    form.locator("textarea[name=mocks]").fill(
        '[{"connector": "acme-crm", "action": "listContacts", "response": [{"email": "x@y.z"}]},'
        ' {"connector": "acme-crm", "action": "createContact", "status": 201, "response": {"id": 1}}]'
    )
    form.locator("textarea[name=expect_output]").fill('{"synced": 1}')
    page.click("[data-testid=save-case]")
    card = page.locator("[data-testid=case-syncs-one-contact]")
    card.wait_for()
    assert header.inner_text() == "Test Cases — 1, 0 Live"
    assert card.locator("[data-testid=case-mode]").inner_text() == "MOCK"
    assert "Not run yet" in card.inner_text()

    # Run it: it passes, and the card says so.
    card.locator("[data-testid=case-run]").click()
    page.locator("[data-testid=case-syncs-one-contact] [data-testid=case-result]:has-text('Passed')").wait_for()
    # Approve it.
    page.locator("[data-testid=case-syncs-one-contact] [data-testid=case-approve]").click()
    page.locator("[data-testid=case-syncs-one-contact] [data-testid=case-approved]").wait_for()
    shot(page, "test-cases")

    # A second approved case that fails: Run all shows it, and the deploy to production is refused.
    created = client.post(
        "/api/v1/workflows/sync/test-cases",
        {
            "name": "Expects too much",
            "input": {"email": "a@b.c"},
            "expect": {"output": {"synced": 5}},
            "mocks": [{"connector": "acme-crm", "action": "listContacts", "response": []}],
        },
    ).json()
    client.post(f"/api/v1/workflows/sync/test-cases/{created['id']}/approve")
    page.goto(f"{web_server}/o/{org.slug}/integrations/workflows/sync/#cases")
    page.locator("[data-testid=run-all]").click()
    summary = page.locator("[data-testid=suite-summary]")
    summary.wait_for(timeout=60_000)
    assert "1 of 2 passed, 1 failed" in summary.inner_text()
    failing = page.locator("[data-testid=case-expects-too-much]")
    assert "output.synced: expected 5, got 0." in failing.locator("[data-testid=case-failures]").inner_text()
    shot(page, "run-all")

    page.click(".wf-actions >> text=Deploy")
    page.click("#deploy-dialog button[type=submit]")
    error = page.locator("#deploy-error .callout.error")
    error.wait_for(timeout=60_000)
    assert re.search(r"1 of 2 approved test cases failed against v1 \(Expects too much\)", error.inner_text())
    shot(page, "deploy-blocked")
    assert "production" not in client.get("/api/v1/workflows/sync").json()["deployments"]
    # The gate's result is kept: Versions shows it.
    page.reload()
    page.click("#tab-versions")
    assert "blocked 1/2" in page.locator("[data-testid=gate-v1]").inner_text()
