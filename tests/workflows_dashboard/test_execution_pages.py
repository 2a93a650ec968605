"""Activity → Executions: the list (tabs, filters, pagination, polling) and an execution's page."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.workflows.models import ExecutionAttempt

pytestmark = pytest.mark.django_db


def list_url(org):
    return f"/o/{org.slug}/activity/executions/"


@pytest.fixture
def make_execution(org_a, in_org):
    """make_execution(workflow, status="completed", age=timedelta(0), **fields) → Execution,
    as a worker leaves it (tests.factories.ExecutionFactory); the test is then in the org's schema."""
    from tests.factories import ExecutionFactory

    def make(workflow, status="completed", *, age=timedelta(0), org=None, **fields):
        org = org or org_a
        execution = ExecutionFactory(org=org, workflow=workflow, status=status, age=age, **fields)
        in_org(org)
        return execution

    return make


def test_activity_opens_its_first_tab_executions(owner, org_a):
    response = owner.get(f"/o/{org_a.slug}/activity/")
    assert response.status_code == 302 and response["Location"] == list_url(org_a)


def test_list_shows_executions_newest_first_with_their_fields(owner, org_a, make_workflow, make_execution):
    workflow = make_workflow("Listed", publish=True)
    old = make_execution(workflow, "failed", age=timedelta(hours=2), customer_external_id="cust-1")
    new = make_execution(workflow, "completed", triggered_by="webhook")
    html = owner.get(list_url(org_a)).content.decode()
    assert html.index(str(new.id)) < html.index(str(old.id))
    assert "Completed" in html and "Failed" in html and "Webhook" in html and "cust-1" in html and "12.5 ms" in html
    assert "Times in UTC" in html


@pytest.mark.parametrize("status", ["queued", "running", "completed", "failed", "timeout"])
def test_status_tabs_filter(owner, org_a, make_workflow, make_execution, status):
    workflow = make_workflow("Tabs", publish=True)
    rows = {s: make_execution(workflow, s) for s in ("queued", "running", "completed", "failed", "timeout")}
    html = owner.get(list_url(org_a), {"status": status}).content.decode()
    shown = {s for s, e in rows.items() if str(e.id) in html}
    assert shown == {status}


def test_time_range_and_workflow_filters(owner, org_a, make_workflow, make_execution):
    a = make_workflow("Flow A", publish=True)
    b = make_workflow("Flow B", publish=True)
    recent = make_execution(a)
    hour_old = make_execution(a, age=timedelta(minutes=50))
    day_old = make_execution(a, age=timedelta(hours=20))
    week_old = make_execution(a, age=timedelta(days=3))
    other = make_execution(b)

    def shown(**params):
        html = owner.get(list_url(org_a), params).content.decode()
        return {e for e in (recent, hour_old, day_old, week_old, other) if str(e.id) in html}

    assert shown(range="15m") == {recent, other}
    assert shown(range="1h") == {recent, hour_old, other}
    assert shown(range="24h") == {recent, hour_old, day_old, other}
    assert shown(range="7d", workflow=a.slug) == {recent, hour_old, day_old, week_old}
    assert shown(workflow=b.slug) == {other}


def test_custom_range_is_read_in_the_organizations_time_zone(owner, org_a, make_workflow, make_execution, in_org):
    org = in_org(org_a)
    org.timezone = "Asia/Tokyo"  # UTC+9, no daylight saving
    org.save(update_fields=["timezone"])
    workflow = make_workflow("Zoned", publish=True)
    execution = make_execution(workflow)
    local = execution.created_at.astimezone(timezone.get_fixed_timezone(9 * 60))
    before = (local - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    after = (local + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    html = owner.get(list_url(org_a), {"range": "custom", "since": before, "until": after}).content.decode()
    assert str(execution.id) in html and "Times in Asia/Tokyo" in html
    html = owner.get(list_url(org_a), {"range": "custom", "since": after}).content.decode()
    assert str(execution.id) not in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"range": "custom", "since": "last tuesday"}, "Since: use a date and time like"),
        ({"range": "custom", "since": "2026-01-02T00:00", "until": "2026-01-01T00:00"}, "Until must be after Since."),
        ({"range": "fortnight"}, "There is no time range"),
        ({"status": "exploded"}, "There is no status"),
        ({"cursor": "garbage"}, "This cursor is not valid"),
    ],
)
def test_bad_filters_show_a_message_not_an_error(owner, org_a, make_workflow, make_execution, params, message):
    workflow = make_workflow("Filtered", publish=True)
    execution = make_execution(workflow)
    response = owner.get(list_url(org_a), params)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    if "since" not in params:
        assert str(execution.id) in html


