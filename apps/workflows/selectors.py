"""Reads for workflows, versions, deployments and executions."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT

from apps.core.pagination import Page, after_cursor, cursor_at, paginate_newest_first
from apps.settings.models import Environment
from apps.workflows.exceptions import ExecutionNotFound, WorkflowNotFound
from apps.workflows.models import Deployment, Execution, Workflow, WorkflowVersion


def workflow_get(*, slug: str) -> Workflow:
    workflow = Workflow.objects.filter(slug=slug).first()
    if workflow is None:
        raise WorkflowNotFound(f"No workflow with the slug {slug!r}.")
    return workflow


def workflow_for(*, principal, slug: str, action: str = "view") -> Workflow:
    """The workflow, when `principal` may see it (else 404, as if it did not
    exist) and may `action` on it (else 403, audited) — object permissions of
    narrowed roles included."""
    from apps.accounts.access import principal_can_object, principal_require_object

    workflow = workflow_get(slug=slug)
    if not principal_can_object(principal, "workflows", "view", workflow):
        raise WorkflowNotFound(f"No workflow with the slug {slug!r}.")
    if action != "view":
        principal_require_object(principal, "workflows", action, workflow)
    return workflow


def workflow_slugs_visible(*, principal) -> list[str] | None:
    """Slugs a narrowed role may see, or None when the role sees every workflow."""
    from apps.accounts.access import _narrowed, principal_filter_queryset

    if not _narrowed(principal, "workflows"):
        return None
    return list(
        principal_filter_queryset(principal, "workflows", "view", Workflow.objects.all()).values_list("slug", flat=True)
    )


def workflow_list(*, tier: str = "", search: str = "", enabled: bool | None = None) -> QuerySet[Workflow]:
    queryset = Workflow.objects.all()
    if tier:
        queryset = queryset.filter(tier=tier)
    if search:
        queryset = queryset.filter(name__icontains=search) | queryset.filter(slug__icontains=search)
    if enabled is not None:
        queryset = queryset.filter(enabled=enabled)
    return queryset.order_by("-updated_at", "-id")


def version_list(*, workflow: Workflow) -> list[WorkflowVersion]:
    return list(WorkflowVersion.objects.filter(workflow=workflow).order_by("-number"))


def current_deployment(*, workflow: Workflow, environment: Environment) -> Deployment | None:
    return (
        Deployment.objects.select_related("version")
        .filter(workflow=workflow, environment=environment)
        .order_by("-deployed_at")
        .first()
    )


def deployments_by_environment(*, workflow: Workflow) -> dict[str, int]:
    """{environment slug: deployed version number}, one query."""
    rows = (
        Deployment.objects.filter(workflow=workflow)
        .order_by("environment__slug", "-deployed_at")
        .distinct("environment__slug")
        .values_list("environment__slug", "version__number")
    )
    return dict(rows)


def run_target(*, principal, slug: str, environment_slug: str) -> tuple[Workflow, WorkflowVersion | None]:
    """The workflow and the version deployed to an environment, in one query
    on the hot path (falling back to separate reads to tell 404 from 409)."""
    with connection.cursor() as cursor:
        cursor.execute(RUN_TARGET_SQL, [slug, environment_slug])
        row = cursor.fetchone()
    if row is None:
        return workflow_for(principal=principal, slug=slug, action="run"), None
    from apps.accounts.access import principal_can_object, principal_require_object

    workflow_id, name, enabled, tier, timeout_ms, version_id, number, config = row
    workflow = Workflow(id=workflow_id, slug=slug, name=name, enabled=enabled, tier=tier, timeout_ms=timeout_ms)
    workflow._state.adding, workflow._state.db = False, "default"
    version = WorkflowVersion(
        id=version_id,
        workflow_id=workflow_id,
        number=number,
        config=json.loads(config) if isinstance(config, str) else config,
    )
    version._state.adding, version._state.db = False, "default"
    if not principal_can_object(principal, "workflows", "view", workflow):
        raise WorkflowNotFound(f"No workflow with the slug {slug!r}.")
    principal_require_object(principal, "workflows", "run", workflow)
    return workflow, version


# The hot path of every run: the workflow and its deployed version, one plain
# query (the ORM's compile step costs more than the query itself here).
RUN_TARGET_SQL = """
SELECT w.id, w.name, w.enabled, w.tier, w.timeout_ms, v.id, v.number, v.config
  FROM workflows_deployment d
  JOIN workflows_workflow w ON w.id = d.workflow_id
  JOIN settings_environment e ON e.id = d.environment_id
  JOIN workflows_workflowversion v ON v.id = d.version_id
 WHERE w.slug = %s AND e.slug = %s
 ORDER BY d.deployed_at DESC
 LIMIT 1
