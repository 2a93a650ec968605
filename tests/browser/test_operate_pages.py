"""Home's command center, Activity → Traces and Activity → Alerts in Chromium."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from tests.browser.test_settings_pages import sign_in

pytestmark = [pytest.mark.browser]


def _traces(org, count: int = 6) -> None:
    """Committed traces of two connectors, and their rollups, as calls would leave them."""
    from django.utils import timezone

    from apps.connectors.models import CallTrace
    from apps.connectors.rollups import call_rollup
    from apps.core.tenancy import organization_context

    with organization_context(org.organization):
        now = timezone.now()
        rows = []
        for i in range(count):
            ok = i % 3 != 0
            rows.append(
                CallTrace(
                    id=uuid.uuid4(), connector_slug="hubspot" if i % 2 else "slack", action="listContacts",
                    method="GET", url=f"https://api.example.test/contacts?page={i}", status=200 if ok else 503,
                    ok=ok, duration_ms=40 + 100 * i, attempts=1, workflow_slug="sync-crm",
                    error="" if ok else "listContacts failed with HTTP 503",
                    error_code="" if ok else "http_error",
                    detail={"request": {"headers": {"authorization": "[REDACTED]"}, "body": None},
                            "response": {"headers": {"content-type": "application/json"},
                                         "body": {"text": '{"ok": true}', "truncated": False}}},
                )
            )  # fmt: skip
        CallTrace.objects.bulk_create(rows)
        CallTrace.objects.filter(pk__in=[r.pk for r in rows]).update(created_at=now - timedelta(seconds=30))
        call_rollup(since=now - timedelta(minutes=3), until=now)


def test_traces_page_filters_by_tab_connector_and_status_and_opens_a_call(page, web_server, live_org):
    org = live_org()
    _traces(org)
    sign_in(page, web_server, org)
    page.click("nav.mainnav >> text=Activity")
    page.click("nav.subnav >> text=Traces")
    page.wait_for_url(re.compile(r".*/activity/traces/$"))
    assert page.locator("[data-testid=trace-table] tbody tr").count() == 6
    assert page.locator("[data-testid=perf-hubspot]").count() == 1

    page.click("[data-testid=trace-filters] nav.tabs >> text=Error")
    page.wait_for_url(re.compile(r".*tab=error.*"))
    assert page.locator("[data-testid=trace-table] tbody tr").count() == 2

    page.select_option("[data-testid=trace-filters] select[name=connector]", "slack")
    page.fill("[data-testid=trace-filters] input[name=status]", "5xx")
    page.click("[data-testid=trace-filters] button[type=submit]")
    page.wait_for_url(re.compile(r".*connector=slack.*"))
    rows = page.locator("[data-testid=trace-table] tbody tr")
    assert rows.count() == 1 and "503" in rows.first.inner_text()

    page.click("[data-testid=trace-filters] nav.tabs >> text=All")
    page.wait_for_url(re.compile(r".*/activity/traces/\?(?!.*tab=error).*"))
    page.select_option("[data-testid=trace-filters] select[name=connector]", "")
    page.fill("[data-testid=trace-filters] input[name=status]", "")
    page.fill("[data-testid=trace-filters] input[name=min_ms]", "200")
    page.click("[data-testid=trace-filters] button[type=submit]")
    page.wait_for_url(re.compile(r".*min_ms=200.*"))
    assert page.locator("[data-testid=trace-table] tbody tr").count() == 4  # 240, 340, 440, 540 ms

    page.locator("[data-testid=trace-table] tbody tr a.strong").first.click()
    page.locator("[data-testid=trace-request]").wait_for()
    assert "[REDACTED]" in page.locator("[data-testid=trace-request]").inner_text()
    assert '"ok": true' in page.locator("[data-testid=trace-response]").inner_text()


def test_an_alert_rule_is_created_and_its_firing_state_shown(page, web_server, live_org):
    from django.utils import timezone

    from apps.activity.minute import minute_one
    from apps.core.tenancy import organization_context
    from tests.factories import ExecutionFactory, WorkflowFactory

    org = live_org()
    workflow = WorkflowFactory(org=org, publish=True, name="Nightly export")
    sign_in(page, web_server, org)
    page.goto(f"{web_server}/o/{org.slug}/activity/alerts/")
    form = page.locator("[data-testid=alert-form]")
    form.locator("input[name=name]").fill("Export keeps failing")
    form.locator("select[name=metric]").select_option("failure_count")
    form.locator("select[name=operator]").select_option(">=")
    form.locator("input[name=threshold]").fill("2")
    form.locator("input[name=window_minutes]").fill("10")
    form.locator("select[name=scope_workflow]").select_option(workflow.slug)
    form.locator("input[name=email_to]").fill("ops@example.com")
    form.locator("button[type=submit]").click()
    page.locator("[data-testid=alert-created]").wait_for()
    assert page.locator("[data-testid=signing-secret]").inner_text().startswith("whsec_")
    assert page.locator("[data-testid=alert-state]").first.inner_text() == "OK"

    for _ in range(3):
        ExecutionFactory(org=org, workflow=workflow, status="failed", duration_ms=120.0)
    with organization_context(org.organization):
        minute_one(now=timezone.now())
    page.reload()
    row = page.locator("[data-testid=alert-row]").first
    assert row.get_attribute("data-state") == "firing"
    assert row.locator("[data-testid=alert-state]").inner_text() == "Firing"
    assert row.locator("svg.sparkline polyline").count() == 1
    page.screenshot(path="/tmp/fastn-screenshots/alerts-firing-list.png", full_page=True)

    row.locator("a.strong").click()
    page.locator("[data-testid=alert-events]").wait_for()
    events = page.locator("[data-testid=alert-events] tbody tr")
    assert "Fired" in events.first.inner_text() and "3" in events.first.inner_text()
    page.click("[data-testid=test-send]")
    page.locator("[data-testid=test-result]").wait_for()
    assert "email: sent" in page.locator("[data-testid=test-result]").inner_text()


def test_home_cards_link_to_their_pages(page, web_server, live_org):
    from apps.core.tenancy import organization_context
    from apps.triggers.services.triggers import trigger_create
    from tests.factories import ConnectorFactory, WorkflowFactory

    org = live_org()
    ConnectorFactory(org=org, slug="crm-home")
    workflow = WorkflowFactory(org=org, deploy="production", name="Morning sync")
    from apps.accounts.principals import Principal

    with organization_context(org.organization):
        system = Principal.system(organization=org.organization, label="test")
        trigger_create(actor=system, workflow=workflow.slug, type="scheduler", config={"interval_seconds": 600},
                       name="Every ten minutes")  # fmt: skip
    _traces(org, count=2)
    sign_in(page, web_server, org)
    home = page.url
    page.locator("[data-testid=command-center] .chip").first.click()
    assert "HubSpot" in page.locator("#home-prompt").input_value()
    assert page.locator("[data-testid=card-scheduled] li", has_text="Every ten minutes").count() == 1
    page.screenshot(path="/tmp/fastn-screenshots/home-command-center.png", full_page=True)

    targets = {
        "card-connectors": r"/integrations/connectors/$",
        "card-scheduled": r"/triggers/$",
        "card-activity": r"/activity/events/$",
        "card-alerts": r"/activity/alerts/$",
        "card-credits": r"/settings/billing/$",
        "card-organization": r"/settings/customers/$",
    }
    for card, pattern in targets.items():
        page.goto(home)
        page.locator(f"[data-testid={card}] h2 a").click()
        page.wait_for_url(re.compile(r".*" + pattern))
        assert page.locator("main h1").count() >= 1
    page.goto(home)
    page.locator("[data-testid=card-connectors] li a", has_text="Crm Home").click()
    page.wait_for_url(re.compile(r".*/integrations/connectors/crm-home/$"))
    page.goto(home)
    page.fill("#home-prompt", "Sync contacts")
    page.click("[data-testid=prompt-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/(workflows/builder/|workflows/)\?prompt=Sync\+contacts$"))
    page.goto(home)
    page.click("[data-testid=enable-data-sync]")
    page.wait_for_url(re.compile(r".*/widgets/.*"))
