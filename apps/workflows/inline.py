"""Instant runs inside the web process: no broker, no worker hop, one INSERT.

A caller of an Instant workflow waits for the result. Sending the run to the
`instant` queue costs more than the run: serialising the task, the broker,
the worker's pick-up and claim, the result over a Redis list, and three
writes to the execution row (queued → running → completed) that nobody
else ever reads. When the web process has a free slot
(`FASTN_INSTANT_INLINE_SLOTS` per process) the run happens right here,
on the request's thread, through exactly the sandbox and host a worker uses
(`runner.sandbox_run`: the same time limit, memory limit, interrupt and
host-op deadlines), and its row is written once, finished, together with its
attempt and — for a webhook — its event, in one statement.

Nothing changes for anyone who could observe the difference:

- A run that is still going after `FASTN_INSTANT_INLINE_RECORD_AFTER_SECONDS`
  is recorded as `running` by a background thread of this process and gets
  the heartbeat every worker run gets: it shows up in the executions list,
  and if this process dies the reaper retries it on the `instant` queue (or
  fails it) exactly as for a lost worker. Its end then updates the row.
- A failure the retry policy retries is recorded with its attempt, queued on
  the `instant` queue with the policy's delay, and the caller waits for the
  outcome there, as before.
- A webhook event is in PostgreSQL before the sender hears back; it is written
  with the execution (settled already), so the relay has nothing to do.
- No free slot (or inline runs switched off): the `instant` queue, as before.

Requests that must be idempotent (an Idempotency-Key, a provider's delivery
id) keep the queued path: their row has to exist before the run starts, so
that a concurrent duplicate finds it instead of running a second time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.core.jsonsafe import jsonb_safe
from apps.core.rows import insert_many
from apps.workflows import runner
from apps.workflows.models import Execution, ExecutionAttempt
from apps.workflows.runtime import Redactor
from apps.workflows.tiers import RETRY_DEFAULTS, should_retry

logger = logging.getLogger(__name__)


# --- capacity ------------------------------------------------------------------------------------


class _Slots:
    """How many Instant runs this process may hold at once (non-blocking)."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._busy = 0

    def try_acquire(self) -> bool:
        limit = settings.FASTN_INSTANT_INLINE_SLOTS
        with self._lock:
            if self._busy >= limit:
                return False
            self._busy += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._busy -= 1

    @property
    def busy(self) -> int:
        return self._busy


slots = _Slots()


@contextlib.contextmanager
def _held() -> Iterator[None]:
    try:
        yield
    finally:
        slots.release()


def slot() -> contextlib.AbstractContextManager | None:
    """A held slot for one inline run (use as a context manager), or None when the process is full."""
    if settings.FASTN_INSTANT_INLINE_SLOTS <= 0 or not slots.try_acquire():
        return None
    return _held()


# --- one inline run ------------------------------------------------------------------------------

PENDING, RECORDED, FINISHING = range(3)


@dataclass
class InlineRun:
    organization: Any
    execution: dict[str, Any]  # Execution columns, as execution_start would insert them
    event: dict[str, Any] | None  # Event columns of a webhook, or None
    started_at: Any
    record_at: float
    worker: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    state: int = PENDING

    @property
    def execution_id(self) -> Any:
        return self.execution["id"]

    def running_rows(self, now) -> list:
        rows: list = [
            (
                Execution,
                {
                    **self.execution,
                    "status": Execution.Status.RUNNING,
                    "attempts": 1,
                    "started_at": self.started_at,
                    "heartbeat_at": now,
                    "worker": self.worker,
                },
            )
        ]
        if self.event is not None:
            rows.append(
                (
                    _event_model(),
                    {
                        **self.event,
                        "status": "dispatched",
                        "execution_id": self.execution_id,
                        "execution_status": Execution.Status.RUNNING,
                        "dispatched_at": now,
                    },
                )
            )
        return rows


def _event_model():
    # The triggers app builds on workflows: its model is looked up, not imported.
    from django.apps import apps

    return apps.get_model("triggers", "Event")


