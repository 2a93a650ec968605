"""Pages that gather several apps: the organization picker, Home, the
Integrations overview and the landing of sections without pages of their own.

They read through the selectors of the apps that own the data (settings,
connectors, workflows); nothing here writes.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse

from apps.accounts.dashboard import dashboard_view
from apps.accounts.selectors import organizations_for_user
from apps.core.navigation import SECTIONS, section_context


def root(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("organization_picker")
    return redirect("account_login")


@login_required
def organization_picker(request: HttpRequest) -> HttpResponse:
    organizations = list(organizations_for_user(user=request.user))
    if len(organizations) == 1 and not request.GET.get("all"):
        return redirect("home", org_slug=organizations[0].slug)
    return render(request, "dashboard/picker.html", {"organizations": organizations})


RECOMMENDED_PROMPTS = (
    "When a deal closes in HubSpot, post it to our #sales Slack channel",
    "Every night, copy new Stripe customers into our Postgres table",
    "Create a Jira issue for every Zendesk ticket tagged 'bug'",
    "Send a weekly summary of failed executions to ops@ by e-mail",
)


def _url(name: str, request: HttpRequest, **kwargs) -> str | None:
    try:
        return reverse(name, kwargs={"org_slug": request.organization.slug, **kwargs})
    except NoReverseMatch:
        return None


def _command_center(request: HttpRequest) -> dict:
    """Home's cards, each only for members whose role may open the page it links to."""
    from datetime import datetime, timedelta

    from django.utils import timezone

    from apps.accounts.dashboard import organization_zone
    from apps.connectors import rollups as call_rollups
    from apps.connectors import selectors as connectors
    from apps.triggers import selectors as triggers

    principal = request.principal
    cards: dict = {
        # The AI builder's page when it is installed, else the Workflows page.
        "builder_url": _url("workflow_builder", request) or _url("workflows", request),
        "prompts": RECOMMENDED_PROMPTS,
        "sync_url": _url("widgets", request),
    }
    if principal.can("connectors", "view"):
        active = list(connectors.connector_list(enabled=True).order_by("name")[:8])
        counts = connectors.connection_counts_by_connector(connector_ids=[c.id for c in active])
        since = timezone.now() - timedelta(hours=24)
        calls: dict[str, list[int]] = {}
        for slug, total, errors in call_rollups.call_minutes(
            since=since, connectors=[c.slug for c in active]
        ).values_list("connector_slug", "calls", "errors"):
            entry = calls.setdefault(slug, [0, 0])
            entry[0] += total
            entry[1] += errors
        cards["connectors"] = [
            {
                "connector": c,
                "connections": counts.get(c.id, 0),
                "calls": calls.get(c.slug, [0, 0])[0],
                "error_rate": (100.0 * calls[c.slug][1] / calls[c.slug][0]) if calls.get(c.slug, [0])[0] else None,
            }
            for c in active
        ]
    if principal.can("workflows", "view"):
        zone = organization_zone(request)
        local_now = timezone.now().astimezone(zone)
        midnight = datetime.combine(local_now.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        cards["scheduled"] = triggers.schedules_due_between(start=timezone.now(), end=midnight, limit=8)
        cards["events"] = list(triggers.event_list().order_by("-received_at", "-id")[:8])
        cards["alerts"] = _alert_summary()
    return cards


def _alert_summary() -> dict:
    from apps.activity import selectors as alerts

    return alerts.alert_counts()


@dashboard_view()
def home(request: HttpRequest) -> HttpResponse:
    from apps.onboarding.selectors import onboarding_active
    from apps.settings.selectors import home_summary

    # A new organization (self-serve sign-up) goes through the setup assistant first.
    if request.principal.can("organization", "edit") and onboarding_active():
        return redirect("onboarding", org_slug=request.organization.slug)

    context = {
        "nav": "home",
        "summary": home_summary(principal=request.principal),
        "cards": _command_center(request),
    }
    return render(request, "dashboard/home.html", context)


def _section(request: HttpRequest, key: str) -> HttpResponse:
    context = section_context(request, key)
    if context["tabs"]:
        return redirect(context["tabs"][0]["url"])
    return render(request, "dashboard/section.html", {**context, "empty": bool(SECTIONS[key].tabs)})


@dashboard_view()
def integrations(request: HttpRequest) -> HttpResponse:
    """The Integrations landing: a summary card per area the member may view."""
    from apps.connectors import catalog
    from apps.connectors import selectors as connectors
    from apps.workflows import selectors as workflows

    principal = request.principal
    context: dict = {"nav": "integrations", "tab": "overview"}
    if principal.can("connectors", "view"):
        context["connectors"] = connectors.connector_list().count()
        context["catalog_size"] = catalog.catalog_size()  # loaded once per process, never copied
    if principal.can("connections", "view"):
        context["connection_counts"] = connectors.connection_counts()
    if principal.can("workflows", "view"):
        context["workflows"] = workflows.workflow_list().count()
    return render(request, "integrations/index.html", context)


@dashboard_view()
def widgets(request: HttpRequest) -> HttpResponse:
    return _section(request, "widgets")
