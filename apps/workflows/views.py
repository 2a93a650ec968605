"""Dashboard pages of workflows.

Integrations → Workflows: the list, the workflow page (editor, configuration,
Test, Executions, API, Versions, publish/deploy/discard) and a version's page.
Activity → Executions: the list and an execution's page.

Thin: forms parse, services decide and audit (the same ones the API calls,
with the same permissions), selectors read. htmx requests get the fragment
they target (`template#partial`); the plain forms post without htmx too.
Dialogs, the editor's conveniences and Test use static/js.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.access import principal_filter_queryset
from apps.accounts.dashboard import dashboard_view, org_url, organization_zone, render_panel
from apps.accounts.permissions import require_permission
from apps.accounts.roles import Action, Resource
from apps.core.errors import FastnError, InvalidInput
from apps.core.headers import strip_credentials
from apps.core.navigation import section_context
from apps.core.pagination import paginate_newest_first
from apps.settings import selectors as settings_selectors
from apps.workflows import selectors, services
from apps.workflows.api import MAX_WAIT_SECONDS
from apps.workflows.authoring import selectors as authoring_selectors
from apps.workflows.exceptions import VersionNotFound, WorkflowNotFound
from apps.workflows.forms import (
    DeployForm,
    PublishForm,
    RunForm,
    TestRunForm,
    WorkflowCreateForm,
    WorkflowDraftForm,
    add_service_error,
)
from apps.workflows.models import Execution, Workflow
from apps.workflows.testcases import selectors as case_selectors
from apps.workflows.tiers import RETRY_RANGES, TIERS, Tier

WORKFLOWS_PER_PAGE = 25
RECENT_EXECUTIONS = 10

TIER_TABS = (("", "All"), *Tier.choices)

NEW_WORKFLOW_CODE = """\
// {name}
// Runs with ctx.input (the request body or trigger payload), ctx.headers,
// ctx.customer and ctx.execution. Return a JSON value: it becomes the output.
export default async function (ctx) {{
  const {{ input, customer }} = ctx;
  console.log("Triggered by", ctx.execution.triggered_by, "for", customer ? customer.id : "no customer");

  // Call a connector with the customer's connection:
  //   const contacts = await fastn.connector["acme-crm"].listContacts({{ limit: 10 }});
  // Keep state between runs:
  //   const runs = (await fastn.state.get("runs")) ?? 0;
  //   await fastn.state.set("runs", runs + 1);

  return {{ ok: true, received: input }};
}}
"""


# --- helpers -------------------------------------------------------------------------


def _render(request: HttpRequest, template: str, context: dict, *, partial: str | None = None, status: int = 200):
    """The whole page, or the fragment `partial` when htmx asks for it."""
    # Times show in the organization's time zone (custom ranges are read in it too).
    with timezone.override(organization_zone(request)):
        return render_panel(request, template, context, partial=partial, status=status)


def _fragment(request: HttpRequest, template: str, partial: str, context: dict, *, status: int = 200):
    """Only the fragment `partial` (endpoints that exist for htmx)."""
    with timezone.override(organization_zone(request)):
        return render(request, f"{template}#{partial}", context, status=status)


def _workflow_or_404(request: HttpRequest, slug: str, action: str = "view") -> Workflow:
    """The workflow the member may see (404 otherwise) and `action` on (403, audited)."""
    try:
        return selectors.workflow_for(principal=request.principal, slug=slug, action=action)
    except WorkflowNotFound:
        raise Http404("No such workflow.")


def _can(request: HttpRequest) -> dict[str, bool]:
    """What the member may do with workflows, for showing only usable buttons."""
    return {action: request.principal.can(Resource.WORKFLOWS, action) for action in Action.values}


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect that htmx follows as a full page load."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _trigger(response: HttpResponse, **events) -> HttpResponse:
    response["HX-Trigger"] = json.dumps(events, default=str)
    return response


def _page(request: HttpRequest, section: str, tab: str) -> dict:
    """What every page here needs: the section's tabs, the organization's time zone, the member's rights."""
    return {**section_context(request, section, tab), "zone": organization_zone(request), "can": _can(request)}


