"""Writes for test cases: create, update, delete, approve; run one, run all;
the deploy gate.

Usable without HTTP (the AI builder calls these directly):

    case = test_case_create(actor=..., workflow=wf, name="New contact", input={...},
                            mocks=[{"connector": "acme-crm", "action": "createContact",
                                    "response": {"id": 7}}],
                            expect={"status": "completed", "output": {"id": 7}})
    result = test_case_execute(test_case=case)             # in this process, no Celery
    result = test_case_run(actor=..., test_case=case)      # on a Standard worker, waits
    suite = test_suite_run(actor=..., workflow=wf)         # all cases in parallel, waits
    test_case_approve(actor=..., test_case=case, feedback="Looks right")

Workers run cases through `test_case_execute` (task `workflows.run_test_case`).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.principals import Principal
from apps.core.errors import InvalidInput
from apps.core.jsonsafe import jsonb_safe
from apps.core.redis import get_blocking_redis, get_redis, key
from apps.core.tenancy import current_organization
from apps.settings.models import Customer, Environment
from apps.settings.selectors import customer_get
from apps.settings.services import audit_record
from apps.workflows.exceptions import ExecutionUnavailable, TestsFailed, VersionNotFound
from apps.workflows.models import TestCase, TestCaseResult, TestSuiteRun, Workflow, WorkflowVersion
from apps.workflows.testcases import expectations
from apps.workflows.tiers import TIERS, Tier

logger = logging.getLogger(__name__)

MAX_NAME = 200
MAX_SCENARIO = 5_000
MAX_FEEDBACK = 5_000
MAX_MOCKS = 200
MAX_CASE_JSON_BYTES = 1024 * 1024
MAX_CASES_PER_WORKFLOW = 500
# A test run never holds a worker longer than an Instant run may.
TEST_CASE_TIMEOUT_CAP_MS = TIERS[Tier.INSTANT].max_timeout_ms
TEST_QUEUE = TIERS[Tier.STANDARD].queue
REPLY_TTL_SECONDS = 600
# What an approval vouches for: changing any of these withdraws it.
SUBSTANCE = ("mode", "input", "headers", "mocks", "expect", "customer", "environment")


# --- validation --------------------------------------------------------------------------


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str).encode("utf-8"))


def _validate_mocks(mocks: Any) -> list[dict]:
    if mocks is None:
        return []
    if not isinstance(mocks, list):
        raise InvalidInput.for_field("mocks", "Must be a list of {connector, action, status?, response}.")
    if len(mocks) > MAX_MOCKS:
        raise InvalidInput.for_field("mocks", f"At most {MAX_MOCKS} mocks.")
    cleaned = []
    for index, mock in enumerate(mocks):
        field = f"mocks[{index}]"
        if not isinstance(mock, dict):
            raise InvalidInput.for_field(field, "Must be an object: {connector, action, status?, response}.")
        unknown = sorted(set(mock) - {"connector", "action", "status", "response", "params"})
        if unknown:
            raise InvalidInput.for_field(f"{field}.{unknown[0]}", "Unknown field.")
        for name in ("connector", "action"):
            value = mock.get(name)
            if not isinstance(value, str) or not value.strip() or len(value) > 128:
                raise InvalidInput.for_field(f"{field}.{name}", "Must be a non-empty string (at most 128 characters).")
        status = mock.get("status", 200)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise InvalidInput.for_field(f"{field}.status", "Must be an HTTP status between 100 and 599.")
        if "params" in mock and not isinstance(mock["params"], dict):
            raise InvalidInput.for_field(f"{field}.params", "Must be an object (the parameters this mock answers).")
        item = {
            "connector": mock["connector"].strip(),
            "action": mock["action"].strip(),
            "status": status,
            "response": mock.get("response"),
        }
        if "params" in mock:
            item["params"] = mock["params"]
        cleaned.append(item)
    return cleaned


def _validate_headers(headers: Any) -> dict:
    if headers is None:
        return {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise InvalidInput.for_field("headers", "Must be an object of header names to string values.")
    return {str(k).lower(): v for k, v in headers.items()}


def _validate_text(name: str, value: Any, limit: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput.for_field(name, "Must be a string.")
    value = value.strip()
    if required and not value:
        raise InvalidInput.for_field(name, "Must not be empty.")
    if len(value) > limit:
        raise InvalidInput.for_field(name, f"May be at most {limit} characters.")
    return value


def _live_target(mode: str, customer_external_id: str | None, environment: str | None) -> tuple[Customer | None, str]:
    """(customer, environment slug) of a case: LIVE needs a test customer and a
    non-production environment; MOCK may name a customer for ctx.customer."""
    customer = None
    if customer_external_id:
        if not isinstance(customer_external_id, str):
            raise InvalidInput.for_field("customer", "Must be a customer's external_id.")
        from apps.settings.exceptions import CustomerNotFound

        try:
            customer = customer_get(external_id=customer_external_id)
        except CustomerNotFound as exc:
            raise InvalidInput.for_field("customer", f"No customer with external_id {customer_external_id!r}.") from exc
    if mode != TestCase.Mode.LIVE:
        return customer, ""
    if customer is None:
        raise InvalidInput.for_field("customer", "A live test case runs with a test customer's connections: name one.")
    if environment:
        if not isinstance(environment, str):
            raise InvalidInput.for_field("environment", "Must be an environment's slug.")
        found = Environment.objects.filter(slug=environment).first()
        if found is None:
            raise InvalidInput.for_field("environment", f"No environment named {environment!r}.")
    else:
        found = Environment.objects.filter(is_production=False).order_by("created_at").first()
        if found is None:
            raise InvalidInput.for_field("environment", "Create a non-production environment for live test cases.")
    if found.is_production:
        raise InvalidInput.for_field("environment", "Live test cases run in a non-production environment.")
    return customer, found.slug


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate the fields given (create: all of them; update: some)."""
    cleaned: dict[str, Any] = {}
    if "name" in fields:
        cleaned["name"] = _validate_text("name", fields["name"], MAX_NAME, required=True)
    if "scenario" in fields:
        cleaned["scenario"] = _validate_text("scenario", fields["scenario"] or "", MAX_SCENARIO)
    if "feedback" in fields:
        cleaned["feedback"] = _validate_text("feedback", fields["feedback"] or "", MAX_FEEDBACK)
    if "mode" in fields:
        if fields["mode"] not in TestCase.Mode.values:
            raise InvalidInput.for_field("mode", "Must be mock or live.")
        cleaned["mode"] = fields["mode"]
    if "input" in fields:
        if _json_size(fields["input"]) > MAX_CASE_JSON_BYTES:
            raise InvalidInput.for_field("input", f"May be at most {MAX_CASE_JSON_BYTES} bytes of JSON.")
        cleaned["input"] = jsonb_safe(fields["input"])
    if "headers" in fields:
        cleaned["headers"] = _validate_headers(fields["headers"])
    if "mocks" in fields:
        cleaned["mocks"] = _validate_mocks(fields["mocks"])
        if _json_size(cleaned["mocks"]) > MAX_CASE_JSON_BYTES:
            raise InvalidInput.for_field("mocks", f"May be at most {MAX_CASE_JSON_BYTES} bytes of JSON.")
        cleaned["mocks"] = jsonb_safe(cleaned["mocks"])
    if "expect" in fields:
        cleaned["expect"] = jsonb_safe(expectations.validate_expect(fields["expect"]))
    return cleaned


