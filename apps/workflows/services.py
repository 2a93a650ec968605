"""Writes for workflows: drafts, publish, deploy, and starting executions.

The worker side of an execution (claiming, running, retrying, finishing) lives
in `apps.workflows.runner`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jsonschema
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.principals import Principal
from apps.billing.services import quota_consume
from apps.core.errors import InvalidInput
from apps.core.jsonsafe import jsonb_safe
from apps.core.tenancy import current_organization
from apps.settings.models import Customer
from apps.settings.selectors import environment_get
from apps.settings.services import audit_record, environment_check_allowed
from apps.workflows import inline, selectors
from apps.workflows.exceptions import (
    DraftChanged,
    IdempotencyConflict,
    InvalidWorkflowInput,
    NotDeployed,
    NotPublished,
    VersionNotFound,
    WorkflowCompileError,
    WorkflowDisabled,
    WorkflowExists,
)
from apps.workflows.models import Deployment, Execution, IdempotencyRecord, Workflow, WorkflowVersion
from apps.workflows.runtime import CompileError, compile_check
from apps.workflows.tiers import RETRY_DEFAULTS, RETRY_RANGES, TIERS, Tier

logger = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
MAX_CODE_BYTES = 1024 * 1024
MAX_INPUT_BYTES = 5 * 1024 * 1024
IDEMPOTENCY_WINDOW = timedelta(hours=24)


# --- Validation ---------------------------------------------------------------------


def validate_timeout(tier: str, timeout_ms: int | None) -> int:
    spec = TIERS[tier]
    if timeout_ms is None:
        return spec.default_timeout_ms
    if not spec.min_timeout_ms <= timeout_ms <= spec.max_timeout_ms:
        raise InvalidInput.for_field(
            "timeout_ms",
            f"For the {tier} tier, use {spec.min_timeout_ms} to {spec.max_timeout_ms} ms.",
        )
    return timeout_ms


def validate_retry_policy(policy: dict | None) -> dict:
    """Fill defaults and check ranges (API.md); errors name `retry_policy.<field>`."""
    if policy is None:
        return dict(RETRY_DEFAULTS)
    if not isinstance(policy, dict):
        raise InvalidInput.for_field("retry_policy", "Must be an object.")
    unknown = sorted(set(policy) - set(RETRY_DEFAULTS))
    if unknown:
        raise InvalidInput.for_field(f"retry_policy.{unknown[0]}", "Unknown field.")
    merged = {**RETRY_DEFAULTS, **policy}
    if not isinstance(merged["enabled"], bool):
        raise InvalidInput.for_field("retry_policy.enabled", "Must be true or false.")
    for name, (low, high) in RETRY_RANGES.items():
        value = merged[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInput.for_field(f"retry_policy.{name}", "Must be a number.")
        if name != "backoff_coefficient" and (not float(value).is_integer()):
            raise InvalidInput.for_field(f"retry_policy.{name}", "Must be an integer.")
        if not low <= value <= high:
            raise InvalidInput.for_field(f"retry_policy.{name}", f"Must be between {low} and {high}.")
        merged[name] = value if name == "backoff_coefficient" else int(value)
    if merged["max_interval_ms"] < merged["initial_interval_ms"]:
        raise InvalidInput.for_field("retry_policy.max_interval_ms", "Must be at least initial_interval_ms.")
    return merged


def validate_input_schema(schema: Any) -> dict | None:
    if schema is None:
        return None
    if not isinstance(schema, dict):
        raise InvalidInput.for_field("input_schema", "Must be a JSON Schema object.")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise InvalidInput.for_field("input_schema", f"Not a valid JSON Schema: {exc.message}") from exc
    return schema


def validate_code(code: str) -> None:
    if len(code.encode("utf-8")) > MAX_CODE_BYTES:
        raise InvalidInput.for_field("code", f"Code may be at most {MAX_CODE_BYTES} bytes.")
    try:
        compile_check(code)
    except CompileError as exc:
        raise WorkflowCompileError(
            f"The code does not compile: {exc.message} (line {exc.line}, column {exc.column}).",
            details={"line": exc.line, "column": exc.column, "message": exc.message},
        ) from exc


def content_hash(code: str, config: dict) -> str:
    canonical = json.dumps({"code": code, "config": config}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _config_of(workflow: Workflow) -> dict:
    return {
        "tier": workflow.tier,
        "timeout_ms": workflow.timeout_ms,
        "retry_policy": workflow.retry_policy,
        "input_schema": workflow.input_schema,
    }


def _unique_slug(base: str) -> str:
    base = (slugify(base)[:90].strip("-") or "workflow").lower()
    if not re.match(r"^[a-z0-9]", base):
        base = f"w-{base}"
    slug, n = base, 2
    while Workflow.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


# --- Drafts --------------------------------------------------------------------------


def workflow_create(
    *,
    actor: Principal,
    name: str,
    code: str,
    slug: str | None = None,
    description: str = "",
    tier: str = Tier.STANDARD,
    timeout_ms: int | None = None,
    enabled: bool = True,
    retry_policy: dict | None = None,
    input_schema: dict | None = None,
    edited_via: str = Workflow.EditedVia.MANUAL,
    require_passing_tests: bool = False,
) -> Workflow:
    if tier not in TIERS:
        raise InvalidInput.for_field("tier", "Must be instant, standard or long.")
    if slug is not None and not SLUG_RE.match(slug):
        raise InvalidInput.for_field("slug", "Use lowercase letters, digits and '-', starting with a letter or digit.")
    timeout_ms = validate_timeout(tier, timeout_ms)
    retry_policy = validate_retry_policy(retry_policy)
    input_schema = validate_input_schema(input_schema)
    validate_code(code)
    try:
        with transaction.atomic():
            workflow = Workflow.objects.create(
                slug=slug or _unique_slug(name),
                name=name,
                description=description,
                code=code,
                tier=tier,
                timeout_ms=timeout_ms,
                enabled=enabled,
                retry_policy=retry_policy,
                input_schema=input_schema,
                edited_via=edited_via,
                require_passing_tests=require_passing_tests,
                created_by=actor.label,
                updated_by=actor.label,
            )
    except IntegrityError as exc:
        raise WorkflowExists(f"A workflow with the slug {slug!r} already exists.", details={"slug": slug}) from exc
    audit_record(
        actor=actor,
        action="workflow.create",
        resource_type="workflow",
        resource_id=workflow.slug,
        changes={"name": name, "tier": tier, "timeout_ms": timeout_ms, "code_bytes": workflow.code_bytes},
    )
    return workflow


UPDATABLE = (
    "name",
    "description",
    "code",
    "tier",
    "timeout_ms",
    "enabled",
    "retry_policy",
    "input_schema",
    "edited_via",
    "require_passing_tests",
)


def workflow_update(*, actor: Principal, workflow: Workflow, **fields: Any) -> Workflow:
    changes = {k: v for k, v in fields.items() if k in UPDATABLE}
    tier = changes.get("tier", workflow.tier)
    if tier not in TIERS:
        raise InvalidInput.for_field("tier", "Must be instant, standard or long.")
    if "timeout_ms" in changes or "tier" in changes:
        # A tier change without a timeout keeps the old one if it fits, else the tier's default.
        timeout = changes.get("timeout_ms")
        if timeout is None:
            spec = TIERS[tier]
            timeout = (
                workflow.timeout_ms
                if spec.min_timeout_ms <= workflow.timeout_ms <= spec.max_timeout_ms
                else spec.default_timeout_ms
            )
        changes["timeout_ms"] = validate_timeout(tier, timeout)
    if "retry_policy" in changes:
        changes["retry_policy"] = validate_retry_policy({**workflow.retry_policy, **(changes["retry_policy"] or {})})
    if "input_schema" in changes:
        changes["input_schema"] = validate_input_schema(changes["input_schema"])
    if "code" in changes:
        validate_code(changes["code"])
        changes.setdefault("edited_via", Workflow.EditedVia.MANUAL)
    changed = {k: v for k, v in changes.items() if getattr(workflow, k) != v}
    if not changed:
        return workflow
    for name, value in changed.items():
        setattr(workflow, name, value)
    workflow.updated_by = actor.label
    workflow.save(update_fields=[*changed, "updated_by", "updated_at"])
    summary = {k: v for k, v in changed.items() if k not in ("code", "input_schema")}
    if "code" in changed:
        summary["code_bytes"] = workflow.code_bytes
    audit_record(
        actor=actor, action="workflow.update", resource_type="workflow", resource_id=workflow.slug, changes=summary
    )
    return workflow


def workflow_delete(*, actor: Principal, workflow: Workflow) -> None:
    slug = workflow.slug
    with transaction.atomic():
        Deployment.objects.filter(workflow=workflow).delete()
        workflow.delete()
    audit_record(actor=actor, action="workflow.delete", resource_type="workflow", resource_id=slug)


# --- Versions and deployments -----------------------------------------------------


def workflow_publish(*, actor: Principal, workflow: Workflow, note: str = "") -> WorkflowVersion:
    """Snapshot the draft as the next immutable version."""
    validate_code(workflow.code)
    config = _config_of(workflow)
    with transaction.atomic():
        locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
        number = locked.latest_version + 1
        version = WorkflowVersion.objects.create(
            workflow=locked,
            number=number,
            code=locked.code,
            config=config,
            content_hash=content_hash(locked.code, config),
            note=note,
            created_by=actor.label,
        )
        Workflow.objects.filter(pk=locked.pk).update(latest_version=number)
    workflow.latest_version = number
    audit_record(
        actor=actor,
        action="workflow.publish",
        resource_type="workflow",
        resource_id=workflow.slug,
        changes={"version": number, "content_hash": version.content_hash, "note": note},
    )
    return version


def workflow_deploy(*, actor: Principal, workflow: Workflow, version_number: int, environment_slug: str) -> Deployment:
    """Put a version in an environment. Deploying an earlier version is a rollback."""
    # One read: the environment (404 when unknown), with the Test-key rule applied.
    environment = environment_check_allowed(principal=actor, environment_slug=environment_slug, action="deploy")
    version = WorkflowVersion.objects.filter(workflow=workflow, number=version_number).first()
    if version is None:
        raise VersionNotFound(f"Workflow {workflow.slug!r} has no version {version_number}.")
    gate = None
    if workflow.require_passing_tests and environment.is_production:
        # Runs the approved test cases against this version on Standard
        # workers and waits: 409 tests_failed unless all pass.
        from apps.workflows.testcases.services import deploy_gate

        gate = deploy_gate(actor=actor, workflow=workflow, version=version, environment=environment)
    previous = selectors.current_deployment(workflow=workflow, environment=environment)
    deployment = Deployment.objects.create(
        workflow=workflow, environment=environment, version=version, deployed_by=actor.label, gate=gate
    )
    audit_record(
        actor=actor,
        action="workflow.deploy",
        resource_type="workflow",
        resource_id=workflow.slug,
        changes={
            "environment": environment.slug,
            "version": version_number,
            "previous_version": previous.version.number if previous else None,
            "rollback": bool(previous and previous.version.number > version_number),
            **({"gate": {"suite": str(gate.id), "passed": gate.passed, "total": gate.total}} if gate else {}),
        },
    )
    return deployment


def _environment_restricted(actor: Principal) -> bool:
    """Only Test API keys are kept out of environments (production); checking
    anyone else would cost a query on every run for nothing."""
    return actor.api_key is not None and getattr(actor.api_key, "kind", "") == "test"


# --- Executions -----------------------------------------------------------------------


@dataclass
class RunRequest:
    """Everything needed to start an execution of a deployed version."""

    workflow: Workflow
    environment_slug: str = "production"
    input: Any = None
    headers: dict | None = None
    # ctx.config of the run (None: an empty object).
    config: dict | None = None
    customer: Customer | None = None
    triggered_by: str = Execution.Trigger.MANUAL
    event_id: Any = None
    idempotency_key: str | None = None
    request_hash: str = ""
    # The deployed version when the caller already read it (saves a query).
    version: WorkflowVersion | None = None
    # False: the caller queues the execution itself once its own transaction
    # commits (triggers do, through a broker circuit breaker, and record it).
    enqueue: bool = True


@dataclass
class StartedExecution:
    execution: Execution
    replayed: IdempotencyRecord | None = None  # the first response, when the key was seen before
    enqueued: bool = True


def validate_run_input(schema: dict | None, value: Any) -> None:
    if schema is None:
        return
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        path = ".".join(str(p) for p in error.absolute_path) or "input"
        raise InvalidWorkflowInput(
            f"The input does not match the workflow's input schema at {path}: {error.message}",
            details={"fields": {path: [error.message]}},
        )


def execution_start(*, actor: Principal | None, request: RunRequest) -> StartedExecution:
    """Record an execution of the version deployed to the request's environment,
    then queue it on its tier's queue once the row is committed.

    With an Idempotency-Key seen in the last 24 hours for this workflow, the
    first execution is returned instead (`replayed`) and nothing new starts.
    """
    workflow = request.workflow
    version = _runnable_version(actor, request)
    config = version.config

    if request.idempotency_key:
        replay = _idempotency_lookup(workflow, request)
        if replay is not None:
            return replay

    retry = config.get("retry_policy") or RETRY_DEFAULTS
    customer = request.customer
    # One execution counts once against the plan (retries do not); a hard
    # block answers 429 and records nothing.
    quota_consume(
        organization=current_organization(),
        meter="executions",
        customer_external_id=customer.external_id if customer else None,
    )
    fields = _execution_fields(workflow, version, config, retry, request)
    if not request.idempotency_key:
        # One INSERT (in autocommit unless the caller holds a transaction; the
        # queueing waits for its commit either way).
        execution = Execution.objects.create(**fields)
        _reaper_watch(execution)
        if request.enqueue:
            transaction.on_commit(lambda: _enqueue_after_commit(execution))
        return StartedExecution(execution, enqueued=request.enqueue and getattr(execution, "_enqueued", True))
    try:
        with transaction.atomic():
            execution = Execution.objects.create(**fields)
            _reaper_watch(execution)
            # A concurrent request with the same key waits on the unique
            # index here, then fails: it answers with this execution.
            IdempotencyRecord.objects.create(
                workflow_id=workflow.id,
                key=request.idempotency_key,
                request_hash=request.request_hash,
                execution=execution,
            )
            if request.enqueue:
                transaction.on_commit(lambda: _enqueue_after_commit(execution))
    except IntegrityError:
        found = _idempotency_lookup(workflow, request)
        if found is None:
            raise IdempotencyConflict("A request with this Idempotency-Key is being processed; retry shortly.")
        return found
    return StartedExecution(execution, enqueued=request.enqueue and getattr(execution, "_enqueued", True))


def _runnable_version(actor: Principal | None, request: RunRequest) -> WorkflowVersion:
    """The version a run request runs, after every check that may refuse it (nothing counted yet)."""
    workflow = request.workflow
    if not workflow.enabled:
        raise WorkflowDisabled(f"Workflow {workflow.slug!r} is disabled: enable it to run it.")
    if actor is not None and _environment_restricted(actor):
        environment_check_allowed(principal=actor, environment_slug=request.environment_slug, action="run")
    version = request.version or selectors.deployed_version(
        workflow_id=workflow.id, environment_slug=request.environment_slug
    )
    if version is None:
        environment = environment_get(slug=request.environment_slug)  # 404 when it does not exist
        raise NotDeployed(
            f"Workflow {workflow.slug!r} has no version deployed to {environment.slug}: publish and deploy one first.",
            details={"environment": environment.slug},
        )
    config = version.config
    validate_run_input(config.get("input_schema"), request.input)
    if request.input is not None and len(json.dumps(request.input, default=str)) > MAX_INPUT_BYTES:
        raise InvalidInput.for_field("input", f"The input may be at most {MAX_INPUT_BYTES} bytes of JSON.")
    return version


def execution_run_inline(
    *, actor: Principal | None, request: RunRequest, event: dict | None = None, max_wait_s: float
) -> inline.InlineOutcome | None:
    """Run an Instant execution in this process when it has a free slot
    (apps.workflows.inline); None when it should go to the `instant` queue
    instead (not Instant, idempotent, no slot) — then nothing was counted.

    Refuses exactly as `execution_start` does (disabled, not deployed, input,
    quota). `event`: the columns of the webhook event that started it, written
    with the execution.
    """
    version = request.version
    if (
        version is None
        or request.idempotency_key
        or version.config.get("tier") != Tier.INSTANT
        or not request.workflow.enabled
    ):
        return None
    held = inline.slot()
    if held is None:
        return None
    with held:
        version = _runnable_version(actor, request)
        config = version.config
        retry = config.get("retry_policy") or RETRY_DEFAULTS
        customer = request.customer
        organization = current_organization()
        quota_consume(
            organization=organization,
            meter="executions",
            customer_external_id=customer.external_id if customer else None,
        )
        from apps.workflows import runner

        fields = _execution_fields(request.workflow, version, config, retry, request)
        fields["id"] = inline.new_id()
        snapshot = runner.version_snapshot(version.id)
        ctx = {
            "input": fields["input"],
            "headers": fields["headers"],
            "config": fields["config"] if isinstance(fields["config"], dict) else {},
            "customer": runner._customer_context(customer),
            "execution": {
                "id": str(fields["id"]),
                "attempt": 1,
                "tier": fields["tier"],
                "version": version.number,
                "environment": request.environment_slug,
                "triggered_by": request.triggered_by,
                "workflow": request.workflow.slug,
            },
        }
        return inline.execute(
            organization=organization,
            execution=fields,
            event=event,
            code=snapshot.code,
            ctx=ctx,
            context=runner.RunContext(organization, request.workflow.id, customer, fields["id"]),
            retry_policy=config.get("retry_policy"),
            max_wait_s=max_wait_s,
        )


def _reaper_watch(execution: Execution) -> None:
    """The reaper looks at this organization once the execution could be stranded (apps.core.ticks)."""
    from django.conf import settings

    from apps.core.ticks import tick_mark

    requeue_after = timedelta(seconds=settings.FASTN_EXECUTION_REQUEUE_AFTER_SECONDS)
    tick_mark(kind="reap", at=execution.created_at + requeue_after)


def _execution_fields(workflow: Workflow, version: WorkflowVersion, config: dict, retry: dict, request: RunRequest):
    customer = request.customer
    return {
        "workflow_id": workflow.id,
        "workflow_slug": workflow.slug,
        "version_id": version.id,
        "version_number": version.number,
        "environment": request.environment_slug,
        "tier": config["tier"],
        "triggered_by": request.triggered_by,
        "customer_id": customer.id if customer else None,
        "customer_external_id": customer.external_id if customer else "",
        "event_id": request.event_id,
        "max_attempts": retry["max_attempts"] if retry.get("enabled") else 1,
        "timeout_ms": config["timeout_ms"],
        "input": jsonb_safe(request.input),
        "headers": request.headers or {},
        "config": jsonb_safe(request.config) if request.config else None,
    }


def _idempotency_lookup(workflow: Workflow, request: RunRequest) -> StartedExecution | None:
    record = (
        IdempotencyRecord.objects.select_related("execution")
        .filter(
            workflow_id=workflow.id, key=request.idempotency_key, created_at__gte=timezone.now() - IDEMPOTENCY_WINDOW
        )
        .first()
    )
    if record is None:
        IdempotencyRecord.objects.filter(
            workflow_id=workflow.id, key=request.idempotency_key, created_at__lt=timezone.now() - IDEMPOTENCY_WINDOW
        ).delete()
        return None
    if record.request_hash and request.request_hash and record.request_hash != request.request_hash:
        raise IdempotencyConflict(
            "This Idempotency-Key was used with a different request body in the last 24 hours.",
            details={"execution_id": str(record.execution_id)},
        )
    return StartedExecution(record.execution, replayed=record)


def idempotency_remember(*, execution: Execution, status_code: int, body: dict):
    """Store the first response for a key, so a replay returns exactly it."""
    IdempotencyRecord.objects.filter(execution=execution, status_code__isnull=True).update(
        status_code=status_code, response=jsonb_safe(body)
    )


def _enqueue_after_commit(execution: Execution) -> None:
    try:
        enqueue_execution(execution_id=execution.id, tier=execution.tier)
        execution._enqueued = True  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - the broker is down: the relay re-queues it later
        logger.warning("Could not queue execution %s; the relay will retry", execution.id, exc_info=True)
        execution._enqueued = False  # type: ignore[attr-defined]


def enqueue_execution(*, execution_id, tier: str, countdown: float | None = None) -> None:
    """Put an execution on its tier's queue (the task claims it, so duplicates are harmless)."""
    from django.conf import settings

    from apps.workflows.tasks import run_execution

    queue = TIERS[tier].queue
    limits = settings.CELERY_QUEUE_TIME_LIMITS[queue]
    options: dict[str, Any] = {
        "queue": queue,
        # One worker may serve every queue: the tier's limits travel with the task.
        "soft_time_limit": limits["soft"],
        "time_limit": limits["hard"],
        # The task id names the execution, so worker logs can be traced back to it.
        "task_id": f"exec-{execution_id}-{uuid.uuid4().hex[:8]}",
        "retry": True,
        "retry_policy": {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2},
    }
    if countdown:
        options["countdown"] = countdown
    run_execution.apply_async(args=[str(execution_id)], **options)


