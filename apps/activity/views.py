"""Activity: the pages of what happened in an organization.

Activity → Executions (the list and an execution's page), Events (the list
and an event's page, with the executions it started and their connector
calls), Traces (connector calls: filters, a call's request and response,
per-connector performance from the rollups) and Alerts (rules with their
state and a sparkline, a rule's history, test-send and mute). They read
through the selectors of the apps that own the data (workflows, triggers,
connectors); the only writes are alert rules, through this app's services.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.accounts.dashboard import dashboard_view, org_url, organization_zone, render_panel
from apps.accounts.roles import Action, Resource
from apps.activity.models import AlertRule
from apps.connectors import rollups as connectors_rollups
from apps.connectors import selectors as connectors_selectors
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


# --- Activity → Traces ----------------------------------------------------------------------------

TRACES_PER_PAGE = 50
TRACE_TABS = (("", "All"), ("success", "Success"), ("error", "Error"), ("pending", "Pending"))
PERFORMANCE_WINDOWS = {"1h": ("Last hour", timedelta(hours=1), 12), "24h": ("Last 24 hours", timedelta(hours=24), 24),
                       "7d": ("Last 7 days", timedelta(days=7), 28)}  # fmt: skip
TRACE_FILTERS = ("tab", "connector", "action", "workflow", "customer", "status", "min_ms", "max_ms", "range",
                 "since", "until", "window")  # fmt: skip


def _trace_asked(request: HttpRequest) -> dict[str, str]:
    return {name: request.GET.get(name, "").strip()[:200] for name in TRACE_FILTERS}


def _trace_query(asked: dict, **changes) -> str:
    from urllib.parse import urlencode

    merged = {**asked, **changes}
    if merged.get("range") != "custom":
        merged.pop("since", None)
        merged.pop("until", None)
    return urlencode({k: v for k, v in merged.items() if v})


def _performance(window_key: str, visible_connectors: list[str] | None) -> list[dict]:
    """Per connector over the window: calls, error rate, p50/p95/p99 and small charts, from the rollups."""
    from apps.core import latency

    _label, span, points = PERFORMANCE_WINDOWS[window_key]
    now = timezone.now()
    since = now - span
    step = span / points
    per_connector: dict[str, dict] = {}
    rows = connectors_rollups.call_minutes(since=since, connectors=visible_connectors).values_list(
        "minute", "connector_slug", "calls", "errors", "duration_buckets"
    )
    for minute, connector, calls, errors, buckets in rows:
        entry = per_connector.setdefault(
            connector,
            {
                "connector": connector,
                "calls": 0,
                "errors": 0,
                "buckets": latency.empty(),
                "series": [[0, 0, latency.empty()] for _ in range(points)],
            },  # fmt: skip
        )
        entry["calls"] += calls
        entry["errors"] += errors
        latency.add_into(entry["buckets"], buckets)
        index = min(points - 1, max(0, int((minute - since) / step)))
        cell = entry["series"][index]
        cell[0] += calls
        cell[1] += errors
        latency.add_into(cell[2], buckets)
    result = []
    for entry in sorted(per_connector.values(), key=lambda e: -e["calls"]):
        peak_calls = max((cell[0] for cell in entry["series"]), default=0) or 1
        p95s = [latency.percentile(cell[2], 0.95) for cell in entry["series"]]
        peak_latency = max((p for p in p95s if p is not None), default=0) or 1
        width = 120 / points
        entry["bars"] = [
            {
                "x": round(i * width, 2),
                "w": round(width * 0.8, 2),
                "h": round(30 * cell[0] / peak_calls, 2),
                "y": round(30 - 30 * cell[0] / peak_calls, 2),
                "errors": cell[1],
                "calls": cell[0],
            }  # fmt: skip
            for i, cell in enumerate(entry["series"])
        ]
        entry["latency_line"] = " ".join(
            f"{round(i * width + width / 2, 2)},{round(30 - 28 * (p / peak_latency), 2)}"
            for i, p in enumerate(p95s)
            if p is not None
        )
        entry["error_rate"] = 100.0 * entry["errors"] / entry["calls"] if entry["calls"] else None
        entry["p50"] = latency.percentile(entry["buckets"], 0.50)
        entry["p95"] = latency.percentile(entry["buckets"], 0.95)
        entry["p99"] = latency.percentile(entry["buckets"], 0.99)
        del entry["series"], entry["buckets"]
        result.append(entry)
    return result


@require_GET
@dashboard_view(Resource.CONNECTORS, "view")
def trace_list(request: HttpRequest) -> HttpResponse:
    from apps.connectors.services.inflight import inflight_list
    from apps.connectors.trace_query import trace_filters_from
    from apps.settings.exceptions import CustomerNotFound
    from apps.settings.selectors import customer_get

    asked = _trace_asked(request)
    problems: list[str] = []
    zone = organization_zone(request)
    params = dict(asked)
    if asked["tab"] not in dict(TRACE_TABS):
        problems.append(f"There is no tab {asked['tab']!r}: showing all.")
        asked["tab"] = params["tab"] = ""
    if asked["range"] not in TIME_RANGES:
        problems.append(f"There is no time range {asked['range']!r}: showing any time.")
        asked["range"] = ""
    span = TIME_RANGES[asked["range"]][1]
    if span is not None:
        params["since"], params["until"] = (timezone.now() - span).isoformat(), ""
    elif asked["range"] != "custom":
        params["since"] = params["until"] = ""
    customer = None
    if asked["customer"]:
        try:
            customer = customer_get(external_id=asked["customer"])
        except CustomerNotFound:
            problems.append(f"There is no customer {asked['customer']!r}.")
    try:
        filters = trace_filters_from({k: v for k, v in params.items() if k != "tab" or v != "pending"}, zone=zone)
    except InvalidInput as exc:
        problems.append(exc.message)
        filters = connectors_selectors.TraceFilters()
    if customer is not None:
        filters = replace(filters, customer=customer)
    elif asked["customer"]:
        filters = replace(filters, connector="\x00")  # an unknown customer matches nothing
    pending = []
    page = None
    if asked["tab"] == "pending":
        pending = inflight_list(organization_id=request.organization.pk)
        if asked["connector"]:
            pending = [p for p in pending if p.get("connector") == asked["connector"]]
    else:
        try:
            page = connectors_selectors.call_trace_page(
                cursor=request.GET.get("cursor") or None, limit=TRACES_PER_PAGE, filters=filters
            )
        except InvalidInput as exc:
            problems.append(exc.message)
            page = connectors_selectors.call_trace_page(cursor=None, limit=TRACES_PER_PAGE, filters=filters)
    window = asked["window"] if asked["window"] in PERFORMANCE_WINDOWS else "24h"
    performance = _performance(window, None)
    # Connectors of the organization, and those called in the window (a deleted connector's calls stay).
    connectors = sorted(
        set(connectors_selectors.call_trace_filter_values()["connectors"]) | {p["connector"] for p in performance}
    )
    context = {
        **_page(request, "activity", "traces"),
        "list_url": org_url(request, "traces"),
        "asked": asked,
        "outcome_tabs": [{"value": v, "label": label, "query": _trace_query(asked, tab=v)} for v, label in TRACE_TABS],
        "time_ranges": [(value, label) for value, (label, _) in TIME_RANGES.items()],
        "connectors": connectors,
        "actions": connectors_selectors.connector_actions(slug=asked["connector"]) if asked["connector"] else [],
        "workflows": workflows_selectors.workflow_choices(),
        "traces": page.items if page else [],
        "pending": pending,
        "next_query": _trace_query(asked, cursor=page.next_cursor) if page and page.next_cursor else "",
        "problems": problems,
        "windows": [
            {"key": key, "label": label, "query": _trace_query(asked, window=key)}
            for key, (label, _, _) in PERFORMANCE_WINDOWS.items()
        ],
        "window": window,
        "performance": performance,
    }
    return _render(request, "activity/traces.html", context)


@require_GET
@dashboard_view(Resource.CONNECTORS, "view")
def trace_detail(request: HttpRequest, trace_id: str) -> HttpResponse:
    from apps.connectors.exceptions import TraceNotFound

    try:
        trace = connectors_selectors.call_trace_get(trace_id=trace_id)
    except TraceNotFound:
        raise Http404("No such trace.") from None
    detail = trace.detail or {}
    context = {
        **_page(request, "activity", "traces"),
        "trace": trace,
        "request_part": _shown_part(detail.get("request")),
        "response_part": _shown_part(detail.get("response")),
    }
    return _render(request, "activity/trace.html", context)


def _shown_part(part: dict | None) -> dict | None:
    """Headers sorted, and a JSON body pretty-printed when it parses."""
    if not part:
        return None
    body = part.get("body") or {}
    text = body.get("text") if isinstance(body, dict) else None
    if text:
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    return {
        "headers": sorted((part.get("headers") or {}).items()),
        "body": text,
        "truncated": bool(body.get("truncated")) if isinstance(body, dict) else False,
    }


# --- Activity → Alerts ----------------------------------------------------------------------------

MUTE_CHOICES = ((3600, "1 hour"), (4 * 3600, "4 hours"), (24 * 3600, "1 day"), (7 * 24 * 3600, "1 week"))


def _sparkline(values: list, rule) -> dict:
    """SVG points (120 × 30) of the metric, and the threshold's height, for the list."""
    present = [v for v in values if v is not None]
    top = max([*present, rule.threshold, 0.0]) or 1.0
    width = 120 / max(len(values) - 1, 1)

    def y(value: float) -> float:
        return round(28 - 26 * (value / top), 2)

    points = " ".join(f"{round(i * width, 2)},{y(v)}" for i, v in enumerate(values) if v is not None)
    return {"points": points, "threshold_y": y(rule.threshold), "last": present[-1] if present else None}


