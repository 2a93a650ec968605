"""The engine end to end: API → queue → real worker → QuickJS → execution row."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

pytestmark = [pytest.mark.workers]


def test_instant_run_answers_with_the_result(celery_workers, live_org, deploy):
    org = live_org()
    wf = deploy(
        org,
        "export default async function(ctx) {\n  console.log('adding', ctx.input.numbers.length);\n"
        "  return ctx.input.numbers.reduce((a, b) => a + b, 0);\n}\n",
    )
    response = wf.run({"numbers": list(range(1, 11))})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "completed" and body["output"] == 55
    detail = wf.execution(body["execution_id"])
    assert detail["status"] == "completed" and detail["output"] == 55 and detail["attempts"] == 1
    assert detail["logs"][0]["message"] == "adding 10" and detail["logs"][0]["level"] == "log"
    assert detail["started_at"] and detail["finished_at"] and detail["duration_ms"] > 0


def test_standard_and_long_runs_are_queued_then_complete(celery_workers, live_org, deploy):
    org = live_org()
    for tier in ("standard", "long"):
        wf = deploy(
            org, "export default async (ctx) => ({tier: ctx.execution.tier, v: ctx.execution.version})", tier=tier
        )
        response = wf.run({})
        assert response.status_code == 202
        assert response.json()["status"] == "queued"
        detail = wf.wait(response.json()["execution_id"])
        assert detail["status"] == "completed" and detail["output"] == {"tier": tier, "v": 1}


def test_an_infinite_loop_ends_as_timeout_within_the_timeout_plus_one_second(celery_workers, live_org, deploy):
    org = live_org()
    wf = deploy(org, "export default async function(ctx) {\n  while (true) {}\n}\n", timeout_ms=1000)
    started = time.monotonic()
    response = wf.run({})
    elapsed = time.monotonic() - started
    assert response.json()["status"] == "timeout"
    assert response.json()["error"]["code"] == "timeout"
    assert elapsed < 2.0
    detail = wf.execution(response.json()["execution_id"])
    assert detail["status"] == "timeout" and 900 <= detail["duration_ms"] <= 2000


def test_a_memory_bomb_fails_clearly_and_the_worker_goes_on(celery_workers, live_org, deploy):
    org = live_org()
    bomb = deploy(
        org, "export default async function() {\n  const a = [];\n  while (true) a.push('x'.repeat(1e6));\n}\n"
    )
    response = bomb.run({})
    body = response.json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "memory_limit" and "memory" in body["error"]["message"].lower()
    fine = deploy(org, "export default async () => 'still here'")
    for _ in range(3):
        assert fine.run({}).json()["output"] == "still here"


def test_a_thrown_error_keeps_its_message_and_the_authors_line(celery_workers, live_org, deploy):
    org = live_org()
    code = "// line 1\nexport default async function(ctx) {\n  const x = 1;\n  throw new Error('boom at four');\n}\n"
    body = deploy(org, code).run({}).json()
    assert body["status"] == "failed"
    assert body["error"]["message"] == "boom at four"
    assert body["error"]["line"] == 4
    assert "workflow.js:4" in body["error"]["stack"]


def test_secret_values_are_redacted_from_output_logs_errors_and_stored_input(celery_workers, live_org, deploy, api):
    org = live_org()
    secret = "sk_live_verySecretValue42"
    assert api(org).post("/api/v1/secrets", {"name": "STRIPE", "value": secret}).status_code == 201
    wf = deploy(
        org,
        (
            "export default async function(ctx) {\n"
            "  const s = await fastn.secrets.get('STRIPE');\n"
            "  console.log('key is', s);\n"
            "  if (ctx.input.fail) throw new Error('bad key ' + s);\n"
            "  return {key: s, echoed: ctx.input.note};\n"
            "}\n"
        ),
    )
    ok = wf.run({"note": f"the key {secret} came in"}).json()
    assert ok["output"] == {"key": "[REDACTED]", "echoed": "the key [REDACTED] came in"}
    detail = wf.execution(ok["execution_id"])
    assert secret not in str(detail)
    assert detail["logs"][0]["message"] == "key is [REDACTED]"
    failed = wf.run({"fail": True}).json()
    assert failed["error"]["message"] == "bad key [REDACTED]"
    assert secret not in str(wf.execution(failed["execution_id"]))
    missing = deploy(org, "export default async () => fastn.secrets.get('NOPE')").run({}).json()
    assert missing["status"] == "failed" and "NOPE" in missing["error"]["message"]


def test_state_scopes_and_ttl(celery_workers, live_org, deploy, api):
    org = live_org()
    api(org).post("/api/v1/customers", {"external_id": "cust-x", "name": "X"})
    api(org).post("/api/v1/customers", {"external_id": "cust-y", "name": "Y"})
    code = (
        "export default async function(ctx) {\n"
        "  const op = ctx.input.op;\n"
        "  const opts = ctx.input.ttl ? {ttl: ctx.input.ttl} : {};\n"
        "  if (op === 'set') { await fastn.state.set('k', ctx.input.value, opts); }\n"
        "  await fastn.state.set('inv', 'only-now', {scope: 'INVOCATION'});\n"
        "  return {org: await fastn.state.get('k'), inv: await fastn.state.get('inv', {scope: 'INVOCATION'})};\n"
        "}\n"
    )
    wf = deploy(org, code, customer="cust-x")
    other_customer = api(org, customer="cust-y")
    assert wf.run({"op": "set", "value": {"n": 1}}).json()["output"] == {"org": {"n": 1}, "inv": "only-now"}
    assert wf.run({"op": "get"}).json()["output"]["org"] == {"n": 1}
    # ORG state is per workflow and customer.
    y = other_customer.post(f"/api/v1/workflows/{wf.slug}/run", {"op": "get"}).json()
    assert y["output"]["org"] is None
    # TTL: honoured on read.
    assert wf.run({"op": "set", "value": "short", "ttl": 1}).json()["output"]["org"] == "short"
    time.sleep(1.2)
    assert wf.run({"op": "get"}).json()["output"]["org"] is None
    # INVOCATION state does not outlive a run.
    code2 = "export default async () => fastn.state.get('inv', {scope: 'INVOCATION'})"
    other = deploy(org, code2)
    assert other.run({}).json()["output"] is None
    bad = deploy(org, "export default async () => fastn.state.set('k', 1, {scope: 'GLOBAL'})").run({}).json()
    assert bad["status"] == "failed" and "scope" in bad["error"]["message"]


def test_state_cleanup_deletes_expired_entries(live_org, deploy, celery_workers):
    from apps.workflows.maintenance import state_delete_expired
    from apps.workflows.models import StateEntry

    org = live_org()
    wf = deploy(
        org,
        "export default async () => { await fastn.state.set('gone', 1, {ttl: 1}); "
        "await fastn.state.set('kept', 2); return 1; }",
    )
    wf.run({})
    connection.set_tenant(org.organization)
    assert StateEntry.objects.count() == 2
    assert state_delete_expired(now=timezone.now() + timedelta(seconds=5)) == 1
    assert list(StateEntry.objects.values_list("key", flat=True)) == ["kept"]
    connection.set_schema_to_public()


def test_retries_follow_the_policy_with_each_attempt_recorded(celery_workers, live_org, deploy):
    org = live_org()
    code = (
        "export default async function(ctx) {\n"
        "  if (ctx.execution.attempt < 3) throw new Error('attempt ' + ctx.execution.attempt + ' failed');\n"
        "  return {attempt: ctx.execution.attempt};\n"
        "}\n"
    )
    policy = {
        "enabled": True,
        "max_attempts": 3,
        "initial_interval_ms": 100,
        "backoff_coefficient": 2,
        "max_interval_ms": 1000,
    }
    wf = deploy(org, code, tier="standard", retry_policy=policy)
    execution_id = wf.run({}).json()["execution_id"]
    detail = wf.wait(execution_id, timeout=20)
    assert detail["status"] == "completed" and detail["output"] == {"attempt": 3} and detail["attempts"] == 3
    attempts = detail["attempt_history"]
    assert [a["status"] for a in attempts] == ["failed", "failed", "completed"]
    assert attempts[0]["error"]["message"] == "attempt 1 failed"
    from django.utils.dateparse import parse_datetime

    gap1 = (parse_datetime(attempts[1]["started_at"]) - parse_datetime(attempts[0]["finished_at"])).total_seconds()
    gap2 = (parse_datetime(attempts[2]["started_at"]) - parse_datetime(attempts[1]["finished_at"])).total_seconds()
    assert 0.1 <= gap1 < 1.0, gap1
    assert 0.2 <= gap2 < 1.2, gap2


def test_retries_give_up_after_max_attempts_and_compile_errors_are_not_retried(celery_workers, live_org, deploy):
    org = live_org()
    policy = {"enabled": True, "max_attempts": 2, "initial_interval_ms": 100}
    always = deploy(
        org,
        "export default async () => { throw new Error('nope'); }",
        tier="standard",
        retry_policy=policy,
        timeout_ms=5000,
    )
    detail = always.wait(always.run({}).json()["execution_id"], timeout=20)
    assert detail["status"] == "failed" and detail["attempts"] == 2
    slow = deploy(
        org, "export default async () => { while (true) {} }", tier="instant", timeout_ms=1000, retry_policy=policy
    )
    body = slow.run({}).json()
    assert body["status"] == "timeout"
    assert slow.execution(body["execution_id"])["attempts"] == 2


def test_a_worker_killed_mid_run_is_retried_not_left_running(celery_workers, live_org, deploy):
    from apps.workflows.models import Execution
    from apps.workflows.runner import executions_reap

    org = live_org()
    code = (
        "export default async function(ctx) {\n"
        "  if (ctx.execution.attempt === 1) { await new Promise(r => setTimeout(r, 60000)); }\n"
        "  return {attempt: ctx.execution.attempt};\n"
        "}\n"
    )
    policy = {"enabled": True, "max_attempts": 2, "initial_interval_ms": 100}
    wf = deploy(org, code, tier="standard", retry_policy=policy)
    execution_id = wf.run({}).json()["execution_id"]
    running = wf.wait(execution_id, until=("running",), timeout=20)
    assert running["status"] == "running"
    connection.set_tenant(org.organization)
    worker = Execution.objects.get(id=execution_id).worker
    pid = int(worker.rsplit(":", 1)[1])
    os.kill(pid, signal.SIGKILL)
    # The reaper runs every 15 s under beat; here it runs now, as if 60 s had passed.
    time.sleep(0.5)
    counts = executions_reap(now=timezone.now() + timedelta(seconds=60))
    connection.set_schema_to_public()
    assert counts["lost"] == 1
    detail = wf.wait(execution_id, timeout=20)
    assert detail["status"] == "completed" and detail["output"] == {"attempt": 2}
    assert detail["attempt_history"][0]["error"]["code"] == "worker_lost"


def test_a_killed_worker_without_retries_marks_the_execution_failed(celery_workers, live_org, deploy):
    from apps.workflows.models import Execution
    from apps.workflows.runner import executions_reap

    org = live_org()
    wf = deploy(org, "export default async () => { await new Promise(r => setTimeout(r, 60000)); }", tier="standard")
    execution_id = wf.run({}).json()["execution_id"]
    wf.wait(execution_id, until=("running",), timeout=20)
    connection.set_tenant(org.organization)
    os.kill(int(Execution.objects.get(id=execution_id).worker.rsplit(":", 1)[1]), signal.SIGKILL)
    time.sleep(0.5)
    executions_reap(now=timezone.now() + timedelta(seconds=60))
    connection.set_schema_to_public()
    detail = wf.execution(execution_id)
    assert detail["status"] == "failed" and detail["error"]["code"] == "worker_lost"


def test_the_relay_requeues_an_execution_whose_message_was_lost(celery_workers, live_org, deploy):
    from apps.workflows.models import Execution
    from apps.workflows.runner import executions_reap

    org = live_org()
    wf = deploy(org, "export default async () => 'ran'", tier="standard")
    connection.set_tenant(org.organization)
    # An execution recorded while the broker was away: nothing was queued.
    template = Execution.objects.order_by("-created_at").first()
    lost = (
        Execution.objects.create(
            workflow_id=None,
            workflow_slug=wf.slug,
            version_id=None,
            version_number=1,
            environment="production",
            tier="standard",
            triggered_by="manual",
            timeout_ms=5000,
            input={},
        )
        if template is None
        else None
    )
    connection.set_schema_to_public()
    if lost is None:
        execution_id = wf.run({}).json()["execution_id"]
        wf.wait(execution_id)
        connection.set_tenant(org.organization)
        version_id = Execution.objects.get(id=execution_id).version_id
        lost = Execution.objects.create(
            workflow_id=Execution.objects.get(id=execution_id).workflow_id,
            workflow_slug=wf.slug,
            version_id=version_id,
            version_number=1,
            environment="production",
            tier="standard",
            triggered_by="manual",
            timeout_ms=5000,
            input={},
        )
        counts = executions_reap(now=timezone.now() + timedelta(seconds=120))
        connection.set_schema_to_public()
        assert counts["requeued"] == 1
        assert wf.wait(str(lost.id))["output"] == "ran"


def test_test_endpoint_runs_the_draft_and_saves_nothing(celery_workers, live_org, api):
    org = live_org()
    client = api(org)
    client.post("/api/v1/workflows", {"name": "Drafty", "code": "export default async (ctx) => ctx.input.x * 2"})
    response = client.post("/api/v1/workflows/drafty/test", {"input": {"x": 21}, "headers": {"authorization": "x"}})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "completed" and body["output"] == 42 and body["logs"] == []
    assert set(body) >= {"status", "output", "error", "logs", "duration_ms"}
    edited = client.post(
        "/api/v1/workflows/drafty/test",
        {"input": {}, "code": "export default async (ctx) => Object.keys(ctx.headers).length"},
    )
    assert edited.json()["output"] == 0
    error = client.post("/api/v1/workflows/drafty/test", {"code": "export default (("})
    assert error.status_code == 422
    assert client.get("/api/v1/executions").json()["results"] == []
    assert client.get("/api/v1/workflows/drafty").json()["versions"] == []


def test_ctx_carries_customer_execution_and_stripped_headers(celery_workers, live_org, deploy, api):
    org = live_org()
    api(org).post("/api/v1/customers", {"external_id": "acme-7", "name": "Acme Seven", "tier": "gold"})
    wf = deploy(
        org, "export default async (ctx) => ({c: ctx.customer, e: ctx.execution, h: ctx.headers})", customer="acme-7"
    )
    body = wf.run({}, HTTP_X_REQUEST_ID="abc", HTTP_COOKIE="session=1").json()
    out = body["output"]
    assert out["c"]["external_id"] == "acme-7" and out["c"]["tier"] == "gold"
    assert out["e"]["id"] == body["execution_id"] and out["e"]["attempt"] == 1
    assert out["e"]["environment"] == "production" and out["e"]["triggered_by"] == "manual"
    assert out["h"]["x-request-id"] == "abc"
    for stripped in ("cookie", "x-fastn-access-key", "authorization"):
        assert stripped not in out["h"]
    assert wf.execution(body["execution_id"])["customer"] == "acme-7"


def test_idempotency_key_on_an_instant_run_returns_the_same_result(celery_workers, live_org, deploy):
    org = live_org()
    wf = deploy(org, "export default async () => Math.random()")
    first = wf.run({}, HTTP_IDEMPOTENCY_KEY="same").json()
    second = wf.run({}, HTTP_IDEMPOTENCY_KEY="same").json()
    assert first == second


def test_a_task_for_an_organization_that_is_gone_is_dropped(django_db_blocker, django_db_setup):
    """Queued before its organization was deleted: the task runs in public and must not touch tenant tables."""
    from apps.workflows.tasks import run_execution

    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        assert run_execution.run("00000000-0000-0000-0000-000000000000") is None
