"""Nothing accepted is lost: Redis down at intake, a worker killed mid-run — on real workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from tests.triggers.conftest import broker_at, hook_path, post_hook

pytestmark = [pytest.mark.workers]
ROOT = Path(__file__).resolve().parent.parent.parent


def _in(org):
    from apps.core.tenancy import organization_context

    return organization_context(org.organization)


def _wait(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _events(org, trigger_id):
    from apps.triggers.models import Event

    with _in(org):
        return list(Event.objects.filter(trigger_id=trigger_id).order_by("received_at"))


def _execution(org, execution_id):
    from apps.workflows.models import Execution

    with _in(org):
        return Execution.objects.get(id=execution_id)


def _relay(org, seconds_later: int = 60):
    from apps.triggers.services.events import events_relay

    with _in(org):
        return events_relay(now=timezone.now() + timedelta(seconds=seconds_later))


@pytest.fixture
def own_redis_worker(own_redis, django_db_setup, django_db_blocker):
    """A Celery worker (instant + standard queues) whose broker is the test's own Redis."""
    from django.conf import settings

    from tests.conftest import _test_database_url

    with django_db_blocker.unblock():
        database_url = _test_database_url()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fastn.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": own_redis.url,
        "CELERY_BROKER_URL": own_redis.url,
        "CELERY_RESULT_BACKEND": own_redis.url,
        "FASTN_REDIS_PREFIX": settings.REDIS_KEY_PREFIX,
        "FASTN_REDIS_PREFIX_FOR": os.environ.get("PYTEST_XDIST_WORKER", "main"),
        "PYTHONUNBUFFERED": "1",
    }
    log_dir = Path(os.environ.get("FASTN_TEST_LOG_DIR", "/tmp/fastn-test-logs"))
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"celery-own-redis-{uuid.uuid4().hex[:6]}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "fastn", "worker", "-Q", "instant,standard", "-n",
             f"own-{uuid.uuid4().hex[:6]}@%h", "-c", "2", "--pool", "prefork", "--without-gossip", "--without-mingle",
             "--loglevel", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait(lambda: b"ready" in log_path.read_bytes(), 30, "the worker on the own Redis")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_redis_stopped_during_intake_still_accepts_and_the_workflow_runs_once_redis_is_back(
    live_org, setup, own_redis, own_redis_worker
):
    from apps.triggers.services import events as intake

    org = live_org()
    trigger = setup(org).trigger("webhook")
    with broker_at(own_redis.url):
        # Redis works: a first event runs on the worker of that Redis.
        warm = post_hook(hook_path(trigger), {"n": 0}).json()
        _wait(lambda: _execution(org, warm["execution_id"]).status == "completed", 30, "the first run")

        own_redis.stop()
        timings, answers = [], []
        for n in range(1, 4):
            started = time.monotonic()
            answers.append(post_hook(hook_path(trigger), {"n": n}))
            timings.append(time.monotonic() - started)
        assert [a.status_code for a in answers] == [202, 202, 202], [a.json() for a in answers]
        # The first request finds the broker down (one failed connection); the breaker spares the others.
        assert timings[0] < 2.0 and max(timings[1:]) < 0.5, timings
        down = [e for e in _events(org, trigger["id"]) if e.payload["n"] > 0]
        assert [e.status for e in down] == ["queued"] * 3  # stored, execution recorded, message not sent
        assert {_execution(org, a.json()["execution_id"]).status for a in answers} == {"queued"}

        own_redis.start()
        intake.broker_reset()
        assert _relay(org)["requeued"] == 3
        for answer in answers:
            _wait(
                lambda a=answer: _execution(org, a.json()["execution_id"]).status == "completed",
                45,
                "the runs after Redis came back",
            )
        outputs = sorted(_execution(org, a.json()["execution_id"]).output["input"]["n"] for a in answers)
        assert outputs == [1, 2, 3]
        _relay(org)
        assert {e.status for e in _events(org, trigger["id"])} == {"executed"}