class _Recorder:
    """One thread per process writes the rows of inline runs that take a while."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Condition()
        self._runs: dict[Any, InlineRun] = {}
        self._thread: threading.Thread | None = None

    def add(self, run: InlineRun) -> None:
        with self._lock:
            self._runs[run.execution_id] = run
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="fastn-inline-recorder", daemon=True)
                self._thread.start()

    def remove(self, run: InlineRun) -> None:
        with self._lock:
            self._runs.pop(run.execution_id, None)

    def _loop(self) -> None:
        tick = min(0.25, settings.FASTN_INSTANT_INLINE_RECORD_AFTER_SECONDS)
        while True:
            time.sleep(tick)
            now = time.monotonic()
            with self._lock:
                due = [run for run in self._runs.values() if run.record_at <= now and run.state == PENDING]
            for run in due:
                try:
                    record_running(run)
                except Exception:  # noqa: BLE001 - tried again on the next tick
                    logger.warning("Could not record inline execution %s", run.execution_id, exc_info=True)
                    connection.close()


recorder = _Recorder()


def record_running(run: InlineRun) -> bool:
    """Write the rows of a run still in progress (`running`, heartbeat on). Once."""
    with run.lock:
        if run.state != PENDING:
            return False
        connection.set_tenant(run.organization)
        now = timezone.now()
        insert_many(run.running_rows(now))
        _watch(now, event=run.event is not None)
        run.state = RECORDED
    # Past the tier's hard limit a stuck run stops beating and the reaper takes it.
    hard_limit = settings.CELERY_QUEUE_TIME_LIMITS["instant"]["hard"]
    runner._beater.add(run.organization, run.execution_id, hard_limit)
    return True


def _watch(now, *, event: bool) -> None:
    """A run recorded unfinished: the reaper (and for an event, the relay) must look at it."""
    from apps.core.ticks import tick_mark

    tick_mark(kind="reap", at=now + runner.heartbeat_grace())
    if event:
        tick_mark(kind="relay", at=now + timedelta(seconds=settings.FASTN_TRIGGERS_RELAY_GRACE_SECONDS))


@dataclass
class InlineOutcome:
    execution_id: Any
    event_id: Any
    outcome: dict | None  # None: a retry is pending and did not finish within the wait


def execute(
    *,
    organization: Any,
    execution: dict[str, Any],
    event: dict[str, Any] | None,
    code: str,
    ctx: dict,
    context: runner.RunContext,
    retry_policy: dict | None,
    max_wait_s: float,
) -> InlineOutcome:
    """Run an Instant execution here and record it (see the module docstring)."""
    started_at = timezone.now()
    run = InlineRun(
        organization=organization,
        execution=execution,
        event=event,
        started_at=started_at,
        record_at=time.monotonic() + settings.FASTN_INSTANT_INLINE_RECORD_AFTER_SECONDS,
        worker=f"web:{runner.worker_name()}",
    )
    event_id = event["id"] if event is not None else None
    recorder.add(run)
    try:
        result, secrets, steps = runner.sandbox_run(
            code=code, ctx=ctx, context=context, timeout_ms=execution["timeout_ms"]
        )
    except BaseException:
        # The platform failed around the sandbox (it never raises for the
        # workflow's own faults): keep the record, if any, for the reaper.
        recorder.remove(run)
        raise
    recorder.remove(run)
    policy = retry_policy or RETRY_DEFAULTS
    code_ = (result.error or {}).get("code")
    retrying = result.status != "completed" and should_retry(policy, attempt=1, error_code=code_)
    with run.lock:
        recorded = run.state == RECORDED
        run.state = FINISHING
    if not recorded and not retrying:
        outcome = _insert_finished(run, result, secrets, steps, started_at)
        return InlineOutcome(run.execution_id, event_id, outcome)
    if not recorded:
        now = timezone.now()
        insert_many(run.running_rows(now))
        _watch(now, event=event is not None)
    claim = runner.Claim(
        run.execution_id,
        1,
        execution["version_id"],
        execution["workflow_id"],
        execution["workflow_slug"],
        execution["customer_id"],
        execution["environment"],
        execution["tier"],
        execution["triggered_by"],
        execution["timeout_ms"],
        execution["max_attempts"],
        execution["input"],
        execution["headers"],
        execution["version_number"],
        started_at,
        config=execution.get("config"),
        worker=run.worker,
    )
    try:
        outcome = runner.execution_record(
            claim=claim, result=result, secrets=secrets, retry_policy=retry_policy, steps=steps
        )
    finally:
        runner._beater.remove(run.execution_id)
    if outcome is None and retrying:
        budget = min(max_wait_s, execution["timeout_ms"] / 1000 * max(execution["max_attempts"], 1) + 5)
        try:
            outcome = runner.execution_wait(execution_id=run.execution_id, timeout_s=budget)
        except Exception:  # noqa: BLE001 - Redis went away while waiting: the row still tells
            logger.warning("Waiting for execution %s failed", run.execution_id, exc_info=True)
    return InlineOutcome(run.execution_id, event_id, outcome)


def _insert_finished(run: InlineRun, result, secrets: tuple[str, ...], steps: list, started_at) -> dict:
    """The whole execution in one statement: the row finished, its attempt, and its event."""
    now = timezone.now()
    execution = run.execution
    outcome = {
        "execution_id": str(run.execution_id),
        "status": result.status,
        "output": result.output if result.status == "completed" else None,
        "error": result.error,
        "duration_ms": result.duration_ms,
    }
    stored_input = Redactor(secrets).value(execution["input"]) if secrets else execution["input"]
    rows: list = [
        (
            Execution,
            {
                **execution,
                "input": stored_input,
                "status": result.status,
                "attempts": 1,
                "output": jsonb_safe(result.output) if result.status == "completed" else None,
                "error": jsonb_safe(result.error),
                "logs": jsonb_safe(result.logs),
                "logs_truncated": result.logs_truncated,
                "steps": jsonb_safe(steps or []),
                "started_at": started_at,
                "finished_at": now,
                "duration_ms": result.duration_ms,
                "worker": run.worker,
            },
        ),
        (
            ExecutionAttempt,
            {
                "execution_id": run.execution_id,
                "number": 1,
                "status": result.status,
                "started_at": started_at,
                "finished_at": now,
                "duration_ms": result.duration_ms,
                "error": jsonb_safe(result.error),
                "worker": run.worker,
            },
        ),
    ]
    if run.event is not None:
        body = {
            "event_id": str(run.event["id"]),
            "execution_id": str(run.execution_id),
            "status": result.status,
            "output": outcome["output"],
            "duration_ms": result.duration_ms,
        }
        if result.status != "completed":
            body["error"] = result.error
        outcome["body"] = body
        rows.append(
            (
                _event_model(),
                {
                    **run.event,
                    "status": "executed" if result.status == "completed" else "failed",
                    "execution_id": run.execution_id,
                    "execution_status": result.status,
                    "dispatched_at": started_at,
                    "finished_at": now,
                    "response_status": 200,
                    "response_body": jsonb_safe(body),
                },
            )
        )
    insert_many(rows)
    return outcome


def new_id() -> uuid.UUID:
    return uuid.uuid4()
