"""Triggers and events in the browser: create a schedule and a webhook, see the
next runs and the URL, fire the hook, and find the event in Activity → Events."""

import json
import re
import urllib.request
from urllib.parse import urlparse

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_workflows_pages import sign_in

pytestmark = [pytest.mark.browser]


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"triggers-{name}.png"), full_page=True)


def _deployed_workflow(api, org, slug="hooked"):
    client = api(org)
    code = "export default async (ctx) => ({got: ctx.input})"
    assert client.post("/api/v1/workflows", {"name": slug, "slug": slug, "code": code}).status_code == 201
    assert client.post(f"/api/v1/workflows/{slug}/publish").status_code == 201
    assert client.post(f"/api/v1/workflows/{slug}/deploy", {"version": 1}).status_code == 200
    return slug


def test_create_a_schedule_and_a_webhook_then_find_the_event(page, web_server, live_org, api):
    org = live_org()
    _deployed_workflow(api, org)
    sign_in(page, web_server, org)
    page.goto(f"{web_server}/o/{org.slug}/integrations/")
    page.click("nav.subnav >> text=Triggers")
    page.wait_for_url(re.compile(r".*/integrations/triggers/$"))
    assert page.locator(".subnav [aria-current=page]").inner_text() == "Triggers"

    # A schedule: cron in Berlin; the page shows the next five runs.
    page.click("nav.tabs >> text=Scheduler")
    page.click("[data-testid=new-trigger]")
    page.fill("#trigger-form input[name=name]", "Nightly sync")
    page.fill("#trigger-form input[name=cron]", "30 2 * * *")
    page.fill("#trigger-form input[name=timezone]", "Europe/Berlin")
    shot(page, "create-schedule")
    page.click("#trigger-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/integrations/triggers/[0-9a-f-]{36}/$"))
    runs = page.locator("[data-testid=next-runs] div")
    assert runs.count() == 5 and ":30" in runs.first.inner_text()
    shot(page, "schedule-detail")

    # A webhook: its URL is shown, and a POST to it becomes an event.
    page.goto(f"{web_server}/o/{org.slug}/integrations/triggers/?type=webhook")
    page.click("[data-testid=new-trigger]")
    page.fill("#trigger-form input[name=name]", "Orders")
    page.click("#trigger-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/integrations/triggers/[0-9a-f-]{36}/$"))
    url = page.locator("[data-testid=trigger-url]").inner_text()
    assert "/hooks/" in url
    request = urllib.request.Request(
        web_server + urlparse(url).path,
        data=json.dumps({"order": 77}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the test's own server
        assert answer.status == 202
        event_id = json.loads(answer.read())["event_id"]

    page.goto(f"{web_server}/o/{org.slug}/activity/events/")
    assert page.locator(".subnav [aria-current=page]").inner_text() == "Events"
    page.click("label.switch:has-text('Auto-refresh')")
    page.wait_for_url(re.compile(r".*refresh=1.*"))
    page.click("nav.tabs >> text=Webhook")
    page.wait_for_url(re.compile(r".*type=webhook.*"))
    assert page.locator("[data-testid=event-table] tbody tr").count() == 1
    shot(page, "events")
    page.click("[data-testid=event-table] tbody tr a.row-link")
    page.wait_for_url(re.compile(rf".*/activity/events/{event_id}/$"))
    assert '"order": 77' in page.locator("[data-testid=event-payload]").inner_text()
    assert page.locator("[data-testid=event-executions] tbody tr").count() == 1
    shot(page, "event-detail")