def _alert_form_data(post) -> dict:
    """The create form's fields → the API body (the services check it)."""

    def number(name: str):
        raw = post.get(name, "").strip()
        try:
            return float(raw) if raw else None
        except ValueError:
            return raw

    data: dict = {
        "name": post.get("name", ""),
        "metric": post.get("metric", ""),
        "operator": post.get("operator", ""),
        "threshold": number("threshold"),
        "scope": {k: post.get(f"scope_{k}", "") for k in ("workflow", "connector", "customer", "environment")},
        "channels": [],
    }
    minutes = number("window_minutes")
    data["window_seconds"] = int(minutes * 60) if isinstance(minutes, float) else minutes
    if post.get("webhook_url", "").strip():
        data["channels"].append({"type": "webhook", "url": post["webhook_url"].strip()})
    if post.get("email_to", "").strip():
        data["channels"].append({"type": "email", "to": [a.strip() for a in post["email_to"].split(",") if a.strip()]})
    if post.get("slack_connection", "").strip():
        data["channels"].append(
            {"type": "slack", "connection": post["slack_connection"], "channel": post.get("slack_channel", "")}
        )
    return data


def _alerts_context(request: HttpRequest, **extra) -> dict:
    from apps.activity import selectors as alert_selectors
    from apps.activity.services import alert_sparklines

    rules = list(alert_selectors.alert_rule_list()[:200])
    sparklines = alert_sparklines(rules=rules) if rules else {}
    now = timezone.now()
    slack_connections = [
        c for c in connectors_selectors.connection_list_all(connector="slack") if c.status != "revoked"
    ]
    return {
        **_page(request, "activity", "alerts"),
        "rules": [
            {
                "rule": rule,
                "spark": _sparkline(sparklines.get(rule.id, []), rule),
                "muted": rule.muted_until is not None and rule.muted_until > now,
            }  # fmt: skip
            for rule in rules
        ],
        "metrics": AlertRule.Metric.choices,
        "operators": AlertRule.Operator.choices,
        "mute_choices": MUTE_CHOICES,
        "workflows": workflows_selectors.workflow_choices(),
        "connectors": connectors_selectors.call_trace_filter_values()["connectors"],
        "slack_connections": slack_connections,
        "form": {},
        "errors": {},
        **extra,
    }