def _public_url() -> str:
    return settings.FASTN_PUBLIC_URL.rstrip("/")


def _tier_specs() -> dict:
    return {
        tier: {
            "min": spec.min_timeout_ms,
            "max": spec.max_timeout_ms,
            "default": spec.default_timeout_ms,
            "step": spec.min_timeout_ms,
            "synchronous": spec.synchronous,
        }
        for tier, spec in TIERS.items()
    }


# --- Integrations → Workflows ------------------------------------------------------------


def _workflow_list_context(request: HttpRequest, **extra) -> dict:
    params = request.GET
    tier = params.get("tier", "")
    problems = []
    if tier not in Tier.values:
        if tier:
            problems.append(f"There is no tier {tier!r}: showing all workflows.")
        tier = ""
    search = params.get("q", "").strip()[:200]
    visible = principal_filter_queryset(
        request.principal, Resource.WORKFLOWS, "view", selectors.workflow_list(tier=tier, search=search)
    )
    try:
        page = paginate_newest_first(
            visible,
            cursor=params.get("cursor"),
            limit=WORKFLOWS_PER_PAGE,
            time_field="updated_at",
        )
    except InvalidInput as exc:
        problems.append(exc.message)
        page = paginate_newest_first(
            visible,
            cursor=None,
            limit=WORKFLOWS_PER_PAGE,
            time_field="updated_at",
        )
    deployed = selectors.deployments_for_workflows(workflow_ids=[w.id for w in page.items])
    counts = selectors.workflow_counts_by_tier()
    return {
        **_page(request, "integrations", "workflows"),
        "list_url": org_url(request, "workflows"),
        "tier": tier,
        "q": search,
        "tier_tabs": [
            {"value": value, "label": label, "count": counts.get(value, 0) if value else sum(counts.values())}
            for value, label in TIER_TABS
        ],
        "rows": [{"workflow": w, "deployed": deployed.get(w.id, {})} for w in page.items],
        "next_cursor": page.next_cursor,
        "problems": problems,
        "create_form": extra.pop("create_form", None) or WorkflowCreateForm(),
        **extra,
    }


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.WORKFLOWS, "view", write_action="create")
def workflow_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _workflow_create(request)
    context = _workflow_list_context(request)
    partial = "rows" if request.htmx and (request.htmx.target == "workflow-rows" or request.GET.get("cursor")) else None
    return _render(request, "workflows/list.html", context, partial=partial)


def _workflow_create(request: HttpRequest) -> HttpResponse:
    form = WorkflowCreateForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            workflow = services.workflow_create(
                actor=request.principal,
                name=data["name"],
                slug=data["slug"],
                description=data["description"],
                tier=data["tier"],
                code=NEW_WORKFLOW_CODE.format(name=data["name"].replace("\n", " ")),
            )
        except FastnError as exc:
            if exc.code == "workflow_exists":
                form.add_error("slug", exc.message)
            else:
                add_service_error(form, exc)
            status = exc.status
        else:
            messages.success(request, f"Workflow {workflow.name} created. Edit its code, Test it, then Publish.")
            return _redirect(request, org_url(request, "workflow", slug=workflow.slug))
    context = _workflow_list_context(request, create_form=form, create_open=True)
    return _render(request, "workflows/list.html", context, partial="create_form", status=status)


@require_POST
@dashboard_view(Resource.WORKFLOWS, "delete")
def workflow_delete(request: HttpRequest, slug: str) -> HttpResponse:
    workflow = _workflow_or_404(request, slug, "delete")
    services.workflow_delete(actor=request.principal, workflow=workflow)
    message = f"Workflow {workflow.name} deleted."
    if request.htmx and (request.htmx.target or "").startswith("wf-row-"):
        return _trigger(HttpResponse(""), **{"fastn:toast": {"message": message, "level": "success"}})
    messages.success(request, message)
    return _redirect(request, org_url(request, "workflows"))


