def organization(request):
    """The organization of a dashboard page and the member's role in it."""
    return {
        "organization": getattr(request, "organization", None),
        "membership": getattr(request, "membership", None),
    }