# --- writes ---------------------------------------------------------------------------------


def test_case_create(
    *,
    actor: Principal,
    workflow: Workflow,
    name: str,
    mode: str = TestCase.Mode.MOCK,
    scenario: str = "",
    input: Any = None,
    headers: dict | None = None,
    mocks: list | None = None,
    expect: dict | None = None,
    customer: str | None = None,
    environment: str | None = None,
) -> TestCase:
    cleaned = _clean(
        {
            "name": name,
            "mode": mode,
            "scenario": scenario,
            "input": input,
            "headers": headers,
            "mocks": mocks,
            "expect": expect,
        }
    )
    target_customer, target_environment = _live_target(cleaned["mode"], customer, environment)
    if TestCase.objects.filter(workflow=workflow).count() >= MAX_CASES_PER_WORKFLOW:
        raise InvalidInput(f"A workflow may have at most {MAX_CASES_PER_WORKFLOW} test cases.", code="too_many")
    case = TestCase.objects.create(
        workflow=workflow,
        customer=target_customer,
        environment=target_environment,
        created_by=actor.label,
        **cleaned,
    )
    audit_record(
        actor=actor,
        action="workflow.test_case.create",
        resource_type="workflow",
        resource_id=workflow.slug,
        changes={"test_case": str(case.id), "name": case.name, "mode": case.mode},
    )
    return case


