"""The sections of the dashboard's main navigation and their tabs.

One registry for every section page: to add a page to a section, add its tab
here (an app's page joins with one line). A tab shows to members whose role
can `action` on `resource` (None: every member); a tab whose URL does not
exist (an app not installed) is skipped. Resources are the permission
matrix's names (apps.accounts.roles.Resource), written out: core imports no
other app.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class SectionTab:
    key: str
    label: str
    url_name: str  # a dashboard URL taking only org_slug
    resource: str | None
    action: str = "view"


@dataclass(frozen=True)
class Section:
    title: str
    lead: str
    tabs: tuple[SectionTab, ...] = ()


SECTIONS: dict[str, Section] = {
    "integrations": Section(
        "Integrations",
        "Connectors, connections, workflows and triggers of this organization.",
        tabs=(
            SectionTab("overview", "Overview", "integrations", None),
            SectionTab("connectors", "Connectors", "integrations_connectors", "connectors"),
            SectionTab("connections", "Connections", "integrations_connections", "connections"),
            SectionTab("workflows", "Workflows", "workflows", "workflows"),
            SectionTab("triggers", "Triggers", "triggers", "workflows"),
        ),
    ),
    "widgets": Section("Widgets", "The embeddable widget your customers use to connect apps and turn workflows on."),
    "activity": Section(
        "Activity",
        "Executions, events and traces of this organization.",
        tabs=(
            SectionTab("executions", "Executions", "executions", "workflows"),
            SectionTab("events", "Events", "events", "workflows"),
        ),
    ),
}


def visible_tabs(section: str, *, principal, org_slug: str, current: str = "") -> list[dict]:
    """The tabs of `section` that `principal` may open, with their URLs.
    `current` is the open tab's key or URL name."""
    shown = []
    for tab in SECTIONS[section].tabs:
        if tab.resource is not None and not principal.can(tab.resource, tab.action):
            continue
        try:
            url = reverse(tab.url_name, kwargs={"org_slug": org_slug})
        except NoReverseMatch:
            continue
        shown.append({"key": tab.key, "label": tab.label, "url": url, "current": current in (tab.key, tab.url_name)})
    return shown


def section_context(request, key: str, current: str = "") -> dict:
    """Template context of a section page: main-nav item, title, and the tabs
    the member may see."""
    section = SECTIONS[key]
    tabs = visible_tabs(
        key,
        principal=request.principal,
        org_slug=request.organization.slug,
        current=current,
    )
    return {"nav": key, "title": section.title, "lead": section.lead, "tabs": tabs}
