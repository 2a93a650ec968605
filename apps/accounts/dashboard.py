"""The dashboard's one access check: `@dashboard_view(resource, action)`.

Every page under `/o/<slug>/` is wrapped by it. It requires a signed-in user
who is an active member of the organization in the URL (a stranger gets 404,
so organization slugs are not confirmed to outsiders), builds the member's
`Principal`, and checks the page's permission. Refusals are audited and
answered 403 with a short page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from apps.accounts.principals import Principal
from apps.accounts.selectors import membership_for
from apps.core.errors import NotFound


def dashboard_view(resource: str | None = None, action: str = "view", *, write_action: str | None = None):
    """Wrap a dashboard view. `write_action` applies to POST/PUT/DELETE requests."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, org_slug: str, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("account_login"))
            organization = getattr(request, "tenant", None)
            if organization is None or organization.slug != org_slug:
                raise Http404("No such organization.")
            membership = membership_for(user=request.user, organization=organization)
            if membership is None:
                raise Http404("No such organization.")
            principal = Principal.for_member(
                organization=organization,
                user=request.user,
                role=membership.role,
                ip=request.META.get("REMOTE_ADDR"),
            )
            request.organization = organization  # type: ignore[attr-defined]
            request.membership = membership  # type: ignore[attr-defined]
            request.principal = principal  # type: ignore[attr-defined]
            needed = write_action if (write_action and request.method not in ("GET", "HEAD")) else action
            if resource is not None and not principal.can(resource, needed):
                from apps.accounts.registry import audit_denied

                audit_denied(
                    actor=principal,
                    action=f"{resource}.{needed}",
                    resource_type=resource,
                    reason=f"role {principal.role} lacks {resource}.{needed} (dashboard)",
                )
                return render(
                    request,
                    "dashboard/forbidden.html",
                    {"resource": resource.replace("_", " "), "action": needed},
                    status=403,
                )
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                # A selector's "no such thing" is the page's 404.
                raise Http404(exc.message) from exc

        return wrapper

    return decorator


def org_url(request: HttpRequest, name: str, **kwargs) -> str:
    """reverse() for a dashboard page of the current organization."""
    return reverse(name, kwargs={"org_slug": request.organization.slug, **kwargs})  # type: ignore[attr-defined]


def render_panel(
    request: HttpRequest, template: str, context: dict, *, partial: str | None = "panel", status: int = 200
) -> HttpResponse:
    """The whole page, or only its fragment `partial` when htmx asks."""
    name = f"{template}#{partial}" if partial and request.htmx else template
    return render(request, name, context, status=status)


def organization_zone(request: HttpRequest) -> ZoneInfo:
    """The time zone of the page's organization (UTC when it names none or an unknown one)."""
    try:
        return ZoneInfo(request.organization.timezone or "UTC")  # type: ignore[attr-defined]
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
