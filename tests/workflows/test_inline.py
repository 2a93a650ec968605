"""Instant runs inside the web process (apps.workflows.inline): no worker is running in these tests
unless a test asks for one, so an answer with the result proves the run happened here."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.triggers.conftest import Setup, hook_path, post_hook

pytestmark = [pytest.mark.workers]

SUM = "export default async (ctx) => ({sum: ctx.input.items.reduce((a, b) => a + b, 0), doubled: ctx.input.a * 2})"
BODY = {"a": 21, "items": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}


@pytest.fixture
def setup(api):
    return lambda org: Setup(api, org)


def _rows(org, execution_id):
    from apps.workflows.models import Execution, ExecutionAttempt

    connection.set_tenant(org.organization)
    try:
        execution = Execution.objects.get(id=execution_id)
        attempts = list(ExecutionAttempt.objects.filter(execution_id=execution_id).values("number", "status", "worker"))
    finally:
        connection.set_schema_to_public()
    return execution, attempts


def test_an_instant_run_is_answered_from_this_process_and_written_once_finished(
    live_org, deploy, django_assert_max_num_queries
):
    org_a = live_org()
    wf = deploy(org_a, SUM)
    wf.run(BODY)  # warm caches (version snapshot, bytecode)
    with django_assert_max_num_queries(12) as captured:
        response = wf.run(BODY)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "completed" and body["output"] == {"sum": 55, "doubled": 42}
    inserts = [q["sql"] for q in captured.captured_queries if "INSERT INTO" in q["sql"]]
    updates = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert len(inserts) == 1 and '"workflows_execution"' in inserts[0] and '"workflows_executionattempt"' in inserts[0]
    assert updates == []
    execution, attempts = _rows(org_a, body["execution_id"])
    assert execution.status == "completed" and execution.output == {"sum": 55, "doubled": 42}
    assert execution.attempts == 1 and execution.worker.startswith("web:")
    assert execution.started_at and execution.finished_at and execution.input == BODY
    assert attempts == [{"number": 1, "status": "completed", "worker": execution.worker}]


def test_the_execution_detail_of_an_inline_run_matches_a_worker_run(live_org, deploy):
    org_a = live_org()
    wf = deploy(org_a, "export default async (ctx) => { console.log('hi', ctx.execution.attempt); return 1; }")
    body = wf.run({"x": 1}).json()
    detail = wf.execution(body["execution_id"])
    assert detail["status"] == "completed" and detail["output"] == 1 and detail["attempts"] == 1
    assert detail["logs"][0]["message"] == "hi 1" and detail["input"] == {"x": 1}
    assert [a["status"] for a in detail["attempt_history"]] == ["completed"]


def test_a_failing_and_a_timing_out_inline_run_answer_like_a_worker(live_org, deploy):
    org_a = live_org()
    thrown = deploy(org_a, "export default async () => { throw new Error('nope'); }").run({}).json()
    assert thrown["status"] == "failed" and thrown["error"]["message"] == "nope"
    started = time.monotonic()
    looped = deploy(org_a, "export default async () => { while (true) {} }", timeout_ms=1000).run({}).json()
    assert looped["status"] == "timeout" and looped["error"]["code"] == "timeout"
    assert time.monotonic() - started < 2.5


def test_a_webhook_instant_run_writes_its_event_settled_with_the_answer(live_org, setup):
    org_a = live_org()
    from apps.triggers.models import Event

    s = setup(org_a)
    trigger = s.trigger("webhook", workflow=s.workflow(code=SUM, tier="instant"))
    response = post_hook(hook_path(trigger), BODY)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["output"] == {"sum": 55, "doubled": 42} and body["status"] == "completed"
    connection.set_tenant(org_a.organization)
    event = Event.objects.get(id=body["event_id"])
    connection.set_schema_to_public()
    assert event.status == "executed" and str(event.execution_id) == body["execution_id"]
    assert event.execution_status == "completed" and event.response_status == 200 and event.response_body == body
    execution, _ = _rows(org_a, body["execution_id"])
    assert execution.triggered_by == "webhook" and str(execution.event_id) == body["event_id"]


def test_a_webhook_with_an_idempotency_key_keeps_the_queued_path(live_org, setup):
    from apps.workflows.models import Execution

    org_a = live_org()
    s = setup(org_a)
    trigger = s.trigger("webhook", workflow=s.workflow(code=SUM, tier="instant"))
    from django.test import override_settings

    # Whether or not a worker is up to answer in time, the run was queued, never run here.
    with override_settings(FASTN_HOOK_INSTANT_WAIT_SECONDS=0.5):
        response = post_hook(hook_path(trigger), BODY, **{"Idempotency-Key": "k-1"})
    assert response.status_code in (200, 202), response.json()
    connection.set_tenant(org_a.organization)
    worker = Execution.objects.get(id=response.json()["execution_id"]).worker
    connection.set_schema_to_public()
    assert not worker.startswith("web:")


def test_no_free_slot_sends_the_run_to_the_instant_queue(live_org, deploy, settings):
    from apps.workflows.models import Execution

    org_a = live_org()
    settings.FASTN_INSTANT_INLINE_SLOTS = 0
    wf = deploy(org_a, SUM)
    from unittest import mock

    from apps.workflows import api as workflows_api

    with mock.patch.object(workflows_api, "MAX_WAIT_SECONDS", 0.5):
        response = wf.run(BODY)
    assert response.status_code in (200, 202), response.json()
    connection.set_tenant(org_a.organization)
    worker = Execution.objects.get(id=response.json()["execution_id"]).worker
    connection.set_schema_to_public()
    assert not worker.startswith("web:")


def test_a_long_inline_run_is_recorded_as_running_with_a_heartbeat_while_it_runs(live_org, deploy, settings):
    org_a = live_org()
    settings.FASTN_INSTANT_INLINE_RECORD_AFTER_SECONDS = 0.2
    wf = deploy(org_a, "export default async () => { await new Promise(r => setTimeout(r, 1500)); return 'late'; }")
    from apps.workflows.models import Execution

    seen: list = []

    def watch():
        from django.db import connection as own

        own.set_tenant(org_a.organization)
        deadline = time.monotonic() + 1.4
        while time.monotonic() < deadline and not seen:
            seen.extend(Execution.objects.filter(status="running").values("id", "heartbeat_at", "worker"))
            time.sleep(0.05)
        own.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    body = wf.run({}).json()
    watcher.join()
    assert body["status"] == "completed" and body["output"] == "late"
    assert len(seen) == 1 and str(seen[0]["id"]) == body["execution_id"]
    assert seen[0]["heartbeat_at"] is not None and seen[0]["worker"].startswith("web:")
    execution, attempts = _rows(org_a, body["execution_id"])
    assert execution.status == "completed" and execution.attempts == 1 and len(attempts) == 1


def test_a_recorded_inline_run_whose_process_died_is_reaped_like_a_lost_worker(live_org, deploy):
    """The web process died mid-run: its row stays `running` with a stale heartbeat; the reaper fails it."""
    org_a = live_org()
    from apps.workflows import inline, runner
    from apps.workflows.models import Execution

    deploy(org_a, SUM)
    connection.set_tenant(org_a.organization)
    try:
        from apps.workflows.models import Workflow

        workflow = Workflow.objects.get()
        version = workflow.versions.get(number=1)
        execution_id = inline.new_id()
        run = inline.InlineRun(
            organization=org_a.organization,
            execution={
                "id": execution_id,
                "workflow_id": workflow.id,
                "workflow_slug": workflow.slug,
                "version_id": version.id,
                "version_number": 1,
                "environment": "production",
                "tier": "instant",
                "triggered_by": "manual",
                "customer_id": None,
                "customer_external_id": "",
                "event_id": None,
                "max_attempts": 1,
                "timeout_ms": 60000,
                "input": BODY,
                "headers": {},
            },
            event=None,
            started_at=timezone.now(),
            record_at=0,
            worker="web:gone:1",
        )
        assert inline.record_running(run) and not inline.record_running(run)
        runner._beater.remove(execution_id)  # the process is "dead": no more heartbeats
        assert Execution.objects.get(id=execution_id).status == "running"
        counts = runner.executions_reap(now=timezone.now() + timedelta(seconds=60))
        assert counts["lost"] == 1
        lost = Execution.objects.get(id=execution_id)
        assert lost.status == "failed" and lost.error["code"] == "worker_lost"
    finally:
        connection.set_schema_to_public()


def test_a_retried_inline_failure_goes_on_through_the_instant_queue(live_org, deploy, celery_workers):
    org_a = live_org()
    code = (
        "export default async function(ctx) {\n"
        "  if (ctx.execution.attempt < 2) throw new Error('attempt ' + ctx.execution.attempt);\n"
        "  return {attempt: ctx.execution.attempt};\n"
        "}\n"
    )
    policy = {"enabled": True, "max_attempts": 2, "initial_interval_ms": 100}
    wf = deploy(org_a, code, retry_policy=policy)
    body = wf.run({}).json()
    assert body["status"] == "completed" and body["output"] == {"attempt": 2}
    detail = wf.execution(body["execution_id"])
    assert [a["status"] for a in detail["attempt_history"]] == ["failed", "completed"]
    _, attempts = _rows(org_a, body["execution_id"])
    assert attempts[0]["worker"].startswith("web:") and not attempts[1]["worker"].startswith("web:")