def execution_fail_unqueued(*, execution: Execution, message: str) -> Execution:
    """An Instant execution whose queue was unavailable: record why it never ran."""
    now = timezone.now()
    Execution.objects.filter(pk=execution.pk, status=Execution.Status.QUEUED).update(
        status=Execution.Status.FAILED,
        finished_at=now,
        error={"message": message, "code": "queue_unavailable", "name": "Error"},
    )
    execution.refresh_from_db()
    return execution


# --- Editor operations (used by the dashboard's workflow page) ---------------------


def workflow_save_draft(
    *, actor: Principal, workflow: Workflow, expected_updated_at: datetime | None, **fields: Any
) -> Workflow:
    """`workflow_update` for an editor that loaded the draft at `expected_updated_at`.

    Someone else (a colleague, or the AI builder through the API) may have
    saved the draft meanwhile; saving over it would silently drop their
    change, so this refuses with `DraftChanged` instead. None skips the check.
    """
    with transaction.atomic():
        locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
        if expected_updated_at is not None and locked.updated_at != expected_updated_at:
            raise DraftChanged(
                f"{locked.updated_by or 'Someone'} saved this workflow after you opened it. "
                "Reload to see their changes (copy yours first), then save again.",
                details={"updated_by": locked.updated_by, "updated_at": locked.updated_at.isoformat()},
            )
        return workflow_update(actor=actor, workflow=locked, **fields)


