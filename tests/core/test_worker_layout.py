"""The Procfile's worker: one process with a pool of threads serving the three queues, and
Celery beat as one of its threads (fastn/celery.py ThreadedBeat) — the layout `make run` uses."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.workers

ROOT = Path(__file__).resolve().parent.parent.parent


def _procfile_command(name: str) -> list[str]:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            command = line.split(":", 1)[1].strip()
            for variable, default in (("CELERY_LOG_LEVEL", "INFO"), ("FASTN_WORKER_POOL", "threads")):
                command = command.replace(f"${{{variable}:-{default}}}", default)
            return shlex.split(command)
    raise AssertionError(f"no {name} in the Procfile")


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.fixture
def procfile_worker(django_db_setup, django_db_blocker, tmp_path):
    from django.conf import settings

    from tests.conftest import _test_database_url

    with django_db_blocker.unblock():
        database_url = _test_database_url()
    command = _procfile_command("worker")
    assert command[:3] == ["celery", "-A", "fastn"] and "-Q" in command
    name = f"layout-{uuid.uuid4().hex[:6]}@%h"
    command[command.index("-n") + 1] = name
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fastn.settings.test",
        "DATABASE_URL": database_url,
        "FASTN_REDIS_PREFIX": settings.REDIS_KEY_PREFIX,
        "FASTN_REDIS_PREFIX_FOR": os.environ.get("PYTEST_XDIST_WORKER", "main"),
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONUNBUFFERED": "1",
        "FASTN_WORKER_BEAT": "true",
        "FASTN_WORKER_CONCURRENCY": "4",
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", *command[:1], *command[1:], "--include", "tests.support_tasks"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    from tests.conftest import WORKERS_START_SECONDS

    deadline = time.monotonic() + WORKERS_START_SECONDS
    while b" ready." not in log_path.read_bytes():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise AssertionError(log_path.read_text()[-3000:])
        time.sleep(0.2)
    try:
        yield proc, log_path, name.replace("%h", os.uname().nodename)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_one_worker_process_serves_every_queue_with_threads_and_runs_beat(procfile_worker, live_org):
    from django.db import connection

    from fastn.celery import app
    from tests.support_tasks import current_schema

    proc, log_path, name = procfile_worker
    queues = app.control.inspect(destination=[name], timeout=5).active_queues() or {}
    assert sorted(q["name"] for q in queues[name]) == ["instant", "long", "standard"]
    stats = (app.control.inspect(destination=[name], timeout=5).stats() or {})[name]
    assert "thread" in stats["pool"]["implementation"]
    assert _children(proc.pid) == []  # no prefork children, no beat process
    org = live_org()
    connection.set_tenant(org.organization)
    results = [current_schema.apply_async(queue=queue) for queue in ("instant", "standard", "long")]
    connection.set_schema_to_public()
    assert [r.get(timeout=30) for r in results] == [org.organization.schema_name] * 3
    deadline = time.monotonic() + 20
    while b"beat: Starting" not in log_path.read_bytes():
        assert time.monotonic() < deadline, log_path.read_text()[-3000:]
        time.sleep(0.2)


def test_execution_tasks_carry_their_tiers_time_limits(settings):
    """One worker serves every queue, so the tier's limits travel in each message."""
    from celery.signals import before_task_publish

    from apps.workflows import services

    sent = []

    def capture(sender=None, headers=None, routing_key=None, **kwargs):
        sent.append((routing_key, headers.get("timelimit")))

    before_task_publish.connect(capture)
    try:
        # An id no execution has: a worker that takes the message finds nothing to claim.
        services.enqueue_execution(execution_id=uuid.uuid4(), tier="long")
    finally:
        before_task_publish.disconnect(capture)
    limits = settings.CELERY_QUEUE_TIME_LIMITS["long"]
    assert sent == [("long", (limits["hard"], limits["soft"]))] or sent == [("long", [limits["hard"], limits["soft"]])]