def test_case_update(*, actor: Principal, test_case: TestCase, **fields: Any) -> TestCase:
    """Change a case. Changing what it runs or expects withdraws its approval
    (an approval vouches for exactly what was approved)."""
    allowed = {"name", "scenario", "mode", "input", "headers", "mocks", "expect", "customer", "environment", "feedback"}
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise InvalidInput.for_field(unknown[0], "Unknown field.")
    cleaned = _clean(fields)
    mode = cleaned.get("mode", test_case.mode)
    if {"mode", "customer", "environment"} & set(fields):
        customer_ref = fields.get("customer", test_case.customer.external_id if test_case.customer else None)
        env_ref = fields.get("environment", test_case.environment)
        cleaned["customer"], cleaned["environment"] = _live_target(mode, customer_ref, env_ref)
    changed = {name: value for name, value in cleaned.items() if getattr(test_case, name) != value}
    if not changed:
        return test_case
    withdrawn = test_case.approved and any(name in SUBSTANCE for name in changed)
    for name, value in changed.items():
        setattr(test_case, name, value)
    update_fields = [*changed, "updated_at"]
    if withdrawn:
        test_case.approved, test_case.approved_by, test_case.approved_at = False, "", None
        update_fields += ["approved", "approved_by", "approved_at"]
    test_case.save(update_fields=update_fields)
    audit_record(
        actor=actor,
        action="workflow.test_case.update",
        resource_type="workflow",
        resource_id=test_case.workflow.slug,
        changes={"test_case": str(test_case.id), "fields": sorted(changed), "approval_withdrawn": withdrawn},
    )
    return test_case


def test_case_delete(*, actor: Principal, test_case: TestCase) -> None:
    slug, case_id, name = test_case.workflow.slug, str(test_case.id), test_case.name
    with transaction.atomic():
        TestCase.objects.filter(id=test_case.id).update(last_result=None)
        test_case.delete()
    audit_record(
        actor=actor,
        action="workflow.test_case.delete",
        resource_type="workflow",
        resource_id=slug,
        changes={"test_case": case_id, "name": name},
    )


def test_case_approve(
    *, actor: Principal, test_case: TestCase, feedback: str | None = None, approved: bool = True
) -> TestCase:
    """Mark a case approved (it then gates production deploys) or withdraw the approval."""
    if feedback is not None:
        test_case.feedback = _validate_text("feedback", feedback, MAX_FEEDBACK)
    test_case.approved = approved
    test_case.approved_by = actor.label if approved else ""
    test_case.approved_at = timezone.now() if approved else None
    test_case.save(update_fields=["approved", "approved_by", "approved_at", "feedback", "updated_at"])
    audit_record(
        actor=actor,
        action="workflow.test_case.approve" if approved else "workflow.test_case.unapprove",
        resource_type="workflow",
        resource_id=test_case.workflow.slug,
        changes={"test_case": str(test_case.id), "name": test_case.name},
    )
    return test_case


# --- running ----------------------------------------------------------------------------------


def _target(workflow: Workflow, version_number: int | None) -> tuple[str, dict]:
    """(code, config) of the draft or of a published version."""
    if version_number is None:
        from apps.workflows.services import _config_of

        return workflow.code, _config_of(workflow)
    version = WorkflowVersion.objects.filter(workflow=workflow, number=version_number).first()
    if version is None:
        raise VersionNotFound(f"Workflow {workflow.slug!r} has no version {version_number}.")
    return version.code, version.config


