from apps.core.navigation import visible_tabs


def organization(request):
    """The organization of a dashboard page and the member's role in it."""
    return {
        "organization": getattr(request, "organization", None),
        "membership": getattr(request, "membership", None),
    }


def integrations_tabs(request):
    """The Integrations section's tabs, for pages that include integrations/tabs.html."""
    principal = getattr(request, "principal", None)
    organization = getattr(request, "organization", None)
    if principal is None or organization is None:
        return {}
    return {"integrations_tabs": lambda: visible_tabs("integrations", principal=principal, org_slug=organization.slug)}