# --- The workflow page -----------------------------------------------------------------------


def _api_example(request: HttpRequest, workflow: Workflow) -> dict:
    base = _public_url()
    run_url = f"{base}/api/v1/workflows/{workflow.slug}/run"
    account_id = str(request.organization.account_id)
    # The example runs as shown: it names one of the organization's real
    # customers (a made-up id answers 404), or none when there is none yet.
    customer = settings_selectors.customer_list().order_by("created_at").only("external_id").first()
    customer_header = f'  -H "x-fastn-account-tenant-id: {customer.external_id}" \\\n' if customer is not None else ""
    curl = (
        f'curl -X POST "{run_url}" \\\n'
        f'  -H "x-fastn-access-key: $FASTN_API_KEY" \\\n'
        f'  -H "x-fastn-account-id: {account_id}" \\\n'
        f"{customer_header}"
        f'  -H "Content-Type: application/json" \\\n'
        f'  -d \'{{"hello": "world"}}\''
    )
    test_url = f"{base}/api/v1/workflows/{workflow.slug}/test"
    test_curl = (
        f'curl -X POST "{test_url}" \\\n'
        f'  -H "x-fastn-access-key: $FASTN_API_KEY" \\\n'
        f'  -H "x-fastn-account-id: {account_id}" \\\n'
        f'  -H "Content-Type: application/json" \\\n'
        f'  -d \'{{"input": {{"hello": "world"}}, "headers": {{}}}}\''
    )
    return {
        "run_url": run_url,
        "test_url": test_url,
        "executions_url": f"{base}/api/v1/executions/{{execution_id}}",
        "account_id": account_id,
        "curl": curl,
        "test_curl": test_curl,
        "synchronous": TIERS[workflow.tier].synchronous,
    }


def _workflow_page_context(request: HttpRequest, workflow: Workflow, **extra) -> dict:
    versions = selectors.version_list(workflow=workflow)
    environments = settings_selectors.environment_list()
    current = {d.environment.slug: d for d in selectors.current_deployments(workflow=workflow)}
    deployed_where: dict[int, list[str]] = {}
    for slug, deployment in current.items():
        deployed_where.setdefault(deployment.version.number, []).append(slug)
    default_environment = next((e.slug for e in environments if e.is_production), "production")
    form = extra.pop("form", None) or WorkflowDraftForm(initial=WorkflowDraftForm.initial_for(workflow))
    tiers = _tier_specs()
    return {
        **_page(request, "integrations", "workflows"),
        "workflow": workflow,
        "workflow_url": org_url(request, "workflow", slug=workflow.slug),
        "form": form,
        "versions": [{"version": v, "environments": sorted(deployed_where.get(v.number, []))} for v in versions],
        "environment_rows": [{"environment": e, "deployment": current.get(e.slug)} for e in environments],
        "draft_matches": selectors.draft_matches_latest(workflow=workflow),
        "publish_form": PublishForm(),
        "deploy_form": extra.pop("deploy_form", None)
        or DeployForm(
            versions=versions,
            environments=environments,
            initial={"version": workflow.latest_version, "environment": default_environment},
        ),
        "deployed_json": {slug: d.version.number for slug, d in current.items()},
        "test_form": TestRunForm(initial={"input": "{}", "headers": "{}"}),
        "executions": selectors.execution_page(cursor=None, limit=RECENT_EXECUTIONS, workflow=workflow.slug).items,
        "tiers": tiers,
        "timeout_spec": tiers.get(form["tier"].value()) or tiers[workflow.tier],
        "retry_ranges": RETRY_RANGES,
        "api": _api_example(request, workflow),
        "editor_context": authoring_selectors.editor_context(workflow=workflow),
        "gate_runs": case_selectors.gate_runs_by_version(workflow=workflow),
        **extra,
    }


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.WORKFLOWS, "view", write_action="edit")
def workflow_detail(request: HttpRequest, slug: str) -> HttpResponse:
    workflow = _workflow_or_404(request, slug, "edit" if request.method == "POST" else "view")
    if request.method == "GET":
        return _render(request, "workflows/detail.html", _workflow_page_context(request, workflow))
    return _workflow_save(request, workflow)


