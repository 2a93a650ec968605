"""Workflows API: drafts, test runs, publish, deploy, run, executions."""

from __future__ import annotations

import hashlib
import json
import time
import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.accounts.permissions import require_permission
from apps.accounts.roles import Resource
from apps.core.api import TenantAPIView, choice_param, time_param, validated
from apps.core.errors import InvalidInput
from apps.core.headers import request_headers, strip_credentials
from apps.core.pagination import page_body, parse_limit
from apps.core.redis import get_blocking_redis, key
from apps.core.serializers import (
    JSONObjectField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictSerializer,
)
from apps.workflows import runner, selectors, services
from apps.workflows.exceptions import ExecutionUnavailable, WaitTimeout
from apps.workflows.models import Execution, Workflow
from apps.workflows.tiers import TIERS, Tier

MAX_WAIT_SECONDS = 140.0
TIER_MESSAGE = "Must be instant, standard or long."
TEST_TIMEOUT_CAP_MS = TIERS[Tier.INSTANT].max_timeout_ms


# --- representations ------------------------------------------------------------------


class VersionOut(serializers.Serializer):
    version = serializers.IntegerField(source="number")
    content_hash = serializers.CharField()
    note = serializers.CharField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    tier = serializers.CharField(source="config.tier")
    timeout_ms = serializers.IntegerField(source="config.timeout_ms")


class VersionDetailOut(VersionOut):
    code = serializers.CharField()
    config = serializers.JSONField()


