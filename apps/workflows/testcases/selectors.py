"""Reads for test cases, their results and suite runs."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Count, Q, QuerySet

from apps.workflows.exceptions import TestCaseNotFound
from apps.workflows.models import TestCase, TestCaseResult, TestSuiteRun, Workflow


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def test_case_list(*, workflow: Workflow) -> QuerySet[TestCase]:
    return TestCase.objects.filter(workflow=workflow).select_related("customer", "last_result")


def test_case_get(*, workflow: Workflow, case_id: Any) -> TestCase:
    """A case of this workflow (404 for a malformed id, another workflow's or another organization's)."""
    parsed = _uuid(case_id)
    case = test_case_list(workflow=workflow).filter(id=parsed).first() if parsed else None
    if case is None:
        raise TestCaseNotFound(f"Workflow {workflow.slug!r} has no test case {case_id!r}.")
    return case


def test_case_counts(*, workflow: Workflow) -> dict[str, int]:
    """{"total", "live", "approved"} in one query (the tab's header)."""
    return TestCase.objects.filter(workflow=workflow).aggregate(
        total=Count("id"),
        live=Count("id", filter=Q(mode=TestCase.Mode.LIVE)),
        approved=Count("id", filter=Q(approved=True)),
    )


def test_case_results(*, test_case: TestCase, limit: int = 20) -> list[TestCaseResult]:
    return list(TestCaseResult.objects.filter(test_case=test_case).order_by("-created_at", "-id")[:limit])


def suite_get(*, workflow: Workflow, suite_id: Any) -> TestSuiteRun:
    from apps.core.errors import NotFound

    parsed = _uuid(suite_id)
    suite = TestSuiteRun.objects.filter(workflow=workflow, id=parsed).first() if parsed else None
    if suite is None:
        raise NotFound(f"Workflow {workflow.slug!r} has no test run {suite_id!r}.", code="test_run_not_found")
    return suite


def suite_results(*, suite: TestSuiteRun) -> list[TestCaseResult]:
    return list(TestCaseResult.objects.filter(suite=suite).select_related("test_case").order_by("created_at", "id"))


def latest_suite(*, workflow: Workflow, purpose: str | None = None) -> TestSuiteRun | None:
    queryset = TestSuiteRun.objects.filter(workflow=workflow)
    if purpose:
        queryset = queryset.filter(purpose=purpose)
    return queryset.order_by("-created_at").first()


def gate_runs_by_version(*, workflow: Workflow) -> dict[int, TestSuiteRun]:
    """The newest deploy-gate run of each version (the Versions tab)."""
    runs: dict[int, TestSuiteRun] = {}
    for suite in TestSuiteRun.objects.filter(
        workflow=workflow, purpose=TestSuiteRun.Purpose.DEPLOY_GATE, version_number__isnull=False
    ).order_by("-created_at")[:200]:
        runs.setdefault(suite.version_number, suite)
    return runs
