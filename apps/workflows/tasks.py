"""Celery tasks of workflows. Thin: each takes ids and calls the runner.

They run in the schema of the organization that queued them
(tenant-schemas-celery). `run_execution` is queued on the execution's tier
queue; periodic ones fan out over organizations.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import close_old_connections

from apps.core.models import Organization
from apps.core.tenancy import current_organization, organization_context
from apps.workflows import runner

logger = logging.getLogger(__name__)


@shared_task(name="workflows.run_execution", ignore_result=True, acks_late=True)
def run_execution(execution_id: str) -> None:
    # Connections are reused across tasks (CELERY_DB_REUSE_MAX): drop one that
    # went bad or grew old, as Django does at the start of a request.
    close_old_connections()
    if current_organization() is None:
        # The organization is gone (deleted after queueing): nothing to run.
        logger.warning("Dropping execution %s: its organization no longer exists", execution_id)
        return
    runner.execution_run(execution_id=execution_id)


@shared_task(name="workflows.draft_run", acks_late=False)
def draft_run(
    workflow_id: str,
    code: str,
    timeout_ms: int,
    input,
    headers: dict,
    customer_id: str | None,
    reply_to: str,
    config: dict | None = None,
):
    """Run a draft for the Test tab and push the outcome to `reply_to`."""
    import json

    from apps.core.redis import get_redis

    outcome = runner.draft_run(
        workflow_id=workflow_id,
        code=code,
        timeout_ms=timeout_ms,
        input=input,
        headers=headers,
        customer_id=customer_id,
        config=config,
    )
    redis = get_redis()
    pipe = redis.pipeline(transaction=False)
    pipe.rpush(reply_to, json.dumps(outcome, default=str))
    pipe.expire(reply_to, runner.DONE_TTL_SECONDS)
    pipe.execute()


@shared_task(name="workflows.run_test_case", ignore_result=True, acks_late=False)
def run_test_case(case_id: str, suite_id: str | None, version_number: int | None, reply_to: str | None) -> None:
    """Run one test case (alone, or as part of a suite) and tell the waiter."""
    from apps.workflows.testcases.services import test_case_execute_queued

    close_old_connections()
    if current_organization() is None:
        logger.warning("Dropping test case %s: its organization no longer exists", case_id)
        return
    test_case_execute_queued(case_id=case_id, suite_id=suite_id, version_number=version_number, reply_to=reply_to)


@shared_task(name="workflows.reap_executions", ignore_result=True)
def reap_executions() -> None:
    """Organizations with unfinished executions that could be lost or stranded by now
    (apps.core.ticks): recover executions whose worker was lost, re-queue stranded ones."""
    from apps.core.ticks import tick_visit

    tick_visit(kind="reap", work=runner.executions_reap, next_due=runner.reap_next_due, label="Reaper")


@shared_task(name="workflows.clean_state", ignore_result=True)
def clean_state() -> None:
    """Every organization: delete expired state entries and old idempotency records."""
    from apps.workflows.maintenance import executions_delete_old, idempotency_delete_old, state_delete_expired

    for organization in Organization.objects.filter(is_template=False).only("id", "schema_name", "slug"):
        try:
            with organization_context(organization):
                state_delete_expired()
                idempotency_delete_old()
                executions_delete_old()
        except Exception:  # noqa: BLE001
            logger.exception("Cleaning workflow data of %s failed", organization.slug)


@shared_task(name="workflows.measure_storage", ignore_result=True)
def measure_storage() -> None:
    """Every organization: set the storage quota levels from what state and fastn.db hold."""
    from apps.workflows.storage import storage_reconcile

    for organization in Organization.objects.filter(is_template=False).only("id", "schema_name", "slug", "timezone"):
        try:
            with organization_context(organization):
                storage_reconcile(organization=organization)
        except Exception:  # noqa: BLE001
            logger.exception("Measuring storage of %s failed", organization.slug)
