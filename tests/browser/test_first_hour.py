"""The first hour in the dashboard, in a browser: the Run dialog follows a
Standard run to its end and closes; the Test panel's input survives a Deploy;
checkboxes sit beside their labels; signature fields appear only with signing.

Real Celery workers run the Standard run (committed data)."""

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_workflows_pages import sign_in

pytestmark = [pytest.mark.browser]

CODE = "export default async function (ctx) { return {hello: ctx.input.name}; }\n"


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"first-hour-{name}.png"), full_page=True)


def _deployed_standard_workflow(org, slug):
    from django.db import connection

    from apps.accounts.principals import Principal
    from apps.workflows import services

    connection.set_tenant(org.organization)
    try:
        system = Principal.system(organization=org.organization)
        workflow = services.workflow_create(actor=system, name=slug, slug=slug, code=CODE, tier="standard")
        services.workflow_publish(actor=system, workflow=workflow)
        services.workflow_deploy(actor=system, workflow=workflow, version_number=1, environment_slug="production")
    finally:
        connection.set_schema_to_public()


def beside(page, box_selector, text):
    """The checkbox's right edge is a few pixels from its label's text, on the same line."""
    box = page.locator(box_selector).bounding_box()
    label = page.locator(box_selector).locator("xpath=..").bounding_box()
    assert box and label, box_selector
    assert abs((box["y"] + box["height"] / 2) - (label["y"] + label["height"] / 2)) < 12, (text, box, label)
    assert box["x"] - label["x"] < 12, (text, box, label)  # the box starts the label
    assert label["width"] < 700, (text, label)  # the label is not stretched across the page


def test_the_run_dialog_follows_a_standard_run_to_its_end_and_closes(page, web_server, live_org, celery_workers):
    org = live_org()
    _deployed_standard_workflow(org, "queued-greeter")
    sign_in(page, web_server, org)
    page.goto(f"{web_server}/o/{org.slug}/integrations/workflows/")
    page.click("[data-testid=run-queued-greeter]")
    page.locator("#run-dialog textarea[name=input]").fill('{"name": "Ada"}')
    page.click("#run-dialog button[type=submit]")
    result = page.locator("[data-testid=run-result][data-status=completed]")
    result.wait_for(timeout=60_000)
    assert '"hello": "Ada"' in result.inner_text()
    assert page.locator("[data-testid=run-following]").count() == 0  # polling stopped with the run
    shot(page, "run-followed")
    page.click("[data-testid=run-close]")
    page.locator("#run-dialog").wait_for(state="hidden")


def test_the_test_panels_input_survives_a_deploy(page, web_server, live_org):
    org = live_org()
    from django.db import connection

    from apps.accounts.principals import Principal
    from apps.workflows import services

    connection.set_tenant(org.organization)
    try:
        system = Principal.system(organization=org.organization)
        workflow = services.workflow_create(actor=system, name="kept", slug="kept", code=CODE, tier="instant")
        services.workflow_publish(actor=system, workflow=workflow)
    finally:
        connection.set_schema_to_public()
    sign_in(page, web_server, org)
    page.goto(f"{web_server}/o/{org.slug}/integrations/workflows/kept/")
    page.fill("[data-testid=test-input]", '{"name": "kept across the reload"}')
    page.click(".wf-actions >> text=Deploy")
    page.click("#deploy-dialog button[type=submit]")
    page.locator("text=Deployed v1 to production.").wait_for()
    assert page.input_value("[data-testid=test-input]") == '{"name": "kept across the reload"}'


def test_checkboxes_sit_beside_their_labels_and_signing_fields_follow_the_toggle(page, web_server, live_org):
    org = live_org()
    page.goto(f"{web_server}/accounts/login/")
    beside(page, "#id_remember", "Remember Me")
    shot(page, "login")
    _deployed_standard_workflow(org, "hooked")
    sign_in(page, web_server, org)
    page.goto(f"{web_server}/o/{org.slug}/integrations/triggers/?type=webhook")
    page.click("[data-testid=new-trigger]")
    beside(page, "input[name=enabled]", "Enabled")
    beside(page, "input[name=signing]", "Verify an HMAC-SHA256 signature")
    signing_fields = page.locator(".signing-fields").first
    assert signing_fields.is_hidden()
    page.check("input[name=signing]")
    assert signing_fields.is_visible()
    shot(page, "trigger-signing-on")
    page.uncheck("input[name=signing]")
    assert signing_fields.is_hidden()

    # List filters sit in one row.
    page.goto(f"{web_server}/o/{org.slug}/integrations/connections/")
    boxes = [
        page.locator(f".filters {sel}").bounding_box()
        for sel in ("input[name=q]", "select[name=connector]", "select[name=status]")
    ]
    assert max(b["y"] for b in boxes) - min(b["y"] for b in boxes) < 8, boxes
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"], boxes