def test_case_execute(
    *, test_case: TestCase, version_number: int | None = None, suite: TestSuiteRun | None = None
) -> TestCaseResult:
    """Run one case in this process (a worker, or a caller without Celery) and
    record its result. Nothing is written but the result."""
    from apps.workflows.host import RunContext
    from apps.workflows.runner import _customer_context, sandbox_run
    from apps.workflows.testcases.host import TestCaseHost

    workflow = test_case.workflow
    code, config = _target(workflow, version_number)
    customer = test_case.customer
    environment = test_case.environment or "test"
    ctx = {
        "input": test_case.input,
        "headers": test_case.headers or {},
        "config": {},
        "customer": _customer_context(customer),
        "execution": {
            "id": None,
            "attempt": 1,
            "tier": config.get("tier", workflow.tier),
            "version": version_number,
            "environment": environment,
            "triggered_by": "manual",
            "test": True,
            "test_case": str(test_case.id),
        },
    }
    context = RunContext(current_organization(), workflow.id, customer, None)
    host = TestCaseHost(context, mode=test_case.mode, mocks=test_case.mocks or [])
    timeout_ms = min(int(config.get("timeout_ms") or workflow.timeout_ms), TEST_CASE_TIMEOUT_CAP_MS)
    result, _, steps = sandbox_run(code=code, ctx=ctx, context=context, timeout_ms=timeout_ms, host=host)
    outcome = {
        "status": result.status,
        "output": result.output if result.status == "completed" else None,
        "error": result.error,
        "logs": result.logs,
        "logs_truncated": result.logs_truncated,
        "duration_ms": round(result.duration_ms, 3),
        "steps": steps,
        "version": version_number,
    }
    failures = expectations.evaluate(
        expect=test_case.expect or {}, outcome=outcome, input=test_case.input, unmocked=host.unmocked
    )
    return _record_result(
        test_case=test_case, suite=suite, version_number=version_number, outcome=outcome, failures=failures
    )


def _record_result(
    *, test_case: TestCase, suite: TestSuiteRun | None, version_number: int | None, outcome: dict, failures: list
) -> TestCaseResult:
    with transaction.atomic():
        row = TestCaseResult.objects.create(
            test_case=test_case,
            suite=suite,
            version_number=version_number,
            mode=test_case.mode,
            passed=not failures,
            failures=failures,
            execution=jsonb_safe(outcome),
        )
        TestCase.objects.filter(id=test_case.id).update(last_result=row)
        if suite is not None:
            _suite_count(suite_id=suite.id, passed=not failures)
    test_case.last_result = row
    return row


def _suite_count(*, suite_id: Any, passed: bool) -> None:
    counter = "passed" if passed else "failed"
    TestSuiteRun.objects.filter(id=suite_id).update(**{counter: F(counter) + 1})
    now = timezone.now()
    done = TestSuiteRun.objects.filter(
        id=suite_id, status=TestSuiteRun.Status.RUNNING, total__lte=F("passed") + F("failed")
    )
    done.filter(failed=0).update(status=TestSuiteRun.Status.PASSED, finished_at=now)
    done.update(status=TestSuiteRun.Status.FAILED, finished_at=now)


def _reply(reply_to: str | None, message: dict) -> None:
    if not reply_to:
        return
    try:
        redis = get_redis()
        pipe = redis.pipeline(transaction=False)
        pipe.rpush(reply_to, json.dumps(message, default=str))
        pipe.expire(reply_to, REPLY_TTL_SECONDS)
        pipe.execute()
    except Exception:  # noqa: BLE001 - the waiter reads the rows instead
        logger.warning("Could not announce a test-case result to %s", reply_to, exc_info=True)


def test_case_execute_queued(*, case_id: Any, suite_id: Any, version_number: int | None, reply_to: str | None) -> None:
    """The worker side: run a case queued by `test_case_run` or a suite, then tell the waiter."""
    case = TestCase.objects.select_related("workflow", "customer").filter(id=case_id).first()
    suite = TestSuiteRun.objects.filter(id=suite_id).first() if suite_id else None
    if case is None:
        # Deleted after it was queued: it counts as failed in its suite.
        if suite is not None:
            _suite_count(suite_id=suite.id, passed=False)
        _reply(reply_to, {"case": str(case_id), "result": None})
        return
    try:
        row = test_case_execute(test_case=case, version_number=version_number, suite=suite)
    except Exception as exc:  # noqa: BLE001 - recorded as the case's failure, never lost
        logger.exception("Test case %s could not run", case_id)
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        row = _record_result(
            test_case=case,
            suite=suite,
            version_number=version_number,
            outcome={"status": "failed", "error": {"message": message, "code": "test_error"}, "steps": []},
            failures=[f"The test could not run: {message}"],
        )
    _reply(reply_to, {"case": str(case_id), "result": str(row.id)})