"""


def deployed_version(*, workflow_id, environment_slug: str) -> WorkflowVersion | None:
    """The version that runs in an environment (the newest deployment), one query."""
    deployment = (
        Deployment.objects.select_related("version")
        .filter(workflow_id=workflow_id, environment__slug=environment_slug)
        .only("version__id", "version__number", "version__config", "deployed_at")
        .order_by("-deployed_at")
        .first()
    )
    return deployment.version if deployment else None


def execution_get(*, execution_id: Any) -> Execution:
    try:
        parsed = uuid.UUID(str(execution_id))
    except ValueError:
        parsed = None
    execution = Execution.objects.filter(id=parsed).first() if parsed else None
    if execution is None:
        raise ExecutionNotFound("No execution with this id.")
    return execution


LIST_FIELDS = (
    "id",
    "workflow_slug",
    "version_number",
    "environment",
    "tier",
    "status",
    "attempts",
    "triggered_by",
    "customer_external_id",
    "created_at",
    "started_at",
    "finished_at",
    "duration_ms",
)


def execution_page(
    *,
    cursor: str | None,
    limit: int,
    workflow: str = "",
    status: str = "",
    tier: str = "",
    customer: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    workflow_slugs: list[str] | None = None,
) -> Page:
    """Executions newest first.

    Each filter alone, and workflow + status together, has an index that
    starts with it (`created_at`, `id` after), so a page reads about `limit`
    index entries however many rows there are. Any other combination reads
    at most FASTN_EXECUTION_LIST_SCAN_ROWS entries of the index of its most
    selective filter: when they hold fewer than a page of matches, the page
    is what they held (maybe nothing) with a cursor where the scan stopped,
    so a rare combination costs a bounded scan per page instead of a walk
    through the whole table. `workflow_slugs` limits the list to those
    workflows (narrowed roles).
    """
    equal = {
        "workflow_slug": workflow,
        "status": status,
        "tier": tier,
        "customer_external_id": customer,
    }
    equal = {name: value for name, value in equal.items() if value}
    base = Execution.objects.all()
    if since:
        base = base.filter(created_at__gte=since)
    if until:
        base = base.filter(created_at__lt=until)
    indexed = set(equal) in INDEXED_COMBINATIONS and workflow_slugs is None
    if indexed:
        return paginate_newest_first(base.filter(**equal).only(*LIST_FIELDS), cursor=cursor, limit=limit)
    # The leading filter: the one with an index, most selective first.
    lead = next((name for name in SCAN_LEAD_ORDER if name in equal), None)
    scanned = base.filter(**{lead: equal.pop(lead)}) if lead else base
    scanned = after_cursor(scanned.order_by("-created_at", "-pk"), cursor)
    budget = settings.FASTN_EXECUTION_LIST_SCAN_ROWS
    window = scanned.values("pk")[:budget]
    rest = Execution.objects.filter(pk__in=window, **equal)
    if workflow_slugs is not None:
        rest = rest.filter(workflow_slug__in=workflow_slugs)
    rows = list(rest.only(*LIST_FIELDS).order_by("-created_at", "-pk")[: limit + 1])
    if len(rows) > limit:
        last = rows[limit - 1]
        return Page(rows[:limit], cursor_at(last.created_at, last.pk))
    edge = scanned.values_list("created_at", "pk")[budget - 1 : budget]
    edge = list(edge)
    if not edge:
        return Page(rows, None)  # the scan reached the end: nothing more matches
    return Page(rows, cursor_at(*edge[0]))


# Filter sets answered by one index (models.Execution.Meta.indexes).
INDEXED_COMBINATIONS = [
    set(),
    {"workflow_slug"},
    {"status"},
    {"tier"},
    {"customer_external_id"},
    {"workflow_slug", "status"},
]
SCAN_LEAD_ORDER = ("customer_external_id", "workflow_slug", "status", "tier")


# --- Reads for the dashboard's pages -----------------------------------------------------


def version_get(*, workflow: Workflow, number: int) -> WorkflowVersion:
    from apps.workflows.exceptions import VersionNotFound

    version = WorkflowVersion.objects.filter(workflow=workflow, number=number).first()
    if version is None:
        raise VersionNotFound(f"Workflow {workflow.slug!r} has no version {number}.")
    return version


def current_deployments(*, workflow: Workflow) -> list[Deployment]:
    """What runs in each environment: the newest deployment per environment, one query."""
    return list(
        Deployment.objects.filter(workflow=workflow)
        .select_related("version", "environment")
        .order_by("environment__slug", "-deployed_at")
        .distinct("environment__slug")
    )


def deployments_for_workflows(*, workflow_ids: list) -> dict[Any, dict[str, int]]:
    """{workflow id: {environment slug: deployed version number}} for a page of workflows, one query."""
    rows = (
        Deployment.objects.filter(workflow_id__in=workflow_ids)
        .order_by("workflow_id", "environment__slug", "-deployed_at")
        .distinct("workflow_id", "environment__slug")
        .values_list("workflow_id", "environment__slug", "version__number")
    )
    out: dict[Any, dict[str, int]] = {}
    for workflow_id, environment, number in rows:
        out.setdefault(workflow_id, {})[environment] = number
    return out


def draft_matches_latest(*, workflow: Workflow) -> bool | None:
    """Whether the draft's code and configuration equal the latest version's
    (None when nothing was published yet)."""
    from apps.workflows.services import _config_of

    if not workflow.latest_version:
        return None
    latest = (
        WorkflowVersion.objects.filter(workflow=workflow, number=workflow.latest_version)
        .values("code", "config")
        .first()
    )
    if latest is None:
        return None
    return latest["code"] == workflow.code and latest["config"] == _config_of(workflow)


def workflow_counts_by_tier() -> dict[str, int]:
    return dict(Workflow.objects.order_by().values_list("tier").annotate(n=Count("id")).values_list("tier", "n"))


def workflow_choices(*, limit: int = 500) -> list[tuple[str, str]]:
    """(slug, name) of the organization's workflows for filter menus, by name."""
    return list(Workflow.objects.order_by("name", "slug").values_list("slug", "name")[:limit])