def test_load_more_pages_by_keyset_and_keeps_the_filters(owner, org_a, make_workflow, make_execution):
    workflow = make_workflow("Busy", publish=True)
    made = [make_execution(workflow, "failed", age=timedelta(seconds=n)) for n in range(60)]
    make_execution(workflow, "completed")
    first = owner.get(list_url(org_a), {"status": "failed"}).content.decode()
    ids_first = set(re.findall(r"/activity/executions/([0-9a-f-]{36})/", first))
    assert len(ids_first) == 50
    next_url = re.search(r'<button type="button" hx-get="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "status=failed" in next_url and "cursor=" in next_url
    more = owner.get(next_url, HTTP_HX_REQUEST="true").content.decode()
    ids_more = set(re.findall(r"/activity/executions/([0-9a-f-]{36})/", more))
    assert "<table" not in more and len(ids_more) == 10
    assert ids_first | ids_more == {str(e.id) for e in made}


def test_auto_refresh_polls_the_rows_fragment(owner, org_a, make_workflow, make_execution):
    workflow = make_workflow("Polled", publish=True)
    make_execution(workflow)
    page = owner.get(list_url(org_a), {"refresh": "1", "workflow": workflow.slug}).content.decode()
    assert 'id="auto-refresh" name="refresh" value="1" checked' in page
    poll = re.search(r'<tbody id="execution-rows" hx-get="([^"]+)" hx-trigger="every 5s', page).group(1)
    late = make_execution(workflow, "running")
    rows = owner.get(
        poll.replace("&amp;", "&"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="execution-rows"
    ).content.decode()
    assert str(late.id) in rows and "<tbody" not in rows and "Running" in rows


def test_filter_form_answers_htmx_with_the_list_fragment(owner, org_a, make_workflow, make_execution):
    workflow = make_workflow("Fragment", publish=True)
    make_execution(workflow)
    html = owner.get(
        list_url(org_a), {"status": "completed"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="execution-list"
    ).content.decode()
    assert html.lstrip().startswith('<form id="execution-filters"') and "<html" not in html
    # The fragment names its own address (it must not fall back to the browser's current URL).
    assert f'hx-get="{list_url(org_a)}"' in html


def test_execution_page_shows_every_field_attempts_logs_and_error(owner, org_a, make_workflow, make_execution, in_org):
    workflow = make_workflow("Detailed", tier="instant", publish=True)
    execution = make_execution(
        workflow,
        "failed",
        attempts=2,
        max_attempts=2,
        customer_external_id="cust-9",
        headers={"x-source": "crm"},
        error={
            "name": "TypeError",
            "message": "boom",
            "code": "js_error",
            "line": 3,
            "column": 7,
            "stack": "TypeError: boom\n    at default (workflow.js:3:7)",
        },
        logs=[
            {"level": "log", "message": "starting", "ts_ms": 1},
            {"level": "error", "message": "about to fail", "ts_ms": 9},
        ],
        worker="host:123",
    )
    start = execution.started_at
    ExecutionAttempt.objects.create(
        execution=execution,
        number=1,
        status="timeout",
        started_at=start - timedelta(seconds=10),
        finished_at=start - timedelta(seconds=5),
        duration_ms=5000,
        error={"message": "Timed out after 5000 ms", "code": "timeout"},
    )
    ExecutionAttempt.objects.create(
        execution=execution,
        number=2,
        status="failed",
        started_at=start,
        finished_at=start + timedelta(milliseconds=12),
        duration_ms=12.5,
        error={"message": "boom", "line": 3},
    )
    html = owner.get(f"/o/{org_a.slug}/activity/executions/{execution.id}/").content.decode()
    for expected in (
        "Detailed",
        "v1",
        "production",
        "Instant",
        "Failed",
        "2 of 2",
        "Manual",
        "cust-9",
        "TypeError",
        "boom",
        "line 3, column 7",
        "workflow.js:3:7",
        "Timed out after 5000 ms",
        "5 s",
        "starting",
        "about to fail",
        "level-error",
        "x-source",
        "&quot;n&quot;: 1",
        "host:123",
    ):
        assert expected in html, expected
    log_time = (start + timedelta(milliseconds=9)).strftime("%H:%M:%S.%f")[:12]
    assert log_time in html
    assert 'hx-trigger="every 2s"' not in html  # finished: no polling


def test_an_unfinished_execution_polls_its_own_fragment(owner, org_a, make_workflow, make_execution):
    workflow = make_workflow("Running Now", publish=True)
    execution = make_execution(workflow, "running")
    url = f"/o/{org_a.slug}/activity/executions/{execution.id}/"
    assert 'hx-trigger="every 2s"' in owner.get(url).content.decode()
    fragment = owner.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="execution-detail"') and "Not finished yet" in fragment


def test_execution_of_a_deleted_workflow_still_shows(owner, org_a, make_workflow, make_execution, system):
    from apps.workflows import services

    workflow = make_workflow("Gone Soon", publish=True)
    execution = make_execution(workflow)
    services.workflow_delete(actor=system, workflow=workflow)
    html = owner.get(f"/o/{org_a.slug}/activity/executions/{execution.id}/").content.decode()
    assert "(deleted)" in html and "gone-soon" in html


def test_other_organizations_and_unknown_executions_are_404(owner, org_a, org_b, make_workflow, make_execution):
    theirs = make_execution(make_workflow("Beta Flow", org=org_b, publish=True), org=org_b)
    assert owner.get(f"/o/{org_a.slug}/activity/executions/{theirs.id}/").status_code == 404
    assert owner.get(f"/o/{org_a.slug}/activity/executions/not-a-uuid/").status_code == 404
    html = owner.get(list_url(org_a)).content.decode()
    assert str(theirs.id) not in html and "beta-flow" not in html


def test_viewer_can_read_executions(member, org_a, make_workflow, make_execution):
    execution = make_execution(make_workflow("Readable", publish=True))
    viewer = member("viewer")
    assert str(execution.id) in viewer.get(list_url(org_a)).content.decode()
    assert viewer.get(f"/o/{org_a.slug}/activity/executions/{execution.id}/").status_code == 200