def workflow_discard_draft(*, actor: Principal, workflow: Workflow) -> Workflow:
    """Reset the draft's code and versioned configuration to the latest published version.

    Name, description and the enabled switch are not part of a version and
    stay as they are. Nothing is written (or audited) when the draft already
    matches the version.
    """
    with transaction.atomic():
        locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
        version = WorkflowVersion.objects.filter(workflow=locked, number=locked.latest_version).first()
        if version is None:
            raise NotPublished(
                f"Workflow {locked.slug!r} has no published version to go back to: publish it first.",
            )
        config = version.config
        target = {
            "code": version.code,
            "tier": config["tier"],
            "timeout_ms": config["timeout_ms"],
            "retry_policy": config.get("retry_policy") or dict(RETRY_DEFAULTS),
            "input_schema": config.get("input_schema"),
        }
        reset = [name for name, value in target.items() if getattr(locked, name) != value]
        if not reset:
            return locked
        for name in reset:
            setattr(locked, name, target[name])
        update_fields = [*reset, "updated_by", "updated_at"]
        if "code" in reset:
            locked.edited_via = Workflow.EditedVia.MANUAL
            update_fields.append("edited_via")
        locked.updated_by = actor.label
        locked.save(update_fields=update_fields)
        audit_record(
            actor=actor,
            action="workflow.discard",
            resource_type="workflow",
            resource_id=locked.slug,
            changes={"version": version.number, "reset": reset},
        )
    return locked


def execution_wait_instant(*, execution: Execution, enqueued: bool, max_wait_s: float) -> Execution:
    """Wait for an Instant execution just started by `execution_start`; return
    the row as it stands then: finished, or still queued/running when the
    wait ran out (the caller then points at the execution instead)."""
    from apps.workflows import runner

    if not enqueued:
        return execution_fail_unqueued(execution=execution, message="The instant queue was unavailable.")
    budget = min(max_wait_s, execution.timeout_ms / 1000 * max(execution.max_attempts, 1) + 5)
    try:
        runner.execution_wait(execution_id=execution.id, timeout_s=budget)
    except Exception:  # noqa: BLE001 - Redis went away while waiting: the row still tells
        logger.warning("Waiting for execution %s failed; reading its row", execution.id, exc_info=True)
    return selectors.execution_get(execution_id=execution.id)
