"""Activity: the read-only pages of what happened in an organization.

Activity → Executions (the list and an execution's page) and Activity →
Events (the list and an event's page, with the executions it started and
their connector calls). They read through the selectors of the apps that own
the data (workflows, triggers, connectors); nothing here writes.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.accounts.dashboard import dashboard_view, org_url, organization_zone, render_panel
from apps.accounts.roles import Action, Resource
from apps.core.errors import FastnError, InvalidInput
from apps.core.navigation import SECTIONS, section_context
from apps.core.pagination import paginate_newest_first
from apps.triggers import selectors as triggers_selectors
from apps.triggers.exceptions import EventNotFound
from apps.triggers.models import Event
from apps.workflows import selectors as workflows_selectors
from apps.workflows.authoring import selectors as authoring_selectors
from apps.workflows.exceptions import ExecutionNotFound
from apps.workflows.models import Execution

EXECUTIONS_PER_PAGE = 50
STATUS_TABS = (("", "All"), *Execution.Status.choices)
TIME_RANGES = {
    "": ("Any time", None),
    "15m": ("Last 15 minutes", timedelta(minutes=15)),
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "custom": ("Custom range", None),
}
DATETIME_LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
EVENT_TABS = [
    ("", "All"),
    (Event.Type.WEBHOOK, "Webhook"),
    (Event.Type.SCHEDULER, "Scheduled"),
    (Event.Type.MANUAL, "Manual"),
    (Event.Type.APP_EVENT, "App event"),
]
EVENTS_PER_PAGE = 50


def _render(request: HttpRequest, template: str, context: dict, *, partial: str | None = None, status: int = 200):
    """The whole page, or the fragment `partial` when htmx asks for it."""
    # Times show in the organization's time zone (custom ranges are read in it too).
    with timezone.override(organization_zone(request)):
        return render_panel(request, template, context, partial=partial, status=status)


def _page(request: HttpRequest, section: str, tab: str) -> dict:
    """What every page here needs: the section's tabs, the organization's time zone, the member's rights."""
    can = {action: request.principal.can(Resource.WORKFLOWS, action) for action in Action.values}
    return {**section_context(request, section, tab), "zone": organization_zone(request), "can": can}


@dashboard_view()
def activity(request: HttpRequest) -> HttpResponse:
    """The section's landing: its first tab the member may open."""
    context = section_context(request, "activity")
    if context["tabs"]:
        return redirect(context["tabs"][0]["url"])
    return render(request, "dashboard/section.html", {**context, "empty": bool(SECTIONS["activity"].tabs)})


# --- Activity → Executions ------------------------------------------------------------------


def _parse_local(raw: str, zone) -> datetime | None:
    for fmt in DATETIME_LOCAL_FORMATS:
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    return None


def _execution_filters(request: HttpRequest) -> tuple[dict, dict, list[str]]:
    """(the filters as asked, the selector's arguments, problems to show)."""
    params = request.GET
    problems: list[str] = []
    asked = {
        "status": params.get("status", ""),
        "range": params.get("range", ""),
        "since": params.get("since", "").strip(),
        "until": params.get("until", "").strip(),
        "workflow": params.get("workflow", "").strip()[:100],
        "refresh": "1" if params.get("refresh") == "1" else "",
    }
    query: dict = {"workflow": asked["workflow"]}
    if asked["status"] not in Execution.Status.values:
        if asked["status"]:
            problems.append(f"There is no status {asked['status']!r}: showing all.")
        asked["status"] = ""
    query["status"] = asked["status"]
    if asked["range"] not in TIME_RANGES:
        problems.append(f"There is no time range {asked['range']!r}: showing any time.")
        asked["range"] = ""
    span = TIME_RANGES[asked["range"]][1]
    if span is not None:
        query["since"] = timezone.now() - span
    elif asked["range"] == "custom":
        zone = organization_zone(request)
        for name in ("since", "until"):
            if not asked[name]:
                continue
            value = _parse_local(asked[name], zone)
            if value is None:
                problems.append(f"{name.capitalize()}: use a date and time like 2026-01-31 09:30.")
            else:
                query[name] = value
        if query.get("since") and query.get("until") and query["until"] <= query["since"]:
            problems.append("Until must be after Since.")
            query.pop("until")
    return asked, query, problems


def _querystring(asked: dict, **changes) -> str:
    from urllib.parse import urlencode

    merged = {**asked, **changes}
    if merged.get("range") != "custom":
        merged.pop("since", None)
        merged.pop("until", None)
    return urlencode({k: v for k, v in merged.items() if v})


def _execution_list_context(request: HttpRequest) -> dict:
    asked, query, problems = _execution_filters(request)
    try:
        page = workflows_selectors.execution_page(
            cursor=request.GET.get("cursor"),
            limit=EXECUTIONS_PER_PAGE,
            workflow_slugs=workflows_selectors.workflow_slugs_visible(principal=request.principal),
            **query,
        )
    except InvalidInput as exc:
        problems.append(exc.message)
        page = workflows_selectors.execution_page(
            cursor=None,
            limit=EXECUTIONS_PER_PAGE,
            workflow_slugs=workflows_selectors.workflow_slugs_visible(principal=request.principal),
            **query,
        )
    workflows = workflows_selectors.workflow_choices()
    if asked["workflow"] and asked["workflow"] not in {slug for slug, _ in workflows}:
        workflows.append((asked["workflow"], asked["workflow"]))
    return {
        **_page(request, "activity", "executions"),
        "list_url": org_url(request, "executions"),
        "asked": asked,
        "status_tabs": [
            {"value": value, "label": label, "query": _querystring(asked, status=value)} for value, label in STATUS_TABS
        ],
        "time_ranges": [(value, label) for value, (label, _) in TIME_RANGES.items()],
        "workflows": workflows,
        "executions": page.items,
        "next_query": _querystring(asked, cursor=page.next_cursor) if page.next_cursor else "",
        "refresh_query": _querystring(asked),
        "auto_refresh": bool(asked["refresh"]),
        "problems": problems,
    }


