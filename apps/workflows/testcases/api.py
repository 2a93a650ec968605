"""Test cases API (API.md "Test cases"): CRUD, run one, run all, approve."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.accounts.roles import Resource
from apps.core.api import TenantAPIView, validated
from apps.core.pagination import page_body, paginate_newest_first, parse_limit
from apps.core.serializers import (
    JSONObjectField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictSerializer,
)
from apps.workflows import selectors as workflow_selectors
from apps.workflows.models import TestCase, TestCaseResult, TestSuiteRun
from apps.workflows.testcases import selectors, services


class ResultOut(serializers.Serializer):
    id = serializers.UUIDField()
    passed = serializers.BooleanField()
    failures = serializers.JSONField()
    version = serializers.IntegerField(source="version_number", allow_null=True)
    mode = serializers.CharField()
    status = serializers.SerializerMethodField()
    duration_ms = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_status(self, result: TestCaseResult) -> str | None:
        return (result.execution or {}).get("status")

    def get_duration_ms(self, result: TestCaseResult) -> float | None:
        return (result.execution or {}).get("duration_ms")


class TestCaseOut(serializers.Serializer):
    __test__ = False
    id = serializers.UUIDField()
    workflow = serializers.CharField(source="workflow.slug")
    name = serializers.CharField()
    scenario = serializers.CharField()
    mode = serializers.CharField()
    input = serializers.JSONField()
    headers = serializers.JSONField()
    mocks = serializers.JSONField()
    expect = serializers.JSONField()
    customer = serializers.SerializerMethodField()
    environment = serializers.CharField()
    feedback = serializers.CharField()
    approved = serializers.BooleanField()
    approved_by = serializers.CharField()
    approved_at = serializers.DateTimeField(allow_null=True)
    last_result = ResultOut(allow_null=True)
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_customer(self, case: TestCase) -> str | None:
        return case.customer.external_id if case.customer_id else None


def run_body(result: TestCaseResult) -> dict:
    """API.md: `{"passed", "failures", "execution"}` (+ the result's id and case)."""
    return {
        "id": str(result.id),
        "test_case": str(result.test_case_id),
        "passed": result.passed,
        "failures": result.failures,
        "version": result.version_number,
        "execution": result.execution,
    }


def suite_body(suite: TestSuiteRun) -> dict:
    results = selectors.suite_results(suite=suite)
    return {
        "id": str(suite.id),
        "status": suite.status,
        "purpose": suite.purpose,
        "version": suite.version_number,
        "environment": suite.environment or None,
        "total": suite.total,
        "passed": suite.passed,
        "failed": suite.failed,
        "results": [{**run_body(r), "name": r.test_case.name} for r in results],
        "created_at": suite.created_at,
        "finished_at": suite.finished_at,
    }


class MockIn(StrictSerializer):
    connector = StrictCharField(max_length=128)
    action = StrictCharField(max_length=128)
    status = StrictIntegerField(required=False, min_value=100, max_value=599)
    response = serializers.JSONField(required=False, allow_null=True)
    params = JSONObjectField(required=False)


class ExpectIn(StrictSerializer):
    status = StrictChoiceField(choices=["completed", "failed", "timeout"], required=False)
    output = serializers.JSONField(required=False, allow_null=True)
    # `assert` is a Python keyword: declared below.


ExpectIn._declared_fields["assert"] = StrictCharField(required=False, trim_whitespace=False, max_length=10_000)


class TestCaseIn(StrictSerializer):
    __test__ = False
    name = StrictCharField(max_length=services.MAX_NAME)
    scenario = StrictCharField(required=False, allow_blank=True, max_length=services.MAX_SCENARIO)
    mode = StrictChoiceField(choices=TestCase.Mode.values, required=False)
    input = serializers.JSONField(required=False, allow_null=True)
    headers = JSONObjectField(required=False)
    mocks = MockIn(many=True, required=False)
    expect = ExpectIn(required=False)
    customer = StrictCharField(max_length=255, required=False, allow_null=True)
    environment = StrictCharField(max_length=50, required=False, allow_blank=True)
    feedback = StrictCharField(required=False, allow_blank=True, max_length=services.MAX_FEEDBACK)


class TestCasePatchIn(TestCaseIn):
    __test__ = False
    name = StrictCharField(max_length=services.MAX_NAME, required=False)


class RunIn(StrictSerializer):
    version = StrictIntegerField(min_value=1, required=False, allow_null=True)


class ApproveIn(StrictSerializer):
    feedback = StrictCharField(required=False, allow_blank=True, max_length=services.MAX_FEEDBACK)
    approved = StrictBooleanField(required=False, default=True)


def _body(request) -> dict:
    data = request.data
    if data in (None, "") or (hasattr(data, "keys") and not isinstance(data, dict) and not data):
        return {}
    return data


def _raw_fields(request, data: dict) -> dict:
    """The validated fields, with JSON values exactly as sent (nested serializers drop nothing but rename nothing)."""
    raw = request.data
    return {name: raw[name] for name in data}


class _CaseView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    def workflow(self, slug: str, action: str = "view"):
        return workflow_selectors.workflow_for(principal=self.principal, slug=slug, action=action)


class TestCaseListView(_CaseView):
    __test__ = False
    permission_actions = {"POST": "edit"}

    @extend_schema(
        summary="A workflow's test cases, newest first",
        parameters=[OpenApiParameter("cursor", str), OpenApiParameter("limit", int)],
        responses=TestCaseOut(many=True),
    )
    def get(self, request, slug: str):
        workflow = self.workflow(slug)
        params = request.query_params
        page = paginate_newest_first(
            selectors.test_case_list(workflow=workflow),
            cursor=params.get("cursor"),
            limit=parse_limit(params.get("limit")),
        )
        body = page_body(page, TestCaseOut(page.items, many=True).data)
        body["counts"] = selectors.test_case_counts(workflow=workflow)
        return Response(body)

    @extend_schema(summary="Create a test case", request=TestCaseIn, responses={201: TestCaseOut})
    def post(self, request, slug: str):
        workflow = self.workflow(slug, "edit")
        data = validated(TestCaseIn, request.data)
        fields = _raw_fields(request, data)
        feedback = fields.pop("feedback", None)
        case = services.test_case_create(actor=self.principal, workflow=workflow, **fields)
        if feedback:
            case = services.test_case_update(actor=self.principal, test_case=case, feedback=feedback)
        return Response(TestCaseOut(case).data, status=status.HTTP_201_CREATED)


class TestCaseDetailView(_CaseView):
    __test__ = False
    permission_actions = {"PATCH": "edit", "DELETE": "edit"}

    @extend_schema(summary="One test case with its last result", responses=TestCaseOut)
    def get(self, request, slug: str, case_id: str):
        case = selectors.test_case_get(workflow=self.workflow(slug), case_id=case_id)
        body = TestCaseOut(case).data
        body["results"] = ResultOut(selectors.test_case_results(test_case=case), many=True).data
        return Response(body)

    @extend_schema(
        summary="Change a test case (changing what it runs withdraws its approval)",
        request=TestCasePatchIn,
        responses=TestCaseOut,
    )
    def patch(self, request, slug: str, case_id: str):
        case = selectors.test_case_get(workflow=self.workflow(slug, "edit"), case_id=case_id)
        data = validated(TestCasePatchIn, request.data)
        case = services.test_case_update(actor=self.principal, test_case=case, **_raw_fields(request, data))
        return Response(TestCaseOut(case).data)

    @extend_schema(summary="Delete a test case", responses={204: None})
    def delete(self, request, slug: str, case_id: str):
        case = selectors.test_case_get(workflow=self.workflow(slug, "edit"), case_id=case_id)
        services.test_case_delete(actor=self.principal, test_case=case)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TestCaseRunView(_CaseView):
    __test__ = False
    permission_action = "run"
    customer_scoped = False  # waits for a worker that must see committed rows

    @extend_schema(summary="Run one test case (default: the draft) and wait for the result", request=RunIn)
    def post(self, request, slug: str, case_id: str):
        case = selectors.test_case_get(workflow=self.workflow(slug, "run"), case_id=case_id)
        data = validated(RunIn, _body(request))
        result = services.test_case_run(actor=self.principal, test_case=case, version_number=data.get("version"))
        return Response(run_body(result))


class TestCaseRunAllView(_CaseView):
    __test__ = False
    permission_action = "run"
    customer_scoped = False

    @extend_schema(summary="Run every test case in parallel on the Standard queue and wait", request=RunIn)
    def post(self, request, slug: str):
        workflow = self.workflow(slug, "run")
        data = validated(RunIn, _body(request))
        suite = services.test_suite_run(actor=self.principal, workflow=workflow, version_number=data.get("version"))
        return Response(suite_body(suite))


class TestRunDetailView(_CaseView):
    __test__ = False

    @extend_schema(summary="A run of several test cases (Run all, or a deploy gate) with its progress")
    def get(self, request, slug: str, suite_id: str):
        suite = selectors.suite_get(workflow=self.workflow(slug), suite_id=suite_id)
        return Response(suite_body(suite))


class TestCaseApproveView(_CaseView):
    __test__ = False
    permission_action = "deploy"

    @extend_schema(
        summary="Approve a test case (it then gates production deploys)", request=ApproveIn, responses=TestCaseOut
    )
    def post(self, request, slug: str, case_id: str):
        case = selectors.test_case_get(workflow=self.workflow(slug, "deploy"), case_id=case_id)
        data = validated(ApproveIn, _body(request))
        case = services.test_case_approve(
            actor=self.principal, test_case=case, feedback=data.get("feedback"), approved=data["approved"]
        )
        return Response(TestCaseOut(case).data)
