"""The workflow page's authoring endpoints: the editor's compile check and
completion data, the Docs tab (flow graph, reference, Markdown download,
an execution's sequence) and the Test Cases tab (htmx fragments).

Thin: selectors read, the test-case services decide and audit.
"""

from __future__ import annotations

import json
import time

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.dashboard import dashboard_view, organization_zone
from apps.accounts.roles import Resource
from apps.core.errors import FastnError
from apps.settings import selectors as settings_selectors
from apps.workflows import selectors as workflow_selectors
from apps.workflows.authoring import selectors
from apps.workflows.authoring.reference import reference_markdown
from apps.workflows.exceptions import ExecutionNotFound, TestCaseNotFound, VersionNotFound, WorkflowNotFound
from apps.workflows.models import TestSuiteRun
from apps.workflows.services import MAX_CODE_BYTES
from apps.workflows.testcases import selectors as case_selectors
from apps.workflows.testcases import services as case_services
from apps.workflows.testcases.forms import TestCaseForm, add_service_error

CASES_TEMPLATE = "workflows/_test_cases.html"


def _workflow(request: HttpRequest, slug: str, action: str = "view"):
    try:
        return workflow_selectors.workflow_for(principal=request.principal, slug=slug, action=action)
    except WorkflowNotFound:
        raise Http404("No such workflow.")


def _json_body(request: HttpRequest) -> dict | JsonResponse:
    if len(request.body) > MAX_CODE_BYTES + 1024:
        return _error(413, "payload_too_large", f"The code may be at most {MAX_CODE_BYTES} bytes.")
    try:
        body = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "malformed_json", "The body is not valid JSON.")
    if not isinstance(body, dict):
        return _error(400, "invalid_body", "The body must be a JSON object.")
    if "code" in body and not isinstance(body["code"], str):
        return _error(400, "invalid_input", "code: Must be a string.", {"fields": {"code": ["Must be a string."]}})
    return body


def _error(status: int, code: str, message: str, details: dict | None = None) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": details or {}}}, status=status)


# --- the editor ------------------------------------------------------------------------------


@require_POST
@dashboard_view(Resource.WORKFLOWS, "view")
def workflow_compile(request: HttpRequest, slug: str) -> JsonResponse:
    """`{"code"}` → `{"ok", "diagnostics": [{line, column, message, severity, source}], "ms"}`:
    QuickJS's compile check (as on Save) plus runtime-call warnings."""
    started = time.perf_counter()
    _workflow(request, slug)
    body = _json_body(request)
    if isinstance(body, JsonResponse):
        return body
    code = body.get("code", "")
    diagnostics = selectors.code_diagnostics(
        code=code,
        catalog=selectors.connector_action_catalog(),
        secrets=set(settings_selectors.secret_list().values_list("name", flat=True)),
    )
    return JsonResponse(
        {
            "ok": not any(d["severity"] == "error" for d in diagnostics),
            "diagnostics": diagnostics,
            "ms": round((time.perf_counter() - started) * 1000, 2),
        }
    )


# --- the Docs tab ------------------------------------------------------------------------------


def _version(request: HttpRequest, workflow):
    raw = request.GET.get("version", "")
    if not raw:
        return None
    try:
        return workflow_selectors.version_get(workflow=workflow, number=int(raw))
    except (ValueError, VersionNotFound):
        raise Http404("No such version.")


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.WORKFLOWS, "view")
def workflow_docs(request: HttpRequest, slug: str) -> JsonResponse:
    """The flow graph and reference of the editor's code (POST `{"code"}`),
    of `?version=N`, or of the saved draft (GET)."""
    workflow = _workflow(request, slug)
    if request.method == "POST":
        body = _json_body(request)
        if isinstance(body, JsonResponse):
            return body
        return JsonResponse(selectors.workflow_docs(workflow=workflow, code=body.get("code", workflow.code)))
    return JsonResponse(selectors.workflow_docs(workflow=workflow, version=_version(request, workflow)))


@require_GET
@dashboard_view(Resource.WORKFLOWS, "view")
def workflow_reference_download(request: HttpRequest, slug: str) -> HttpResponse:
    workflow = _workflow(request, slug)
    version = _version(request, workflow)
    docs = selectors.workflow_docs(workflow=workflow, version=version)
    response = HttpResponse(reference_markdown(docs["reference"]), content_type="text/markdown; charset=utf-8")
    suffix = f"-v{version.number}" if version else ""
    response["Content-Disposition"] = f'attachment; filename="{workflow.slug}{suffix}.md"'
    return response


@require_GET
@dashboard_view(Resource.WORKFLOWS, "view")
def workflow_sequence(request: HttpRequest, slug: str, execution_id: str) -> HttpResponse:
    """An execution's timeline (the Sequence view), as a fragment."""
    workflow = _workflow(request, slug)
    try:
        execution = workflow_selectors.execution_get(execution_id=execution_id)
    except ExecutionNotFound:
        raise Http404("No such execution.")
    if execution.workflow_slug != workflow.slug:
        raise Http404("No such execution.")
    context = {"workflow": workflow, **selectors.execution_sequence(execution=execution)}
    with timezone.override(organization_zone(request)):
        return render(request, "workflows/_sequence.html", context)