def test_a_worker_killed_mid_run_is_executed_again_never_lost(live_org, setup, celery_workers):
    from apps.workflows.runner import executions_reap

    org = live_org()
    s = setup(org)
    code = (
        "export default async function(ctx) {\n"
        "  if (ctx.execution.attempt === 1) { await new Promise(r => setTimeout(r, 60000)); }\n"
        "  return {attempt: ctx.execution.attempt};\n"
        "}\n"
    )
    workflow = s.workflow(code=code, retry_policy={"enabled": True, "max_attempts": 2, "initial_interval_ms": 100})
    trigger = s.trigger("webhook", workflow=workflow)
    accepted = post_hook(hook_path(trigger), {"order": 9}).json()
    execution_id = accepted["execution_id"]
    _wait(lambda: _execution(org, execution_id).status == "running", 20, "the run to start")
    os.kill(int(_execution(org, execution_id).worker.rsplit(":", 1)[1]), signal.SIGKILL)
    time.sleep(0.5)
    with _in(org):
        assert executions_reap(now=timezone.now() + timedelta(seconds=60))["lost"] == 1
    _wait(lambda: _execution(org, execution_id).status == "completed", 30, "the retry")
    assert _execution(org, execution_id).output == {"attempt": 2}
    _relay(org, 0)
    (event,) = _events(org, trigger["id"])
    assert event.status == "executed" and event.execution_status == "completed"


def test_a_worker_killed_without_retries_marks_the_event_failed_not_running(live_org, setup, celery_workers):
    from apps.workflows.runner import executions_reap

    org = live_org()
    s = setup(org)
    workflow = s.workflow(code="export default async () => { await new Promise(r => setTimeout(r, 60000)); }")
    trigger = s.trigger("webhook", workflow=workflow)
    execution_id = post_hook(hook_path(trigger), {}).json()["execution_id"]
    _wait(lambda: _execution(org, execution_id).status == "running", 20, "the run to start")
    os.kill(int(_execution(org, execution_id).worker.rsplit(":", 1)[1]), signal.SIGKILL)
    time.sleep(0.5)
    with _in(org):
        executions_reap(now=timezone.now() + timedelta(seconds=60))
    _relay(org, 0)
    (event,) = _events(org, trigger["id"])
    assert event.status == "failed" and event.execution_status == "failed"
    assert _execution(org, execution_id).error["code"] == "worker_lost"


def test_an_instant_workflow_answers_the_hook_with_its_result(live_org, setup, celery_workers):
    org = live_org()
    s = setup(org)
    workflow = s.workflow(code="export default async (ctx) => ({doubled: ctx.input.n * 2})", tier="instant")
    trigger = s.trigger("webhook", workflow=workflow)
    response = post_hook(hook_path(trigger), {"n": 21}, **{"Idempotency-Key": "k-1"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "completed" and body["output"] == {"doubled": 42} and body["event_id"]
    replay = post_hook(hook_path(trigger), {"n": 21}, **{"Idempotency-Key": "k-1"})
    assert replay.status_code == 200 and replay.json() == body


def test_the_github_event_runs_as_the_right_customer(live_org, setup, api, celery_workers):
    from apps.connectors.signatures import sign

    org = live_org()
    s = setup(org)
    assert api(org).post("/api/v1/catalog/github/install").status_code == 201
    for customer, login in (("cx", "octo-x"), ("cy", "octo-y")):
        s.customer(customer)
        made = api(org, customer=customer).post(
            "/api/v1/connections",
            {"connector": "github", "credentials": {"access_token": "t"}, "verify": False, "account_key": login},
        )
        assert made.status_code == 201, made.json()
    workflow = s.workflow(code="export default async (ctx) => ({customer: ctx.customer.id, ref: ctx.input.data.ref})")
    trigger = s.trigger("app_event", workflow=workflow, config={"connector": "github", "secret": "gh-secret-123"})
    raw = json.dumps({"ref": "refs/heads/main", "repository": {"owner": {"login": "octo-y"}}}).encode()
    headers = sign({"scheme": "github"}, "gh-secret-123", raw)
    response = post_hook(
        urlparse(trigger["url"]).path, raw, **headers, **{"X-GitHub-Event": "push", "X-GitHub-Delivery": "del-1"}
    )
    assert response.status_code == 202, response.json()
    (execution_id,) = response.json()["execution_ids"]
    _wait(lambda: _execution(org, execution_id).status == "completed", 30, "the GitHub run")
    assert _execution(org, execution_id).output == {"customer": "cy", "ref": "refs/heads/main"}
