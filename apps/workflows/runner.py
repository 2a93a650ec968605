"""The worker side of executions: claim, run in the sandbox, record, retry.

A task only carries an execution id. It claims the row with a conditional
UPDATE (queued → running); a duplicate delivery finds nothing to claim and
stops. While a run is in progress a heartbeat thread touches the row, so the
reaper can tell a live long run from one whose worker died.

Instant callers wait for the final outcome on a Redis list the worker pushes
to (`done_key`), which costs one round trip on each side.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.types.json import Jsonb

from apps.core.jsonsafe import jsonb_safe
from apps.core.redis import get_blocking_redis, get_redis, key
from apps.core.tenancy import current_organization
from apps.settings.models import Customer
from apps.workflows.host import ExecutionHost, RunContext
from apps.workflows.models import Execution, ExecutionAttempt, WorkflowVersion
from apps.workflows.runtime import Redactor, RunLimits, RunResult, run_workflow
from apps.workflows.tiers import RETRY_DEFAULTS, retry_delay_ms, should_retry

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
DONE_TTL_SECONDS = 120


def worker_name() -> str:
    # Computed per call: prefork children import this module in the parent.
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_grace() -> timedelta:
    """How stale a running execution's heartbeat may get before its worker counts as lost."""
    return timedelta(seconds=getattr(settings, "FASTN_EXECUTION_LOST_AFTER_SECONDS", 30))


def done_key(execution_id: Any) -> str:
    return key("exec-done", execution_id)


@dataclass(frozen=True)
class VersionSnapshot:
    id: Any
    workflow_id: Any
    number: int
    code: str
    config: dict


@lru_cache(maxsize=512)
def _version_snapshot(schema: str, version_id: str) -> VersionSnapshot:
    # Versions are immutable, so a version read once is good forever.
    version = WorkflowVersion.objects.only("id", "workflow_id", "number", "code", "config").get(id=version_id)
    return VersionSnapshot(version.id, version.workflow_id, version.number, version.code, version.config)


def version_snapshot(version_id: Any) -> VersionSnapshot:
    return _version_snapshot(connection.schema_name, str(version_id))


# --- claiming -----------------------------------------------------------------------

CLAIM_SQL = """
UPDATE workflows_execution
   SET status = 'running', attempts = attempts + 1, started_at = %(now)s, heartbeat_at = %(now)s,
       worker = %(worker)s, next_attempt_at = NULL
 WHERE id = %(id)s
   AND (status = 'queued' OR (status = 'running' AND heartbeat_at < %(stale)s))
RETURNING attempts, version_id, workflow_id, workflow_slug, customer_id, environment, tier, triggered_by,
          timeout_ms, max_attempts, input, headers, version_number, config
"""


@dataclass
class Claim:
    execution_id: Any
    attempt: int
    version_id: Any
    workflow_id: Any
    workflow_slug: str
    customer_id: Any
    environment: str
    tier: str
    triggered_by: str
    timeout_ms: int
    max_attempts: int
    input: Any
    headers: dict
    version_number: int
    started_at: Any
    config: dict | None = None
    # Who runs it (the attempt rows say so): this worker process, unless set
    # (an Instant run in a web process, apps.workflows.inline).
    worker: str = ""

    @property
    def runner_name(self) -> str:
        return self.worker or worker_name()


