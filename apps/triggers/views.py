"""Dashboard pages: Integrations → Triggers and Activity → Events (thin: services and selectors do the work)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.dashboard import dashboard_view, org_url, organization_zone, render_panel
from apps.accounts.roles import Action, Resource
from apps.core.errors import FastnError
from apps.core.navigation import section_context
from apps.triggers import selectors
from apps.triggers.api import next_runs
from apps.triggers.exceptions import TriggerNotFound
from apps.triggers.forms import TriggerForm
from apps.triggers.models import Trigger
from apps.triggers.services import triggers as services
from apps.triggers.services.events import trigger_fire as trigger_fire_service

TYPE_TABS = [
    (Trigger.Type.WEBHOOK, "Webhook"),
    (Trigger.Type.SCHEDULER, "Scheduler"),
    (Trigger.Type.APP_EVENT, "App events"),
]


def _render(request: HttpRequest, template: str, context: dict, *, partial: str | None = None, status: int = 200):
    with timezone.override(organization_zone(request)):
        return render_panel(request, template, context, partial=partial, status=status)


def _page(request: HttpRequest, section: str, tab: str) -> dict:
    can = {action: request.principal.can(Resource.WORKFLOWS, action) for action in Action.values}
    return {**section_context(request, section, tab), "zone": organization_zone(request), "can": can}


def _form(request: HttpRequest, data=None, initial=None) -> TriggerForm:
    from apps.settings.selectors import environment_list
    from apps.workflows.selectors import workflow_choices

    return TriggerForm(
        data,
        initial=initial,
        workflows=[(slug, f"{name} ({slug})") for slug, name in workflow_choices()],
        environments=[(e.slug, e.name or e.slug) for e in environment_list()],
    )


def _trigger_or_404(trigger_id: str) -> Trigger:
    try:
        return selectors.trigger_get(trigger_id=trigger_id)
    except TriggerNotFound:
        raise Http404("No such trigger.") from None


def _rows(triggers) -> list[dict]:
    return [{"trigger": t, "url": services.trigger_url(t), "next_runs": next_runs(t, 1)} for t in triggers]


@dashboard_view(Resource.WORKFLOWS, "view", write_action="create")
def trigger_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("type") or request.POST.get("type") or Trigger.Type.WEBHOOK
    if kind not in Trigger.Type.values:
        kind = Trigger.Type.WEBHOOK
    form = None
    status = 200
    if request.method == "POST":
        form = _form(request, request.POST)
        if form.is_valid():
            try:
                result = services.trigger_create(actor=request.principal, **form.service_fields())
            except FastnError as exc:
                form.add_service_error(exc)
                status = exc.status
            else:
                if result.once.get("signing_secret"):
                    messages.success(
                        request,
                        f"Trigger created. Its signing secret, shown this once: {result.once['signing_secret']}",
                    )
                else:
                    messages.success(request, "Trigger created.")
                return redirect(org_url(request, "trigger", trigger_id=result.trigger.id))
        else:
            status = 400
    counts = {value: selectors.trigger_list(type=value).count() for value, _ in TYPE_TABS}
    context = {
        **_page(request, "integrations", "triggers"),
        "kind": kind,
        "type_tabs": [{"value": v, "label": label, "count": counts[v]} for v, label in TYPE_TABS],
        "rows": _rows(selectors.trigger_list(type=kind).order_by("-created_at")[:200]),
        "form": form or _form(request, initial={"type": kind, "environment": "production", "enabled": True}),
        "form_open": form is not None,
        "list_url": org_url(request, "triggers"),
    }
    return _render(request, "triggers/list.html", context, status=status)


@dashboard_view(Resource.WORKFLOWS, "view", write_action="edit")
def trigger_detail(request: HttpRequest, trigger_id: str) -> HttpResponse:
    trigger = _trigger_or_404(trigger_id)
    status = 200
    if request.method == "POST":
        form = _form(request, request.POST)
        if form.is_valid():
            try:
                result = services.trigger_update(
                    actor=request.principal, trigger=trigger, **form.service_fields(editing=trigger)
                )
            except FastnError as exc:
                form.add_service_error(exc)
                status = exc.status
            else:
                note = result.once.get("signing_secret")
                messages.success(request, f"Saved. New signing secret, shown this once: {note}" if note else "Saved.")
                return redirect(org_url(request, "trigger", trigger_id=trigger.id))
        else:
            status = 400
        trigger = _trigger_or_404(trigger_id)
    else:
        form = _form(request, initial=TriggerForm.initial_for(trigger))
    events = list(selectors.event_list(trigger_id=trigger.id).order_by("-received_at")[:10])
    selectors.events_with_execution_status(events=events)
    context = {
        **_page(request, "integrations", "triggers"),
        "trigger": trigger,
        # The breadcrumb and title name the trigger, never its UUID.
        "trigger_label": trigger.name or f"{trigger.get_type_display()} → {trigger.workflow.name}",
        "url": services.trigger_url(trigger),
        "next_runs": [timezone.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (next_runs(trigger) or [])],
        "events": events,
        "form": form,
    }
    return _render(request, "triggers/detail.html", context, status=status)


@require_POST
@dashboard_view(Resource.WORKFLOWS, "edit")
def trigger_rotate_token(request: HttpRequest, trigger_id: str) -> HttpResponse:
    trigger = _trigger_or_404(trigger_id)
    try:
        services.trigger_rotate_token(actor=request.principal, trigger=trigger)
    except FastnError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "New URL made; the old one no longer works.")
    return redirect(org_url(request, "trigger", trigger_id=trigger.id))


@require_POST
@dashboard_view(Resource.WORKFLOWS, "edit")
def trigger_rotate_secret(request: HttpRequest, trigger_id: str) -> HttpResponse:
    trigger = _trigger_or_404(trigger_id)
    try:
        _, secret = services.trigger_rotate_secret(actor=request.principal, trigger=trigger)
    except FastnError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"New signing secret, shown this once: {secret}")
    return redirect(org_url(request, "trigger", trigger_id=trigger.id))


@require_POST
@dashboard_view(Resource.WORKFLOWS, "run")
def trigger_fire(request: HttpRequest, trigger_id: str) -> HttpResponse:
    trigger = _trigger_or_404(trigger_id)
    _, dispatched = trigger_fire_service(trigger=trigger, source_ip=request.META.get("REMOTE_ADDR"))
    if dispatched is not None and dispatched.error is not None:
        messages.error(request, dispatched.error.message)
    else:
        messages.success(request, "Started: see the event below.")
    return redirect(org_url(request, "trigger", trigger_id=trigger.id))


@require_POST
@dashboard_view(Resource.WORKFLOWS, "delete")
def trigger_delete(request: HttpRequest, trigger_id: str) -> HttpResponse:
    trigger = _trigger_or_404(trigger_id)
    kind = trigger.type
    services.trigger_delete(actor=request.principal, trigger=trigger)
    messages.success(request, "Trigger deleted.")
    return redirect(org_url(request, "triggers") + f"?type={kind}")
