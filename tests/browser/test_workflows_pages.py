"""Workflows in the browser: create, edit, Test, save, publish, deploy, Run,
then find the execution in Activity; and the timeout slider following the tier.

Real Celery workers run the Test and Run requests (committed data)."""

import re

import pytest
from django.db import connection

from tests.browser.conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser]

CODE = """export default async function (ctx) {
  console.log("hello", ctx.input.name);
  console.warn("careful");
  return {greeting: "hi " + ctx.input.name};
}
"""


def sign_in(page, web_server, org):
    page.goto(f"{web_server}/accounts/login/")
    page.fill("input[name=login]", org.owner.email)
    page.fill("input[name=password]", org.owner_password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{web_server}/o/{org.slug}/")


def set_code(page, code: str) -> None:
    """Replace the editor's whole content, as a paste would (CodeMirror keeps the textarea in step)."""
    page.locator("[data-testid=code-editor]").wait_for()
    page.evaluate("(code) => window.fastnEditor.setCode(code)", code)


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # a sticky top bar would otherwise land mid-page
    page.screenshot(path=str(SCREENSHOTS / f"workflows-{name}.png"), full_page=True)


def test_create_edit_test_publish_deploy_run_and_find_the_execution(page, web_server, live_org, celery_workers):
    org = live_org()
    sign_in(page, web_server, org)
    page.click("nav.mainnav >> text=Integrations")
    page.wait_for_url(re.compile(r".*/integrations/$"))
    page.click("nav.subnav >> text=Workflows")
    page.wait_for_url(re.compile(r".*/integrations/workflows/$"))
    assert page.locator(".subnav [aria-current=page]").inner_text() == "Workflows"

    # Create: a dialog with name, slug, description, tier.
    page.click("text=Create workflow")
    page.fill("#create-form input[name=name]", "Greeter")
    page.fill("#create-form textarea[name=description]", "Says hello to whoever calls it.")
    page.click("#create-form .tier-option:has-text('Instant')")
    shot(page, "create-dialog")
    page.click("#create-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/integrations/workflows/greeter/$"))
    page.locator("[data-testid=code-editor]").wait_for()
    assert "export default async function (ctx)" in page.input_value("#code")
    assert page.locator("[data-testid=edited-via]").inner_text() == "Edited manually"

    # Edit (CodeMirror over the form's textarea): a compile error is reported with its line.
    assert page.locator("[data-testid=file-name]").inner_text() == "greeter.js"
    broken = "export default async function (ctx) {\n  const x = ;\n}\n"
    set_code(page, broken)
    assert page.input_value("#code") == broken
    assert page.locator("[data-testid=byte-count]").inner_text() == f"{len(broken.encode())} bytes"
    assert page.locator("[data-dirty-flag]").is_visible()
    page.click("#save-btn")
    page.locator("[data-testid=compile-error]").wait_for()
    assert "line 2" in page.locator("[data-testid=compile-error]").inner_text()
    assert page.locator(".editor.has-error").is_visible()
    shot(page, "compile-error")

    # Tab indents inside the editor.
    set_code(page, "")
    page.locator("[data-testid=code-editor]").press("Tab")
    assert page.input_value("#code") == "  "
    set_code(page, CODE)
    assert page.locator("[data-testid=byte-count]").inner_text() == f"{len(CODE.encode())} bytes"
    assert page.locator("[data-testid=compile-error]").count() == 0

    # Test runs the editor's (unsaved) code on the instant worker.
    page.fill("[data-testid=test-input]", '{"name": "Ada"}')
    page.click("[data-testid=test-run]")
    page.locator("[data-testid=test-outcome]").wait_for()
    assert page.locator("[data-testid=test-status]").inner_text() == "Completed"
    assert '"greeting": "hi Ada"' in page.locator("[data-testid=test-output]").inner_text()
    logs = page.locator("[data-testid=test-outcome] [data-testid=logs]").inner_text()
    assert "hello Ada" in logs and "careful" in logs
    shot(page, "test-result")

    # Save, Publish, Deploy to production.
    page.click("#save-btn")
    page.locator("text=Saved at").wait_for()
    page.locator("[data-dirty-flag]").wait_for(state="hidden")  # the baseline moves once htmx settles
    page.click(".wf-actions >> text=Publish")
    page.fill("#publish-dialog input[name=note]", "First greeting")
    page.click("#publish-dialog button[type=submit]")
    page.locator("text=Published v1.").wait_for()
    assert "v1" in page.locator("[data-testid=version-label]").inner_text()
    page.click(".wf-actions >> text=Deploy")
    assert "production runs no version yet" in page.locator("[data-deploy-summary]").inner_text()
    page.click("#deploy-dialog button[type=submit]")
    page.locator("text=Deployed v1 to production.").wait_for()
    assert "v1" in page.locator("[data-testid=env-production]").inner_text()
    page.click("#tab-versions")
    assert "production" in page.locator("[data-testid=versions]").inner_text()
    page.click("#tab-api")
    assert page.locator("[data-testid=run-endpoint]").inner_text().endswith("/api/v1/workflows/greeter/run")
    assert page.locator("[data-testid=account-id]").inner_text() == org.account_id
    shot(page, "deployed")

    # Run from the list: Instant, so the dialog shows the result.
    page.click(".crumbs >> text=Workflows")
    page.wait_for_url(re.compile(r".*/integrations/workflows/$"))
    page.click("[data-testid=run-greeter]")
    page.locator("#run-dialog textarea[name=input]").fill('{"name": "Grace"}')
    page.click("#run-dialog button[type=submit]")
    result = page.locator("[data-testid=run-result]")
    result.wait_for()
    assert "Completed" in result.inner_text() and "hi Grace" in result.inner_text()
    shot(page, "run-result")

    # Activity → Executions, then the execution's page.
    page.keyboard.press("Escape")
    page.click("nav.mainnav >> text=Activity")
    page.wait_for_url(re.compile(r".*/activity/executions/$"))
    table = page.locator("[data-testid=execution-table]")
    assert "greeter" in table.inner_text() and "Completed" in table.inner_text()
    page.select_option("select[name=workflow]", "greeter")
    page.wait_for_url(re.compile(r".*workflow=greeter.*"))
    page.locator("#execution-filters a:has-text('Completed')").click()
    page.wait_for_url(re.compile(r".*status=completed.*"))
    shot(page, "executions")
    page.locator("[data-testid=execution-table] a.strong", has_text="greeter").first.click()
    page.wait_for_url(re.compile(r".*/activity/executions/[0-9a-f-]{36}/$"))
    assert page.locator("[data-testid=execution-status]").inner_text() == "Completed"
    assert '"greeting": "hi Grace"' in page.locator("[data-testid=execution-output]").inner_text()
    assert "hello Grace" in page.locator("[data-testid=logs]").inner_text()
    shot(page, "execution")