def execution_attempts(*, execution: Execution) -> list:
    return list(execution.attempt_rows.order_by("number"))


def execution_statuses(*, execution_ids: list) -> dict[Any, str]:
    """The current status of each execution, by id (absent ids are left out)."""
    return dict(Execution.objects.filter(id__in=execution_ids).values_list("id", "status"))


# --- A customer's runs (the end-user API, apps.widgets) -------------------------------------

# What a run reports as "records processed": its output's `records_processed`
# when that is a number, else the length of the output when it is a list,
# else of its `records`, `items`, `results` or `data` list, else 0 — bounded
# to [0, 10^12] so that one odd output cannot dominate a sum.
RECORDS_SQL = """GREATEST(0, LEAST(1000000000000, CASE
    WHEN jsonb_typeof("workflows_execution"."output" -> 'records_processed') = 'number'
        THEN FLOOR(("workflows_execution"."output" ->> 'records_processed')::numeric)
    WHEN jsonb_typeof("workflows_execution"."output") = 'array'
        THEN jsonb_array_length("workflows_execution"."output")
    WHEN jsonb_typeof("workflows_execution"."output" -> 'records') = 'array'
        THEN jsonb_array_length("workflows_execution"."output" -> 'records')
    WHEN jsonb_typeof("workflows_execution"."output" -> 'items') = 'array'
        THEN jsonb_array_length("workflows_execution"."output" -> 'items')
    WHEN jsonb_typeof("workflows_execution"."output" -> 'results') = 'array'
        THEN jsonb_array_length("workflows_execution"."output" -> 'results')
    WHEN jsonb_typeof("workflows_execution"."output" -> 'data') = 'array'
        THEN jsonb_array_length("workflows_execution"."output" -> 'data')
    ELSE 0 END))::bigint"""


def execution_list_for_customer(
    *, customer_external_id: str, workflow_slugs: list[str] | None = None, status: str = ""
) -> QuerySet[Execution]:
    """One customer's executions (the `execution_customer` index), with
    `error_message` (the error's message, never its stack) and `records`
    (RECORDS_SQL) computed in the database: neither input, output nor logs
    are loaded."""
    queryset = Execution.objects.only(*LIST_FIELDS).filter(customer_external_id=customer_external_id)
    if workflow_slugs is not None:
        queryset = queryset.filter(workflow_slug__in=workflow_slugs)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.annotate(error_message=KT("error__message"), records=RawSQL(RECORDS_SQL, []))  # noqa: S611 - constant SQL


def execution_day_figures(*, customer_external_id: str, workflow_slugs: list[str], since: datetime) -> dict[str, int]:
    """Runs since `since`, the records their completed ones processed, and how many failed (one query)."""
    if not workflow_slugs:
        return {"runs": 0, "records": 0, "failed": 0}
    figures = Execution.objects.filter(
        customer_external_id=customer_external_id, workflow_slug__in=workflow_slugs, created_at__gte=since
    ).aggregate(
        runs=Count("id"),
        records=Sum(RawSQL(RECORDS_SQL, []), filter=Q(status=Execution.Status.COMPLETED)),  # noqa: S611 - constant
        failed=Count("id", filter=Q(status__in=[Execution.Status.FAILED, Execution.Status.TIMEOUT])),
    )
    return {"runs": figures["runs"] or 0, "records": int(figures["records"] or 0), "failed": figures["failed"] or 0}


def executions_latest_by_workflow(
    *, customer_external_id: str, workflow_slugs: list[str], since: datetime
) -> list[Execution]:
    """The newest execution of each workflow for one customer (since `since`)."""
    if not workflow_slugs:
        return []
    return list(
        execution_list_for_customer(customer_external_id=customer_external_id, workflow_slugs=workflow_slugs)
        .filter(created_at__gte=since)
        .order_by("workflow_slug", "-created_at", "-id")
        .distinct("workflow_slug")
    )