@require_GET
@dashboard_view(Resource.WORKFLOWS, "view")
def execution_list(request: HttpRequest) -> HttpResponse:
    context = _execution_list_context(request)
    partial = None
    if request.htmx and (request.htmx.target == "execution-rows" or request.GET.get("cursor")):
        partial = "rows"
    elif request.htmx and request.htmx.target == "execution-list":
        partial = "list"
    return _render(request, "workflows/executions.html", context, partial=partial)


def _log_lines(execution: Execution, attempts: list) -> list[dict]:
    """Log entries with absolute times: `ts_ms` counts from the start of the
    attempt that wrote them (the last one: each attempt replaces the log)."""
    started = attempts[-1].started_at if attempts else execution.started_at
    lines = []
    for entry in execution.logs or []:
        if not isinstance(entry, dict):
            continue
        offset = entry.get("ts_ms")
        at = started + timedelta(milliseconds=offset) if started and isinstance(offset, (int, float)) else None
        lines.append(
            {"level": entry.get("level", "log"), "message": entry.get("message", ""), "offset": offset, "at": at}
        )
    return lines


@require_GET
@dashboard_view(Resource.WORKFLOWS, "view")
def execution_detail(request: HttpRequest, execution_id: str) -> HttpResponse:
    try:
        execution = workflows_selectors.execution_get(execution_id=execution_id)
    except ExecutionNotFound:
        raise Http404("No such execution.")
    visible = workflows_selectors.workflow_slugs_visible(principal=request.principal)
    if visible is not None and execution.workflow_slug not in visible:
        raise Http404("No such execution.")
    attempts = workflows_selectors.execution_attempts(execution=execution)
    context = {
        **_page(request, "activity", "executions"),
        "execution": execution,
        "attempts": attempts,
        "logs": _log_lines(execution, attempts),
        "input_json": json.dumps(execution.input, indent=2, ensure_ascii=False),
        "output_json": json.dumps(execution.output, indent=2, ensure_ascii=False),
        "headers_json": json.dumps(execution.headers or {}, indent=2, ensure_ascii=False),
        **authoring_selectors.execution_sequence(execution=execution),
    }
    return _render(request, "workflows/execution.html", context, partial="detail")


# --- Activity → Events ----------------------------------------------------------------------------


@require_GET
@dashboard_view(Resource.WORKFLOWS, "view")
def event_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("type", "")
    problems = []
    if kind not in dict(EVENT_TABS):
        problems.append(f"There is no event type {kind!r}: showing all.")
        kind = ""
    refresh = request.GET.get("refresh") == "1"
    try:
        page = paginate_newest_first(
            triggers_selectors.event_list(type=kind),
            cursor=request.GET.get("cursor"),
            limit=EVENTS_PER_PAGE,
            time_field="received_at",
        )
    except FastnError as exc:
        problems.append(exc.message)
        page = paginate_newest_first(
            triggers_selectors.event_list(type=kind), cursor=None, limit=EVENTS_PER_PAGE, time_field="received_at"
        )
    triggers_selectors.events_with_execution_status(events=page.items)
    base = org_url(request, "events")
    query = "&".join(part for part in (f"type={kind}" if kind else "", "refresh=1" if refresh else "") if part)
    context = {
        **_page(request, "activity", "events"),
        "kind": kind,
        "event_tabs": [
            {
                "value": v,
                "label": label,
                "query": "&".join(p for p in (f"type={v}" if v else "", "refresh=1" if refresh else "") if p),
            }
            for v, label in EVENT_TABS
        ],
        "events": page.items,
        "list_url": base,
        "refresh_query": query,
        "next_query": (query + "&" if query else "") + f"cursor={page.next_cursor}" if page.next_cursor else "",
        "auto_refresh": refresh,
        "problems": problems,
    }
    partial = None
    if request.htmx and (request.htmx.target == "event-rows" or request.GET.get("cursor")):
        partial = "rows"
    return _render(request, "triggers/events.html", context, partial=partial)


@require_GET
@dashboard_view(Resource.WORKFLOWS, "view")
def event_detail(request: HttpRequest, event_id: str) -> HttpResponse:
    try:
        event = triggers_selectors.event_get(event_id=event_id)
    except EventNotFound:
        raise Http404("No such event.") from None
    executions = triggers_selectors.event_executions(event=event)
    context = {
        **_page(request, "activity", "events"),
        "event": event,
        "executions": executions,
        "calls": triggers_selectors.event_outgoing_calls(execution_ids=[e.id for e in executions]),
        "payload_json": json.dumps(event.payload, indent=2, ensure_ascii=False)[:200_000],
        "headers_json": json.dumps(event.headers or {}, indent=2, ensure_ascii=False),
        "error_json": json.dumps(event.error, indent=2, ensure_ascii=False) if event.error else "",
    }
    return _render(request, "triggers/event.html", context)