def _workflow_save(request: HttpRequest, workflow: Workflow) -> HttpResponse:
    form = WorkflowDraftForm(request.POST)
    status, compile_error, conflict = 400, None, None
    if form.is_valid():
        fields = form.draft_fields()
        code = form.cleaned_data["code"]
        if code != workflow.code:
            # Only a real code change marks the draft "Edited manually".
            fields["code"] = code
        try:
            workflow = services.workflow_save_draft(
                actor=request.principal,
                workflow=workflow,
                expected_updated_at=form.cleaned_data["loaded_at"],
                **fields,
            )
        except FastnError as exc:
            status = exc.status
            if exc.code == "compile_error":
                compile_error = exc.details
                form.add_error("code", exc.message)
            else:
                add_service_error(form, exc)
            if exc.code == "draft_changed":
                # The editor shows the newer save next to its own code (a diff).
                fresh = Workflow.objects.get(pk=workflow.pk)
                conflict = {
                    "code": fresh.code,
                    "loaded_at": fresh.updated_at.isoformat(),
                    "updated_by": fresh.updated_by,
                }
        else:
            if not request.htmx:
                messages.success(request, "Saved.")
                return redirect(org_url(request, "workflow", slug=workflow.slug))
            context = _workflow_page_context(request, workflow, saved=True, refresh_panels=True)
            response = _fragment(request, "workflows/detail.html", "save_result", context)
            return _trigger(
                response,
                **{"fastn:saved": {"loaded_at": workflow.updated_at.isoformat(), "code_bytes": workflow.code_bytes}},
            )
    context = _workflow_page_context(
        request, workflow, form=form, compile_error=compile_error, refresh_panels=bool(request.htmx)
    )
    if not request.htmx:
        return _render(request, "workflows/detail.html", context, status=status)
    response = _fragment(request, "workflows/detail.html", "save_result", context, status=status)
    if compile_error:
        _trigger(response, **{"fastn:compile-error": compile_error})
    if conflict:
        _trigger(response, **{"fastn:draft-conflict": conflict})
    return response


@require_POST
@dashboard_view(Resource.WORKFLOWS, "publish")
def workflow_publish(request: HttpRequest, slug: str) -> HttpResponse:
    workflow = _workflow_or_404(request, slug, "publish")
    form = PublishForm(request.POST)
    if not form.is_valid():
        return _dialog_error(request, workflow, "publish", form.errors.get("note", ["Not valid."])[0], 400)
    try:
        version = services.workflow_publish(actor=request.principal, workflow=workflow, note=form.cleaned_data["note"])
    except FastnError as exc:
        return _dialog_error(request, workflow, "publish", exc.message, exc.status)
    messages.success(request, f"Published v{version.number}. Deploy it to an environment to run it there.")
    return _redirect(request, org_url(request, "workflow", slug=workflow.slug))


@require_POST
@dashboard_view(Resource.WORKFLOWS, "deploy")
def workflow_deploy(request: HttpRequest, slug: str) -> HttpResponse:
    workflow = _workflow_or_404(request, slug, "deploy")
    versions = selectors.version_list(workflow=workflow)
    environments = settings_selectors.environment_list()
    form = DeployForm(request.POST, versions=versions, environments=environments)
    if not form.is_valid():
        message = " ".join(f"{name}: {errors[0]}" for name, errors in form.errors.items())
        if not versions:
            message = "Publish a version first: there is nothing to deploy."
        return _dialog_error(request, workflow, "deploy", message, 400)
    environment = form.cleaned_data["environment"]
    number = form.cleaned_data["version"]
    previous = selectors.deployments_by_environment(workflow=workflow).get(environment)
    try:
        services.workflow_deploy(
            actor=request.principal, workflow=workflow, version_number=number, environment_slug=environment
        )
    except FastnError as exc:
        return _dialog_error(request, workflow, "deploy", exc.message, exc.status)
    if previous and previous > number:
        messages.success(request, f"Rolled {environment} back from v{previous} to v{number}.")
    else:
        messages.success(request, f"Deployed v{number} to {environment}.")
    return _redirect(request, org_url(request, "workflow", slug=workflow.slug))