# --- the Test Cases tab ------------------------------------------------------------------------------


def _cases_context(request: HttpRequest, workflow, **extra) -> dict:
    cases = list(case_selectors.test_case_list(workflow=workflow).order_by("created_at", "id"))
    counts = case_selectors.test_case_counts(workflow=workflow)
    environments = settings_selectors.environment_list()
    return {
        "workflow": workflow,
        "cases": cases,
        "counts": counts,
        "can": {a: request.principal.can(Resource.WORKFLOWS, a) for a in ("edit", "run", "deploy")},
        "form": extra.pop("form", None) or TestCaseForm(initial={"input": "{}", "mocks": "[]"}),
        "environments": [e for e in environments if not e.is_production],
        "suite": extra.pop("suite", None) or case_selectors.latest_suite(workflow=workflow),
        **extra,
    }


def _cases(request: HttpRequest, workflow, partial: str = "panel", status: int = 200, **extra) -> HttpResponse:
    with timezone.override(organization_zone(request)):
        return render(request, f"{CASES_TEMPLATE}#{partial}", _cases_context(request, workflow, **extra), status=status)


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.WORKFLOWS, "view", write_action="edit")
def test_cases(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the tab. POST: create a case from the form."""
    if request.method == "GET":
        return _cases(request, _workflow(request, slug))
    workflow = _workflow(request, slug, "edit")
    form = TestCaseForm(request.POST)
    if form.is_valid():
        try:
            case_services.test_case_create(actor=request.principal, workflow=workflow, **form.service_fields())
        except FastnError as exc:
            add_service_error(form, exc)
        else:
            return _cases(request, workflow, created=True)
    return _cases(request, workflow, status=400, form=form, form_open=True)


def _case(request: HttpRequest, workflow, case_id: str):
    try:
        return case_selectors.test_case_get(workflow=workflow, case_id=case_id)
    except TestCaseNotFound:
        raise Http404("No such test case.")


@require_POST
@dashboard_view(Resource.WORKFLOWS, "run")
def test_case_run(request: HttpRequest, slug: str, case_id: str) -> HttpResponse:
    workflow = _workflow(request, slug, "run")
    case = _case(request, workflow, case_id)
    problem = None
    try:
        case_services.test_case_run(actor=request.principal, test_case=case)
    except FastnError as exc:
        problem = {"case": str(case.id), "message": exc.message}
    return _cases(request, workflow, problem=problem, opened=str(case.id))


@require_POST
@dashboard_view(Resource.WORKFLOWS, "deploy")
def test_case_approve(request: HttpRequest, slug: str, case_id: str) -> HttpResponse:
    workflow = _workflow(request, slug, "deploy")
    case = _case(request, workflow, case_id)
    approved = request.POST.get("approved", "1") != "0"
    case_services.test_case_approve(actor=request.principal, test_case=case, approved=approved)
    return _cases(request, workflow)


@require_POST
@dashboard_view(Resource.WORKFLOWS, "edit")
def test_case_feedback(request: HttpRequest, slug: str, case_id: str) -> HttpResponse:
    workflow = _workflow(request, slug, "edit")
    case = _case(request, workflow, case_id)
    problem = None
    try:
        case_services.test_case_update(
            actor=request.principal, test_case=case, feedback=request.POST.get("feedback", "")
        )
    except FastnError as exc:
        problem = {"case": str(case.id), "message": exc.message}
    return _cases(request, workflow, problem=problem)


@require_POST
@dashboard_view(Resource.WORKFLOWS, "edit")
def test_case_delete(request: HttpRequest, slug: str, case_id: str) -> HttpResponse:
    workflow = _workflow(request, slug, "edit")
    case_services.test_case_delete(actor=request.principal, test_case=_case(request, workflow, case_id))
    return _cases(request, workflow)


@require_POST
@dashboard_view(Resource.WORKFLOWS, "run")
def test_cases_run_all(request: HttpRequest, slug: str) -> HttpResponse:
    """Queue every case on the Standard queue; the progress fragment polls until done."""
    workflow = _workflow(request, slug, "run")
    suite = case_services.test_suite_start(actor=request.principal, workflow=workflow)
    return _cases(request, workflow, suite=suite)


@require_GET
@dashboard_view(Resource.WORKFLOWS, "view")
def test_run_progress(request: HttpRequest, slug: str, suite_id: str) -> HttpResponse:
    workflow = _workflow(request, slug)
    try:
        suite = case_selectors.suite_get(workflow=workflow, suite_id=suite_id)
    except FastnError:
        raise Http404("No such test run.")
    if suite.status == TestSuiteRun.Status.RUNNING:
        with timezone.override(organization_zone(request)):
            return render(request, f"{CASES_TEMPLATE}#progress", {"workflow": workflow, "suite": suite})
    # Finished: the whole tab, with every card's new result.
    response = _cases(request, workflow, suite=suite)
    response["HX-Retarget"] = "#test-cases-panel"
    response["HX-Reswap"] = "outerHTML"
    return response