class WorkflowOut(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    code = serializers.CharField()
    code_bytes = serializers.IntegerField()
    tier = serializers.CharField()
    timeout_ms = serializers.IntegerField()
    enabled = serializers.BooleanField()
    status = serializers.SerializerMethodField()
    retry_policy = serializers.JSONField()
    input_schema = serializers.JSONField(allow_null=True)
    edited_via = serializers.CharField()
    require_passing_tests = serializers.BooleanField()
    latest_version = serializers.IntegerField()
    versions = serializers.SerializerMethodField()
    deployments = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    updated_by = serializers.CharField()

    def get_status(self, workflow: Workflow) -> str:
        return "active" if workflow.enabled else "inactive"

    def get_versions(self, workflow: Workflow) -> list:
        return VersionOut(selectors.version_list(workflow=workflow), many=True).data

    def get_deployments(self, workflow: Workflow) -> dict:
        return selectors.deployments_by_environment(workflow=workflow)


class WorkflowSummaryOut(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    tier = serializers.CharField()
    timeout_ms = serializers.IntegerField()
    enabled = serializers.BooleanField()
    latest_version = serializers.IntegerField()
    edited_via = serializers.CharField()
    code_bytes = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class DeploymentOut(serializers.Serializer):
    id = serializers.UUIDField()
    workflow = serializers.CharField(source="workflow.slug")
    environment = serializers.CharField(source="environment.slug")
    version = serializers.IntegerField(source="version.number")
    deployed_by = serializers.CharField()
    deployed_at = serializers.DateTimeField()
    gate = serializers.SerializerMethodField()

    def get_gate(self, deployment) -> dict | None:
        """The test-case gate this deploy passed (require_passing_tests), or None."""
        gate = deployment.gate
        if gate is None:
            return None
        return {"id": str(gate.id), "status": gate.status, "total": gate.total, "passed": gate.passed}


class ExecutionSummaryOut(serializers.Serializer):
    id = serializers.UUIDField()
    workflow = serializers.CharField(source="workflow_slug")
    version = serializers.IntegerField(source="version_number")
    environment = serializers.CharField()
    tier = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    triggered_by = serializers.CharField()
    customer = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_ms = serializers.FloatField(allow_null=True)

    def get_customer(self, execution: Execution) -> str | None:
        return execution.customer_external_id or None


class ExecutionOut(ExecutionSummaryOut):
    input = serializers.JSONField()
    config = serializers.SerializerMethodField(help_text="ctx.config of the run (a template activation's settings)")
    output = serializers.JSONField()
    error = serializers.JSONField()
    logs = serializers.JSONField()
    logs_truncated = serializers.BooleanField()
    steps = serializers.JSONField()
    max_attempts = serializers.IntegerField()
    timeout_ms = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    event_id = serializers.UUIDField(allow_null=True)
    attempt_history = serializers.SerializerMethodField()

    def get_config(self, execution: Execution) -> dict:
        return execution.config or {}

    def get_attempt_history(self, execution: Execution) -> list:
        return [
            {
                "attempt": a.number,
                "status": a.status,
                "started_at": a.started_at,
                "finished_at": a.finished_at,
                "duration_ms": a.duration_ms,
                "error": a.error,
            }
            for a in execution.attempt_rows.all()
        ]


# --- inputs -----------------------------------------------------------------------------


class RetryPolicyIn(StrictSerializer):
    enabled = StrictBooleanField(required=False)
    max_attempts = StrictIntegerField(required=False)
    initial_interval_ms = StrictIntegerField(required=False)
    backoff_coefficient = serializers.FloatField(required=False)
    max_interval_ms = StrictIntegerField(required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict) and isinstance(data.get("backoff_coefficient"), (bool, str)):
            raise serializers.ValidationError({"backoff_coefficient": ["Must be a number."]})
        return super().to_internal_value(data)


class WorkflowCreateIn(StrictSerializer):
    name = StrictCharField(max_length=200)
    slug = StrictCharField(max_length=100, required=False)
    description = StrictCharField(required=False, allow_blank=True, default="")
    code = StrictCharField(trim_whitespace=False)
    tier = StrictChoiceField(choices=Tier.values, required=False, default=Tier.STANDARD)
    timeout_ms = StrictIntegerField(required=False, allow_null=True, default=None)
    enabled = StrictBooleanField(required=False, default=True)
    retry_policy = RetryPolicyIn(required=False, allow_null=True, default=None)
    input_schema = JSONObjectField(required=False, allow_null=True, default=None)
    edited_via = StrictChoiceField(choices=Workflow.EditedVia.values, required=False, default="manual")
    require_passing_tests = StrictBooleanField(required=False, default=False)


class WorkflowUpdateIn(StrictSerializer):
    name = StrictCharField(max_length=200, required=False)
    description = StrictCharField(required=False, allow_blank=True)
    code = StrictCharField(trim_whitespace=False, required=False)
    tier = StrictChoiceField(choices=Tier.values, required=False)
    timeout_ms = StrictIntegerField(required=False)
    enabled = StrictBooleanField(required=False)
    retry_policy = RetryPolicyIn(required=False)
    input_schema = JSONObjectField(required=False, allow_null=True)
    edited_via = StrictChoiceField(choices=Workflow.EditedVia.values, required=False)
    require_passing_tests = StrictBooleanField(required=False)


class TestRunIn(StrictSerializer):
    input = serializers.JSONField(required=False, default=dict)
    headers = JSONObjectField(required=False, default=dict)
    code = StrictCharField(trim_whitespace=False, required=False)
    customer = StrictCharField(max_length=255, required=False)
    # ctx.config, as a template's activation would give it.
    config = JSONObjectField(required=False, default=dict)


class PublishIn(StrictSerializer):
    note = StrictCharField(max_length=500, required=False, allow_blank=True, default="")


class DeployIn(StrictSerializer):
    version = StrictIntegerField(min_value=1)
    environment = StrictCharField(max_length=50, required=False, default="production")


def _body_or_empty(request) -> dict:
    data = request.data
    if data in (None, "") or (hasattr(data, "keys") and not isinstance(data, dict) and not data):
        return {}
    return data


# --- workflows ---------------------------------------------------------------------------


class WorkflowListView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    @extend_schema(
        summary="List workflows",
        parameters=[
            OpenApiParameter("tier", str, enum=Tier.values),
            OpenApiParameter("search", str),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
        responses=WorkflowSummaryOut(many=True),
    )
    def get(self, request):
        from apps.core.pagination import paginate_newest_first

        params = request.query_params
        tier = choice_param(params, "tier", Tier.values, message=TIER_MESSAGE)
        from apps.accounts.access import principal_filter_queryset

        queryset = principal_filter_queryset(
            self.principal, "workflows", "view", selectors.workflow_list(tier=tier, search=params.get("search", ""))
        )
        page = paginate_newest_first(
            queryset, cursor=params.get("cursor"), limit=parse_limit(params.get("limit")), time_field="updated_at"
        )
        return Response(page_body(page, WorkflowSummaryOut(page.items, many=True).data))

    @extend_schema(summary="Create a workflow", request=WorkflowCreateIn, responses={201: WorkflowOut})
    def post(self, request):
        data = validated(WorkflowCreateIn, request.data)
        workflow = services.workflow_create(actor=self.principal, **data)
        return Response(WorkflowOut(workflow).data, status=status.HTTP_201_CREATED)


class WorkflowDetailView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    @extend_schema(summary="Get a workflow", responses=WorkflowOut)
    def get(self, request, slug: str):
        return Response(WorkflowOut(selectors.workflow_for(principal=self.principal, slug=slug)).data)

    @extend_schema(summary="Update a workflow's draft", request=WorkflowUpdateIn, responses=WorkflowOut)
    def patch(self, request, slug: str):
        workflow = selectors.workflow_for(principal=self.principal, slug=slug, action="edit")
        data = validated(WorkflowUpdateIn, request.data)
        workflow = services.workflow_update(actor=self.principal, workflow=workflow, **data)
        return Response(WorkflowOut(workflow).data)

    @extend_schema(summary="Delete a workflow", responses={204: None})
    def delete(self, request, slug: str):
        services.workflow_delete(
            actor=self.principal, workflow=selectors.workflow_for(principal=self.principal, slug=slug, action="delete")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkflowTestView(TenantAPIView):
    """Run the draft (or the code given) without saving anything."""

    permission_resource = Resource.WORKFLOWS
    permission_action = "run"
    # It waits for a worker: no whole-request customer transaction (apps.core.rls).
    customer_scoped = False

    @extend_schema(summary="Test-run the draft; nothing is saved", request=TestRunIn)
    def post(self, request, slug: str):
        workflow = selectors.workflow_for(principal=self.principal, slug=slug, action="run")
        data = validated(TestRunIn, _body_or_empty(request))
        code = data.get("code")
        if code is not None:
            require_permission(self.principal, Resource.WORKFLOWS, "edit", resource_id=slug)
            services.validate_code(code)
        customer = None
        if data.get("customer"):
            from apps.settings.selectors import customer_get

            customer = customer_get(external_id=data["customer"])
        elif self.customer_external_id(request):
            customer = self.customer(request)
        outcome = draft_run_and_wait(
            workflow=workflow,
            code=workflow.code if code is None else code,
            input=data["input"],
            headers=strip_credentials(data["headers"]),
            customer=customer,
            config=data["config"],
        )
        return Response(outcome)


def draft_run_and_wait(*, workflow: Workflow, code: str, input, headers: dict, customer, config=None) -> dict:
    """Queue a draft run on the instant queue and wait for its outcome."""
    from apps.workflows.tasks import draft_run

    timeout_ms = min(workflow.timeout_ms, TEST_TIMEOUT_CAP_MS)
    reply_to = key("draft-run", uuid.uuid4().hex)
    try:
        draft_run.apply_async(
            args=[str(workflow.id), code, timeout_ms, input, headers, str(customer.id) if customer else None, reply_to],
            kwargs={"config": config} if config else {},
            queue=TIERS[Tier.INSTANT].queue,
            retry=False,
        )
        reply = get_blocking_redis().blpop([reply_to], timeout=timeout_ms / 1000 + 10)
    except Exception as exc:  # noqa: BLE001 - Redis or the broker is down
        raise ExecutionUnavailable() from exc
    if reply is None:
        raise WaitTimeout("The test run did not finish in time; is an instant worker running?")
    return json.loads(reply[1])


class WorkflowPublishView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS
    permission_action = "publish"

    @extend_schema(summary="Publish the draft as the next version", request=PublishIn, responses={201: VersionOut})
    def post(self, request, slug: str):
        workflow = selectors.workflow_for(principal=self.principal, slug=slug, action="publish")
        data = validated(PublishIn, _body_or_empty(request))
        version = services.workflow_publish(actor=self.principal, workflow=workflow, note=data["note"])
        return Response(VersionDetailOut(version).data, status=status.HTTP_201_CREATED)


class WorkflowVersionsView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    @extend_schema(summary="A workflow's versions, newest first", responses=VersionOut(many=True))
    def get(self, request, slug: str):
        workflow = selectors.workflow_for(principal=self.principal, slug=slug, action="view")
        versions = selectors.version_list(workflow=workflow)
        return Response({"results": VersionOut(versions, many=True).data, "next_cursor": None, "has_more": False})


class WorkflowVersionDetailView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    @extend_schema(summary="One version with its code and configuration", responses=VersionDetailOut)
    def get(self, request, slug: str, number: int):
        from apps.workflows.exceptions import VersionNotFound

        workflow = selectors.workflow_for(principal=self.principal, slug=slug, action="view")
        version = workflow.versions.filter(number=number).first()
        if version is None:
            raise VersionNotFound(f"Workflow {slug!r} has no version {number}.")
        return Response(VersionDetailOut(version).data)


class WorkflowDeployView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS
    permission_action = "deploy"
    # A gated deploy waits for Standard workers running the test cases.
    customer_scoped = False

    @extend_schema(
        summary="Deploy a version to an environment (rollback: an earlier one)",
        request=DeployIn,
        responses=DeploymentOut,
    )
    def post(self, request, slug: str):
        workflow = selectors.workflow_for(principal=self.principal, slug=slug, action="deploy")
        data = validated(DeployIn, request.data)
        deployment = services.workflow_deploy(
            actor=self.principal,
            workflow=workflow,
            version_number=data["version"],
            environment_slug=data["environment"],
        )
        return Response(DeploymentOut(deployment).data)


class WorkflowRunView(TenantAPIView):
    """Run the version deployed to an environment.

    Instant workflows answer with the result (200); Standard and Long answer
    202 with the execution id. `Idempotency-Key` makes a retry of the same
    request return the first response and start nothing.
    """

    permission_resource = Resource.WORKFLOWS
    permission_action = "run"
    # The execution row must be committed before the worker looks for it, and
    # Instant runs wait for the worker: no whole-request customer transaction
    # (apps.core.rls). The view filters by customer explicitly.
    customer_scoped = False

    @extend_schema(
        summary="Run a workflow",
        parameters=[
            OpenApiParameter("environment", str, description="default production"),
            OpenApiParameter("Idempotency-Key", str, location=OpenApiParameter.HEADER),
        ],
        request=serializers.JSONField,
    )
    def post(self, request, slug: str):
        environment_slug = request.query_params.get("environment") or "production"
        workflow, version = selectors.run_target(principal=self.principal, slug=slug, environment_slug=environment_slug)
        payload = request.data
        if hasattr(payload, "dict") and not isinstance(payload, dict):
            payload = payload.dict() or {}
        idempotency_key = (request.headers.get("Idempotency-Key") or "").strip() or None
        if idempotency_key and len(idempotency_key) > 255:
            raise InvalidInput("The Idempotency-Key header may be at most 255 characters.", code="invalid_header")
        run = services.RunRequest(
            workflow=workflow,
            environment_slug=environment_slug,
            version=version,
            input=payload,
            headers=strip_credentials(request_headers(request.META)),
            customer=self.customer(request, required=False),
            triggered_by=Execution.Trigger.MANUAL,
            idempotency_key=idempotency_key,
            request_hash=hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
            if idempotency_key
            else "",
        )
        # Instant: in this process when it has room (apps.workflows.inline), else the queue.
        ran = services.execution_run_inline(actor=self.principal, request=run, max_wait_s=MAX_WAIT_SECONDS)
        if ran is not None:
            return Response(*_inline_answer(ran))
        started = services.execution_start(actor=self.principal, request=run)
        if started.replayed is not None and started.replayed.response is not None:
            response = Response(started.replayed.response, status=started.replayed.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
        execution = started.execution
        if not TIERS[execution.tier].synchronous:
            body, code = {"execution_id": str(execution.id), "status": execution.status}, 202
            if started.replayed is None:
                body["status"] = Execution.Status.QUEUED
        else:
            body, code = self._wait_instant(execution, replay=started.replayed is not None, enqueued=started.enqueued)
        if idempotency_key and started.replayed is None:
            services.idempotency_remember(execution=execution, status_code=code, body=body)
        return Response(body, status=code)

    def _wait_instant(self, execution: Execution, *, replay: bool, enqueued: bool) -> tuple[dict, int]:
        if not enqueued and not replay:
            services.execution_fail_unqueued(execution=execution, message="The instant queue was unavailable.")
            raise ExecutionUnavailable(details={"execution_id": str(execution.id)})
        budget = min(MAX_WAIT_SECONDS, execution.timeout_ms / 1000 * max(execution.max_attempts, 1) + 5)
        outcome = None
        if replay:
            outcome = _poll_finished(execution.id, budget)
        else:
            try:
                outcome = runner.execution_wait(execution_id=execution.id, timeout_s=budget)
            except Exception:  # noqa: BLE001 - Redis went away while waiting: read the row
                outcome = _poll_finished(execution.id, 0)
        if outcome is None:
            current = Execution.objects.filter(id=execution.id).values_list("status", flat=True).first()
            return {"execution_id": str(execution.id), "status": current or "queued"}, 202
        body = {"execution_id": str(execution.id), "status": outcome["status"], "output": outcome.get("output")}
        if outcome["status"] != Execution.Status.COMPLETED:
            body["error"] = outcome.get("error")
        body["duration_ms"] = outcome.get("duration_ms")
        return body, 200


def _inline_answer(ran) -> tuple[dict, int]:
    """The answer to an Instant run made in this process (the same as from a worker)."""
    outcome = ran.outcome
    if outcome is None:  # a retry is queued and did not finish in time
        current = Execution.objects.filter(id=ran.execution_id).values_list("status", flat=True).first()
        return {"execution_id": str(ran.execution_id), "status": current or "queued"}, 202
    body = {"execution_id": str(ran.execution_id), "status": outcome["status"], "output": outcome.get("output")}
    if outcome["status"] != Execution.Status.COMPLETED:
        body["error"] = outcome.get("error")
    body["duration_ms"] = outcome.get("duration_ms")
    return body, 200


def _poll_finished(execution_id, budget_s: float) -> dict | None:
    deadline = time.monotonic() + budget_s
    while True:
        row = Execution.objects.filter(id=execution_id).values("status", "output", "error", "duration_ms").first()
        if row and row["status"] in ("completed", "failed", "timeout"):
            return {**row, "execution_id": str(execution_id)}
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


# --- executions -------------------------------------------------------------------------------


class ExecutionListView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    @extend_schema(
        summary="Executions, newest first (keyset pagination)",
        parameters=[
            OpenApiParameter("workflow", str),
            OpenApiParameter("status", str, enum=Execution.Status.values),
            OpenApiParameter("tier", str, enum=Tier.values),
            OpenApiParameter("customer", str),
            OpenApiParameter("since", str),
            OpenApiParameter("until", str),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
        responses=ExecutionSummaryOut(many=True),
    )
    def get(self, request):
        params = request.query_params
        status_filter = choice_param(params, "status", Execution.Status.values)
        tier = choice_param(params, "tier", Tier.values, message=TIER_MESSAGE)
        page = selectors.execution_page(
            cursor=params.get("cursor"),
            limit=parse_limit(params.get("limit")),
            workflow=params.get("workflow", ""),
            status=status_filter,
            tier=tier,
            customer=params.get("customer", ""),
            since=time_param("since", params.get("since")),
            until=time_param("until", params.get("until")),
            workflow_slugs=selectors.workflow_slugs_visible(principal=self.principal),
        )
        return Response(page_body(page, ExecutionSummaryOut(page.items, many=True).data))


class ExecutionDetailView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    @extend_schema(summary="One execution with input, output, error, logs and attempts", responses=ExecutionOut)
    def get(self, request, execution_id: str):
        execution = selectors.execution_get(execution_id=execution_id)
        visible = selectors.workflow_slugs_visible(principal=self.principal)
        if visible is not None and execution.workflow_slug not in visible:
            from apps.workflows.exceptions import ExecutionNotFound

            raise ExecutionNotFound("No execution with this id.")
        return Response(ExecutionOut(execution).data)