def _dialog_error(request: HttpRequest, workflow: Workflow, dialog: str, message: str, status: int) -> HttpResponse:
    if not request.htmx:
        messages.error(request, message)
        return redirect(org_url(request, "workflow", slug=workflow.slug))
    return _fragment(
        request, "workflows/detail.html", "dialog_error", {"message": message, "dialog": dialog}, status=status
    )


@require_POST
@dashboard_view(Resource.WORKFLOWS, "edit")
def workflow_discard(request: HttpRequest, slug: str) -> HttpResponse:
    workflow = _workflow_or_404(request, slug, "edit")
    if selectors.draft_matches_latest(workflow=workflow):
        messages.info(request, f"Nothing to discard: the draft already matches v{workflow.latest_version}.")
        return _redirect(request, org_url(request, "workflow", slug=workflow.slug))
    try:
        services.workflow_discard_draft(actor=request.principal, workflow=workflow)
    except FastnError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Draft changes discarded: the draft is v{workflow.latest_version} again.")
    return _redirect(request, org_url(request, "workflow", slug=workflow.slug))


# --- Run (a deployed version) and Test (the editor's code) -------------------------------


def _run_context(request: HttpRequest, workflow: Workflow, form: RunForm, environments, **extra) -> dict:
    deployed = selectors.deployments_by_environment(workflow=workflow)
    return {
        **_page(request, "integrations", "workflows"),
        "workflow": workflow,
        "run_form": form,
        "environment_options": [
            {"slug": e.slug, "label": e.name or e.slug, "version": deployed.get(e.slug)} for e in environments
        ],
        "synchronous": TIERS[workflow.tier].synchronous,
        **extra,
    }


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.WORKFLOWS, "run")
def workflow_run(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the Run dialog's form. POST: run the version deployed to the chosen environment."""
    workflow = _workflow_or_404(request, slug, "run")
    environments = settings_selectors.environment_list()
    if request.method == "GET" and request.GET.get("execution"):
        # The dialog following a run it started: the same result block,
        # polled until the run ends (see run.html).
        execution = selectors.execution_get(execution_id=request.GET["execution"])
        if execution.workflow_id != workflow.id:
            raise Http404("No such execution of this workflow.")
        form = RunForm(environments=environments, initial={"environment": execution.environment, "input": "{}"})
        context = _run_context(request, workflow, form, environments, execution=execution)
        return _render(request, "workflows/run.html", context, partial="body")
    if request.method == "GET":
        deployed = selectors.deployments_by_environment(workflow=workflow)
        production = next((e.slug for e in environments if e.is_production), "production")
        default = production if production in deployed or not deployed else sorted(deployed)[0]
        form = RunForm(environments=environments, initial={"environment": default, "input": "{}"})
        return _render(
            request, "workflows/run.html", _run_context(request, workflow, form, environments), partial="body"
        )
    form = RunForm(request.POST, environments=environments)
    if not form.is_valid():
        context = _run_context(request, workflow, form, environments)
        return _render(request, "workflows/run.html", context, partial="body", status=400)
    data = form.cleaned_data
    try:
        customer = None
        if data["customer"].strip():
            customer = settings_selectors.customer_get(external_id=data["customer"].strip())
        started = services.execution_start(
            actor=request.principal,
            request=services.RunRequest(
                workflow=workflow,
                environment_slug=data["environment"],
                input=data["input"],
                headers={},
                customer=customer,
                triggered_by=Execution.Trigger.MANUAL,
            ),
        )
    except FastnError as exc:
        form.add_error("customer" if exc.code == "customer_not_found" else None, exc.message)
        context = _run_context(request, workflow, form, environments)
        return _render(request, "workflows/run.html", context, partial="body", status=exc.status)
    execution = started.execution
    if TIERS[execution.tier].synchronous:
        execution = services.execution_wait_instant(
            execution=execution, enqueued=started.enqueued, max_wait_s=MAX_WAIT_SECONDS
        )
    context = _run_context(request, workflow, form, environments, execution=execution)
    response = _render(request, "workflows/run.html", context, partial="body")
    return _trigger(response, **{"fastn:executions-changed": str(execution.id)})


@require_POST
@dashboard_view(Resource.WORKFLOWS, "run")
def workflow_test(request: HttpRequest, slug: str) -> HttpResponse:
    """Run the editor's code (or the saved draft) on the instant queue; nothing is saved."""
    from apps.workflows.api import draft_run_and_wait

    workflow = _workflow_or_404(request, slug, "run")
    form = TestRunForm(request.POST)
    context: dict = {"workflow": workflow}
    if not form.is_valid():
        context["test_errors"] = form.errors
        return _fragment(request, "workflows/detail.html", "test_result", context, status=400)
    data = form.cleaned_data
    code = data["code"] if "code" in request.POST else None
    response_events = {}
    try:
        if code is not None:
            # As in the API: running code other than the saved draft needs edit.
            require_permission(request.principal, Resource.WORKFLOWS, "edit", resource_id=workflow.slug)
            services.validate_code(code)
        customer = None
        if data["customer"].strip():
            customer = settings_selectors.customer_get(external_id=data["customer"].strip())
        context["outcome"] = draft_run_and_wait(
            workflow=workflow,
            code=workflow.code if code is None else code,
            input=data["input"],
            headers=strip_credentials(data["headers"]),
            customer=customer,
        )
        status = 200
    except FastnError as exc:
        context["failure"] = exc
        status = exc.status
        if exc.code == "compile_error":
            response_events["fastn:compile-error"] = exc.details
    outcome_error = (context.get("outcome") or {}).get("error") or {}
    if outcome_error.get("line") and code is not None:
        response_events["fastn:error-line"] = {"line": outcome_error["line"], "column": outcome_error.get("column")}
    response = _fragment(request, "workflows/detail.html", "test_result", context, status=status)
    return _trigger(response, **response_events) if response_events else response


@require_GET
@dashboard_view(Resource.WORKFLOWS, "view")
def workflow_executions(request: HttpRequest, slug: str) -> HttpResponse:
    """The Executions tab's table (refreshed after a Run)."""
    workflow = _workflow_or_404(request, slug, "view")
    executions = selectors.execution_page(cursor=None, limit=RECENT_EXECUTIONS, workflow=workflow.slug).items
    return _fragment(request, "workflows/detail.html", "executions", {"workflow": workflow, "executions": executions})


@require_GET
@dashboard_view(Resource.WORKFLOWS, "view")
def workflow_version(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    workflow = _workflow_or_404(request, slug, "view")
    try:
        version = selectors.version_get(workflow=workflow, number=number)
    except VersionNotFound:
        raise Http404("No such version.")
    deployed_here = sorted(
        env for env, n in selectors.deployments_by_environment(workflow=workflow).items() if n == number
    )
    environments = settings_selectors.environment_list()
    context = {
        **_page(request, "integrations", "workflows"),
        "workflow": workflow,
        "version": version,
        "deployed_here": deployed_here,
        "deploy_form": DeployForm(
            versions=selectors.version_list(workflow=workflow),
            environments=environments,
            initial={"version": number, "environment": next((e.slug for e in environments if e.is_production), "")},
        ),
    }
    return _render(request, "workflows/version.html", context)