def _enqueue(case_id: Any, suite_id: Any, version_number: int | None, reply_to: str) -> None:
    from apps.workflows.tasks import run_test_case

    run_test_case.apply_async(
        args=[str(case_id), str(suite_id) if suite_id else None, version_number, reply_to],
        queue=TEST_QUEUE,
        retry=False,
    )


def test_case_run(
    *, actor: Principal, test_case: TestCase, version_number: int | None = None, wait_s: float = 140.0
) -> TestCaseResult:
    """Run one case on a Standard worker and wait for its result."""
    _target(test_case.workflow, version_number)  # 404 for an unknown version, before queueing
    reply_to = key("test-case", uuid.uuid4().hex)
    try:
        _enqueue(test_case.id, None, version_number, reply_to)
        reply = get_blocking_redis().blpop([reply_to], timeout=wait_s)
    except Exception as exc:  # noqa: BLE001 - Redis or the broker is down
        raise ExecutionUnavailable() from exc
    if reply is None:
        from apps.workflows.exceptions import WaitTimeout

        raise WaitTimeout("The test case did not finish in time; is a standard worker running?")
    message = json.loads(reply[1])
    row = TestCaseResult.objects.filter(id=message.get("result")).first()
    if row is None:
        raise ExecutionUnavailable("The test case was deleted while it ran.")
    audit_record(
        actor=actor,
        action="workflow.test_case.run",
        resource_type="workflow",
        resource_id=test_case.workflow.slug,
        changes={"test_case": str(test_case.id), "passed": row.passed, "version": version_number},
    )
    return row


def test_suite_start(
    *,
    actor: Principal,
    workflow: Workflow,
    version_number: int | None = None,
    purpose: str = TestSuiteRun.Purpose.MANUAL,
    environment: str = "",
    approved_only: bool = False,
) -> TestSuiteRun:
    """Queue every case (or the approved ones) on the Standard queue, in
    parallel, once the suite row is committed. Progress: the suite's counters."""
    _target(workflow, version_number)
    cases = TestCase.objects.filter(workflow=workflow)
    if approved_only:
        cases = cases.filter(approved=True)
    case_ids = list(cases.order_by("created_at", "id").values_list("id", flat=True))
    now = timezone.now()
    suite = TestSuiteRun.objects.create(
        workflow=workflow,
        version_number=version_number,
        purpose=purpose,
        environment=environment,
        total=len(case_ids),
        created_by=actor.label,
        status=TestSuiteRun.Status.RUNNING if case_ids else TestSuiteRun.Status.PASSED,
        finished_at=None if case_ids else now,
    )
    reply_to = suite_reply_key(suite.id)

    def enqueue_all() -> None:
        try:
            for case_id in case_ids:
                _enqueue(case_id, suite.id, version_number, reply_to)
        except Exception:  # noqa: BLE001 - the broker is down: the suite fails rather than hang
            logger.warning("Could not queue suite %s", suite.id, exc_info=True)
            TestSuiteRun.objects.filter(id=suite.id, status=TestSuiteRun.Status.RUNNING).update(
                status=TestSuiteRun.Status.FAILED, finished_at=timezone.now()
            )

    if case_ids:
        transaction.on_commit(enqueue_all)
    audit_record(
        actor=actor,
        action="workflow.test_suite.run",
        resource_type="workflow",
        resource_id=workflow.slug,
        changes={"suite": str(suite.id), "cases": len(case_ids), "version": version_number, "purpose": purpose},
    )
    return suite


def suite_reply_key(suite_id: Any) -> str:
    return key("test-suite", suite_id)