def _decode(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def execution_claim(*, execution_id: Any) -> Claim | None:
    """Take a queued execution (or one whose worker was lost) for this worker."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            CLAIM_SQL, {"id": execution_id, "now": now, "worker": worker_name(), "stale": now - heartbeat_grace()}
        )
        row = cursor.fetchone()
    if row is None:
        return None
    attempt, version_id, workflow_id, slug, customer_id, env, tier, trig, timeout, max_att, inp, hdr, vnum, cfg = row
    return Claim(
        execution_id,
        attempt,
        version_id,
        workflow_id,
        slug,
        customer_id,
        env,
        tier,
        trig,
        timeout,
        max_att,
        _decode(inp),
        _decode(hdr) or {},
        vnum,
        now,
        _decode(cfg),
    )


# --- heartbeat ------------------------------------------------------------------------


class _Beater:
    """One thread per worker process touches `heartbeat_at` of every execution
    running in the process, every few seconds: no thread per run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[Any, tuple[Any, float | None]] = {}  # execution id → (organization, deadline)
        self._thread: threading.Thread | None = None
        self._pid = 0

    def add(self, organization, execution_id: Any, stop_after: float | None = None) -> None:
        """Beat for `execution_id` until removed, or until `stop_after` seconds
        have passed: past its tier's hard limit a run counts as lost even if
        its thread is stuck (a thread, unlike a prefork child, cannot be killed)."""
        with self._lock:
            deadline = time.monotonic() + stop_after if stop_after is not None else None
            self._running[execution_id] = (organization, deadline)
            # Prefork children inherit no threads: start one per process.
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._loop, name="fastn-heartbeat", daemon=True)
                self._thread.start()

    def remove(self, execution_id: Any) -> None:
        with self._lock:
            self._running.pop(execution_id, None)

    def _loop(self) -> None:
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            now = time.monotonic()
            with self._lock:
                by_schema: dict[str, tuple[Any, list]] = {}
                for execution_id, (organization, deadline) in self._running.items():
                    if deadline is not None and now > deadline:
                        continue
                    by_schema.setdefault(organization.schema_name, (organization, []))[1].append(execution_id)
            for organization, ids in by_schema.values():
                try:
                    connection.set_tenant(organization)
                    Execution.objects.filter(id__in=ids, status=Execution.Status.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:  # noqa: BLE001 - a missed beat only makes the reaper look sooner
                    logger.warning("Heartbeat of %d executions failed", len(ids), exc_info=True)
                    connection.close()


_beater = _Beater()


class Heartbeat:
    """Keeps an execution's `heartbeat_at` fresh while the block runs."""

    def __init__(self, organization, execution_id: Any, tier: str | None = None) -> None:
        self.organization = organization
        self.execution_id = execution_id
        self.tier = tier

    def __enter__(self) -> Heartbeat:
        stop_after = None
        if self.tier is not None:
            from apps.workflows.tiers import TIERS

            stop_after = settings.CELERY_QUEUE_TIME_LIMITS[TIERS[self.tier].queue]["hard"]
        _beater.add(self.organization, self.execution_id, stop_after)
        return self

    def __exit__(self, *exc) -> None:
        _beater.remove(self.execution_id)


# --- running ----------------------------------------------------------------------------


def _customer_context(customer: Customer | None) -> dict | None:
    if customer is None:
        return None
    return {
        "id": customer.external_id,
        "external_id": customer.external_id,
        "name": customer.name,
        "tier": customer.tier,
        "region": customer.region,
        "metadata": customer.metadata,
    }


def _limits(timeout_ms: int) -> RunLimits:
    return RunLimits(timeout_ms=timeout_ms, memory_bytes=settings.FASTN_SANDBOX_MEMORY_BYTES)


def sandbox_run(
    *,
    code: str,
    ctx: dict,
    context: RunContext,
    timeout_ms: int,
    host: ExecutionHost | None = None,
) -> tuple[RunResult, tuple[str, ...], list[dict]]:
    """Run code with a real host (or the one given, e.g. a test case's).
    Returns the result, the secrets it saw and the steps it took (redacted)."""
    host = host or ExecutionHost(context)
    try:
        result = run_workflow(code, ctx=ctx, host=host, limits=_limits(timeout_ms))
    finally:
        host.close()
    secrets = tuple(host._secrets_cache.values())
    steps = host.steps
    if secrets and steps:
        steps = Redactor(secrets).value(steps)
    return result, secrets, steps


def execution_run(*, execution_id: Any) -> dict | None:
    """Run one attempt of an execution. Returns the final outcome when this
    attempt ended the execution, None when it was not claimed or will retry."""
    claim = execution_claim(execution_id=execution_id)
    if claim is None:
        return None
    organization = current_organization()
    version = version_snapshot(claim.version_id)
    customer = Customer.objects.filter(id=claim.customer_id).first() if claim.customer_id else None
    ctx = {
        "input": claim.input,
        "headers": claim.headers,
        "config": claim.config if isinstance(claim.config, dict) else {},
        "customer": _customer_context(customer),
        "execution": {
            "id": str(execution_id),
            "attempt": claim.attempt,
            "tier": claim.tier,
            "version": claim.version_number,
            "environment": claim.environment,
            "triggered_by": claim.triggered_by,
            "workflow": claim.workflow_slug,
        },
    }
    context = RunContext(organization, claim.workflow_id, customer, execution_id)
    with Heartbeat(organization, execution_id, claim.tier):
        result, secrets, steps = sandbox_run(code=version.code, ctx=ctx, context=context, timeout_ms=claim.timeout_ms)
    return execution_record(
        claim=claim, result=result, secrets=secrets, retry_policy=version.config.get("retry_policy"), steps=steps
    )


def execution_record(
    *,
    claim: Claim,
    result: RunResult,
    secrets: tuple[str, ...],
    retry_policy: dict | None,
    steps: list[dict] | None = None,
) -> dict | None:
    """Store an attempt's outcome; schedule the next attempt or finish."""
    policy = retry_policy or RETRY_DEFAULTS
    now = timezone.now()
    error = result.error
    code = (error or {}).get("code")
    retrying = result.status != "completed" and should_retry(policy, attempt=claim.attempt, error_code=code)
    final_status = result.status
    stored_input = claim.input
    if secrets:
        stored_input = Redactor(secrets).value(claim.input)
    if not retrying:
        updated = _finish(
            claim=claim,
            result=result,
            now=now,
            status=final_status,
            stored_input=stored_input,
            input_changed=bool(secrets),
            steps=steps or [],
        )
    else:
        with transaction.atomic():
            ExecutionAttempt.objects.create(
                execution_id=claim.execution_id,
                number=claim.attempt,
                status=final_status,
                started_at=claim.started_at,
                finished_at=now,
                duration_ms=result.duration_ms,
                error=jsonb_safe(error),
                worker=claim.runner_name,
            )
            delay_ms = retry_delay_ms(policy, claim.attempt)
            Execution.objects.filter(
                id=claim.execution_id, status=Execution.Status.RUNNING, attempts=claim.attempt
            ).update(
                status=Execution.Status.QUEUED,
                error=jsonb_safe(error),
                logs=jsonb_safe(result.logs),
                logs_truncated=result.logs_truncated,
                steps=jsonb_safe(steps or []),
                next_attempt_at=now + timedelta(milliseconds=delay_ms),
                heartbeat_at=None,
                input=jsonb_safe(stored_input),
            )
            tier = claim.tier
            transaction.on_commit(lambda: _enqueue_retry(claim.execution_id, tier, delay_ms))
        return None
    if not updated:
        return None
    outcome = {
        "execution_id": str(claim.execution_id),
        "status": final_status,
        "output": result.output if result.status == "completed" else None,
        "error": error,
        "duration_ms": result.duration_ms,
    }
    _announce(claim.execution_id, outcome)
    return outcome


FINISH_SQL = """
WITH done AS (
    UPDATE workflows_execution
       SET status = %(status)s, output = %(output)s, error = %(error)s, logs = %(logs)s,
           logs_truncated = %(logs_truncated)s, steps = %(steps)s, finished_at = %(now)s,
           duration_ms = %(duration)s
           {input_clause}
     WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s
 RETURNING id
)
INSERT INTO workflows_executionattempt
       (execution_id, number, status, started_at, finished_at, duration_ms, error, worker)
SELECT id, %(attempt)s, %(status)s, %(started)s, %(now)s, %(duration)s, %(error)s, %(worker)s FROM done
RETURNING execution_id
"""


def _finish(
    *, claim: Claim, result: RunResult, now, status: str, stored_input, input_changed: bool, steps: list[dict]
) -> bool:
    """The last attempt: the execution row and its attempt row in one
    statement (one round trip, atomic without an explicit transaction)."""
    output = jsonb_safe(result.output) if result.status == "completed" else None
    params = {
        "id": claim.execution_id,
        "status": status,
        "output": Jsonb(output) if output is not None else None,
        "error": Jsonb(jsonb_safe(result.error)) if result.error is not None else None,
        "logs": Jsonb(jsonb_safe(result.logs)),
        "logs_truncated": result.logs_truncated,
        "steps": Jsonb(jsonb_safe(steps)),
        "now": now,
        "duration": result.duration_ms,
        "attempt": claim.attempt,
        "started": claim.started_at,
        "worker": claim.runner_name,
        "input": Jsonb(jsonb_safe(stored_input)),
    }
    sql = FINISH_SQL.format(input_clause=", input = %(input)s" if input_changed else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def _enqueue_retry(execution_id: Any, tier: str, delay_ms: int) -> None:
    from apps.workflows.services import enqueue_execution

    try:
        enqueue_execution(execution_id=execution_id, tier=tier, countdown=delay_ms / 1000)
    except Exception:  # noqa: BLE001 - the relay picks it up once next_attempt_at has passed
        logger.warning("Could not queue the next attempt of %s", execution_id, exc_info=True)


def _announce(execution_id: Any, outcome: dict) -> None:
    """Tell a waiting Instant caller the outcome (best effort)."""
    try:
        redis = get_redis()
        pipe = redis.pipeline(transaction=False)
        pipe.rpush(done_key(execution_id), json.dumps(outcome, default=str))
        pipe.expire(done_key(execution_id), DONE_TTL_SECONDS)
        pipe.execute()
    except Exception:  # noqa: BLE001 - the caller falls back to reading the row
        logger.warning("Could not announce the outcome of %s", execution_id, exc_info=True)


def execution_wait(*, execution_id: Any, timeout_s: float) -> dict | None:
    """Block until the worker announces the outcome, or None after timeout_s."""
    reply = get_blocking_redis().blpop([done_key(execution_id)], timeout=max(timeout_s, 0.01))
    if reply is None:
        return None
    return json.loads(reply[1])


# --- the reaper and relay -----------------------------------------------------------------


def executions_reap(*, now=None) -> dict[str, int]:
    """Find executions no worker is handling and get them going again.

    - running with a stale heartbeat: the worker died (SIGKILL, OOM, host
      lost). Retry when the policy allows, else fail with "worker lost".
    - queued but never picked up (Redis lost the message, or was down when
      it was sent): queue again. Claims make a double delivery harmless.
    """
    now = now or timezone.now()
    counts = {"lost": 0, "requeued": 0}
    stale = now - heartbeat_grace()
    for execution in Execution.objects.filter(status=Execution.Status.RUNNING, heartbeat_at__lt=stale).only(
        "id", "tier", "attempts", "max_attempts", "version_id", "started_at"
    ):
        counts["lost"] += _recover_lost(execution, now=now, stale=stale)
    overdue = now - timedelta(seconds=getattr(settings, "FASTN_EXECUTION_REQUEUE_AFTER_SECONDS", 60))
    never_picked = Q(next_attempt_at__isnull=True, created_at__lt=overdue) | Q(next_attempt_at__lt=overdue)
    for execution in Execution.objects.filter(never_picked, status=Execution.Status.QUEUED).only("id", "tier")[:1000]:
        from apps.workflows.services import enqueue_execution

        try:
            enqueue_execution(execution_id=execution.id, tier=execution.tier)
            counts["requeued"] += 1
        except Exception:  # noqa: BLE001
            logger.warning("Relay could not queue %s", execution.id, exc_info=True)
            break
    return counts


REAP_NEXT_SQL = """
SELECT min(CASE WHEN status = 'running' THEN heartbeat_at + %(lost)s
                ELSE COALESCE(next_attempt_at, created_at) + %(requeue)s END)
  FROM workflows_execution WHERE status IN ('queued', 'running')
"""


def reap_next_due(now=None):
    """When the reaper next has something to look at here: the earliest time an
    unfinished execution could be lost or stranded (None: nothing unfinished)."""
    with connection.cursor() as cursor:
        cursor.execute(
            REAP_NEXT_SQL,
            {
                "lost": heartbeat_grace(),
                "requeue": timedelta(seconds=getattr(settings, "FASTN_EXECUTION_REQUEUE_AFTER_SECONDS", 60)),
            },
        )
        return cursor.fetchone()[0]


def _recover_lost(execution: Execution, *, now, stale) -> int:
    error = {
        "message": "The worker running this execution was lost (killed or crashed).",
        "name": "WorkerLost",
        "code": "worker_lost",
    }
    version = WorkflowVersion.objects.filter(id=execution.version_id).values_list("config", flat=True).first()
    policy = (version or {}).get("retry_policy") or RETRY_DEFAULTS
    with transaction.atomic():
        ExecutionAttempt.objects.update_or_create(
            execution_id=execution.id,
            number=execution.attempts,
            defaults={
                "status": Execution.Status.FAILED,
                "started_at": execution.started_at or now,
                "finished_at": now,
                "error": error,
                "worker": "",
            },
        )
        if should_retry(policy, attempt=execution.attempts, error_code="worker_lost"):
            delay_ms = retry_delay_ms(policy, execution.attempts)
            changed = Execution.objects.filter(
                id=execution.id, status=Execution.Status.RUNNING, heartbeat_at__lt=stale
            ).update(
                status=Execution.Status.QUEUED,
                error=error,
                heartbeat_at=None,
                next_attempt_at=now + timedelta(milliseconds=delay_ms),
            )
            if changed:
                tier = execution.tier
                transaction.on_commit(lambda: _enqueue_retry(execution.id, tier, delay_ms))
            return changed
        changed = Execution.objects.filter(
            id=execution.id, status=Execution.Status.RUNNING, heartbeat_at__lt=stale
        ).update(status=Execution.Status.FAILED, error=error, finished_at=now)
    if changed:
        _announce(execution.id, {"execution_id": str(execution.id), "status": "failed", "output": None, "error": error})
    return changed


# --- draft test runs -------------------------------------------------------------------------


def draft_run(
    *, workflow_id: Any, code: str, timeout_ms: int, input: Any, headers: dict, customer_id: Any, config=None
) -> dict:
    """Run a draft for the Test tab: nothing is recorded."""
    organization = current_organization()
    customer = Customer.objects.filter(id=customer_id).first() if customer_id else None
    ctx = {
        "input": input,
        "headers": headers,
        "config": config if isinstance(config, dict) else {},
        "customer": _customer_context(customer),
        "execution": {
            "id": None,
            "attempt": 1,
            "tier": "test",
            "version": None,
            "environment": "draft",
            "triggered_by": "manual",
            "test": True,
        },
    }
    context = RunContext(organization, workflow_id, customer, None)
    result, _, steps = sandbox_run(code=code, ctx=ctx, context=context, timeout_ms=timeout_ms)
    return {
        "status": result.status,
        "output": result.output if result.status == "completed" else None,
        "error": result.error,
        "logs": result.logs,
        "logs_truncated": result.logs_truncated,
        "duration_ms": round(result.duration_ms, 3),
        "steps": steps,
    }