def test_timeout_slider_follows_the_tier(page, web_server, live_org):
    from apps.accounts.principals import Principal
    from apps.workflows import services
    from apps.workflows.models import Workflow

    org = live_org()
    connection.set_tenant(org.organization)
    actor = Principal.system(organization=org.organization, label="test")
    services.workflow_create(actor=actor, name="Sliding", code=CODE, tier="standard", timeout_ms=300_000)
    connection.set_schema_to_public()

    sign_in(page, web_server, org)
    page.goto(f"{web_server}/o/{org.slug}/integrations/workflows/sliding/")
    slider = page.locator("[data-timeout-slider]")
    label = page.locator("[data-timeout-label]")
    assert (slider.get_attribute("min"), slider.get_attribute("max")) == ("5000", "900000")
    assert label.inner_text() == "5 min"
    assert page.locator("[data-timeout-max]").inner_text() == "15 min"

    # Long: 5 min still fits (30 s – 6 h), so it stays.
    page.select_option("select[name=tier]", "long")
    assert (slider.get_attribute("min"), slider.get_attribute("max")) == ("30000", "21600000")
    assert label.inner_text() == "5 min" and page.locator("[data-timeout-max]").inner_text() == "6 h"
    assert "Asynchronous" in page.locator("[data-tier-help]").inner_text()

    # Instant: 5 min does not fit (1 s – 2 min): the tier's default, 1 min.
    page.select_option("select[name=tier]", "instant")
    assert (slider.get_attribute("min"), slider.get_attribute("max")) == ("1000", "120000")
    assert label.inner_text() == "1 min" and page.input_value("[data-timeout-seconds]") == "60"
    assert "Synchronous" in page.locator("[data-tier-help]").inner_text()

    # Dragging to the far right is the maximum; typing seconds is exact.
    box = slider.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2)
    assert label.inner_text() == "2 min"
    page.fill("[data-timeout-seconds]", "45")
    assert label.inner_text() == "45 s"

    # Retry policy: the schedule follows the numbers.
    page.click("label.switch:has([name=retry_enabled])")
    page.fill("input[name=retry_max_attempts]", "4")
    assert "waits 5 s, 10 s, 20 s" in page.locator("[data-retry-schedule]").inner_text()
    shot(page, "slider")

    page.click("#save-btn")
    page.locator("text=Saved at").wait_for()
    connection.set_tenant(org.organization)
    workflow = Workflow.objects.get(slug="sliding")
    connection.set_schema_to_public()
    assert (workflow.tier, workflow.timeout_ms) == ("instant", 45_000)
    assert workflow.retry_policy["enabled"] is True and workflow.retry_policy["max_attempts"] == 4