def test_suite_wait(*, suite: TestSuiteRun, timeout_s: float) -> TestSuiteRun:
    """Wait until every case of the suite reported (or `timeout_s` passed); the suite as it stands then."""
    deadline = time.monotonic() + timeout_s
    seen = 0
    redis = get_blocking_redis()
    while seen < suite.total:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            reply = redis.blpop([suite_reply_key(suite.id)], timeout=min(left, 2.0))
        except Exception:  # noqa: BLE001 - fall back to reading the row
            time.sleep(0.2)
            reply = None
        if reply is not None:
            seen += 1
            continue
        suite.refresh_from_db()
        if suite.status != TestSuiteRun.Status.RUNNING:
            break
    suite.refresh_from_db()
    return suite


def test_suite_run(
    *,
    actor: Principal,
    workflow: Workflow,
    version_number: int | None = None,
    approved_only: bool = False,
    wait_s: float = 140.0,
) -> TestSuiteRun:
    """`test_suite_start` then `test_suite_wait` (the API's "run all")."""
    suite = test_suite_start(actor=actor, workflow=workflow, version_number=version_number, approved_only=approved_only)
    return test_suite_wait(suite=suite, timeout_s=wait_s)


GATE_WAIT_SECONDS = TEST_CASE_TIMEOUT_CAP_MS / 1000 + 15


def deploy_gate(
    *, actor: Principal, workflow: Workflow, version: WorkflowVersion, environment: Environment
) -> TestSuiteRun:
    """Run the approved cases against `version`; raise `TestsFailed` (409)
    unless every one passes. A workflow that requires passing tests but has
    no approved case cannot be deployed to production: there is nothing to trust."""
    suite = test_suite_start(
        actor=actor,
        workflow=workflow,
        version_number=version.number,
        purpose=TestSuiteRun.Purpose.DEPLOY_GATE,
        environment=environment.slug,
        approved_only=True,
    )
    if suite.total == 0:
        TestSuiteRun.objects.filter(id=suite.id).update(status=TestSuiteRun.Status.FAILED)
        suite.status = TestSuiteRun.Status.FAILED
        _gate_refused(actor, workflow, version, environment, suite, [])
        raise TestsFailed(
            f"{workflow.slug} requires passing tests, and no test case is approved: approve at least one, "
            f"then deploy v{version.number} to {environment.slug}.",
            details={"suite": str(suite.id), "version": version.number, "total": 0, "failed": []},
        )
    suite = test_suite_wait(suite=suite, timeout_s=GATE_WAIT_SECONDS)
    if suite.status == TestSuiteRun.Status.PASSED:
        return suite
    if suite.status == TestSuiteRun.Status.RUNNING:
        TestSuiteRun.objects.filter(id=suite.id, status=TestSuiteRun.Status.RUNNING).update(
            status=TestSuiteRun.Status.FAILED, finished_at=timezone.now()
        )
        suite.refresh_from_db()
    failed = gate_failures(suite=suite)
    _gate_refused(actor, workflow, version, environment, suite, failed)
    names = ", ".join(item["name"] for item in failed[:5]) or "cases that did not finish"
    raise TestsFailed(
        f"Not deployed: {len(failed)} of {suite.total} approved test cases failed against v{version.number} ({names}).",
        details={"suite": str(suite.id), "version": version.number, "total": suite.total, "failed": failed},
    )


def gate_failures(*, suite: TestSuiteRun) -> list[dict]:
    """The approved cases that did not pass in a suite (failed, or with no result)."""
    results = {r.test_case_id: r for r in TestCaseResult.objects.filter(suite=suite)}
    failed = []
    for case in TestCase.objects.filter(workflow_id=suite.workflow_id, approved=True).order_by("created_at", "id"):
        result = results.get(case.id)
        if result is not None and result.passed:
            continue
        failed.append(
            {
                "id": str(case.id),
                "name": case.name,
                "failures": result.failures if result is not None else ["Did not finish in time."],
            }
        )
    return failed


def _gate_refused(actor, workflow, version, environment, suite, failed) -> None:
    audit_record(
        actor=actor,
        action="workflow.deploy",
        resource_type="workflow",
        resource_id=workflow.slug,
        outcome="denied",
        changes={
            "environment": environment.slug,
            "version": version.number,
            "gate": str(suite.id),
            "failed": [item["name"] for item in failed],
        },
    )