@dashboard_view(Resource.WORKFLOWS, "view")
def alert_list(request: HttpRequest) -> HttpResponse:
    from apps.activity.services import alert_rule_create

    if request.method == "POST":
        if not request.principal.can(Resource.WORKFLOWS, "create"):
            raise PermissionDenied
        try:
            rule, secret = alert_rule_create(actor=request.principal, data=_alert_form_data(request.POST))
        except InvalidInput as exc:
            context = _alerts_context(request, form=request.POST, errors={"message": exc.message, **exc.details})
            return _render(request, "activity/alerts.html", context, status=400)
        # Post/redirect/get: a reload must not create the rule twice. The secret
        # is shown once, on the page the redirect lands on.
        request.session["alert_created"] = {"name": rule.name, "secret": secret}
        return redirect("alerts", org_slug=request.organization.slug)
    created = request.session.pop("alert_created", None)
    return _render(request, "activity/alerts.html", _alerts_context(request, created=created))


@dashboard_view(Resource.WORKFLOWS, "view")
def alert_detail(request: HttpRequest, rule_id: str) -> HttpResponse:
    from apps.activity import selectors as alert_selectors
    from apps.activity import services as alert_services
    from apps.activity.exceptions import AlertNotFound

    try:
        rule = alert_selectors.alert_rule_get(rule_id=rule_id)
    except AlertNotFound:
        raise Http404("No such alert.") from None
    test_event = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        needed = {"test": "run", "mute": "edit", "unmute": "edit", "delete": "delete", "enable": "edit"}.get(action)
        if needed is None:
            return HttpResponseBadRequest("Unknown action.")
        if not request.principal.can(Resource.WORKFLOWS, needed):
            raise PermissionDenied
        if action == "test":
            test_event = alert_services.alert_test_send(actor=request.principal, rule=rule)
        elif action in ("mute", "unmute"):
            seconds = int(request.POST.get("seconds", "0") or 0) if action == "mute" else 0
            if action == "mute" and seconds not in dict(MUTE_CHOICES):
                return HttpResponseBadRequest("Choose how long to mute.")
            alert_services.alert_rule_mute(actor=request.principal, rule=rule, seconds=seconds)
        elif action == "enable":
            alert_services.alert_rule_update(actor=request.principal, rule=rule, data={"enabled": not rule.enabled})
        elif action == "delete":
            alert_services.alert_rule_delete(actor=request.principal, rule=rule)
            messages.success(request, f"Alert “{rule.name}” deleted.")
            return redirect("alerts", org_slug=request.organization.slug)
        if test_event is None:
            return redirect("alert", org_slug=request.organization.slug, rule_id=rule.id)
    events = list(alert_selectors.alert_event_list(rule=rule).order_by("-created_at", "-id")[:100])
    spark = alert_services.alert_sparklines(rules=[rule], points=60).get(rule.id, [])
    context = {
        **_page(request, "activity", "alerts"),
        "rule": rule,
        "events": events,
        "spark": _sparkline(spark, rule),
        "resolve_threshold": alert_services.resolve_threshold(rule),
        "muted": rule.muted_until is not None and rule.muted_until > timezone.now(),
        "mute_choices": MUTE_CHOICES,
        "test_event": test_event,
    }
    return _render(request, "activity/alert.html", context)
