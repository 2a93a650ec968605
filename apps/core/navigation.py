"""Sub-navigation of dashboard sections.

Integrations has one tab per area (Connectors, Connections, and the apps
that join later: Workflows, Triggers). An app adds its tab with one line in
`INTEGRATIONS_TABS`; the tabs a member's role cannot view are hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    url_name: str  # a dashboard URL taking only org_slug
    resource: str  # the permission resource whose "view" shows the tab


INTEGRATIONS_TABS: list[Tab] = [
    Tab("overview", "Overview", "integrations", ""),
    Tab("connectors", "Connectors", "integrations_connectors", "connectors"),
    Tab("connections", "Connections", "integrations_connections", "connections"),
]


def visible_tabs(tabs: list[Tab], *, principal, org_slug: str) -> list[dict]:
    """The tabs `principal` may open, with their URLs."""
    shown = []
    for tab in tabs:
        if tab.resource and not principal.can(tab.resource, "view"):
            continue
        try:
            url = reverse(tab.url_name, kwargs={"org_slug": org_slug})
        except NoReverseMatch:
            continue
        shown.append({"key": tab.key, "label": tab.label, "url": url})
    return shown
