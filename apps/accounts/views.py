"""Dashboard pages about people: Settings → People and General, and the
public page an invitation link opens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts import selectors, services
from apps.accounts.dashboard import dashboard_view, render_panel
from apps.accounts.forms import (
    AcceptInvitationForm,
    EmailDomainForm,
    GeneralForm,
    InviteForm,
    PeopleFilterForm,
    TeamForm,
)
from apps.accounts.models import Membership
from apps.accounts.roles import Resource
from apps.core.errors import FastnError

# --- People -------------------------------------------------------------------------------


def _people_context(request, **extra):
    from apps.accounts.registry import role_choices

    organization = request.organization
    roles = role_choices()
    teams = list(selectors.team_list(organization=organization))
    filters = PeopleFilterForm(request.GET)
    f = filters.cleaned_data if filters.is_valid() else {}
    members = list(
        selectors.member_list(
            organization=organization,
            role=f.get("role", ""),
            status=f.get("status", ""),
            team=f.get("team", ""),
            search=f.get("q", ""),
        )[:500]
    )
    return {
        "nav": "settings",
        "section": "people",
        "members": members,
        "roles": roles,
        "role_names": dict(roles),
        "statuses": Membership.Status.choices,
        "teams": teams,
        "filters": f,
        "invitations": list(selectors.invitation_list(organization=organization)[:200]),
        "invite_form": extra.pop("invite_form", None)
        or InviteForm(roles=roles, teams=[(t.slug, t.name) for t in teams]),
        "team_form": extra.pop("team_form", None) or TeamForm(),
        "can_edit": request.principal.can(Resource.MEMBERS, "edit"),
        "can_invite": request.principal.can(Resource.MEMBERS, "create"),
        "can_remove": request.principal.can(Resource.MEMBERS, "delete"),
        **extra,
    }


def _people(request, status: int = 200, **extra) -> HttpResponse:
    context = _people_context(request, **extra)
    if request.htmx and request.htmx.target == "member-rows":
        return render(request, "settings/people.html#rows", context, status=status)
    return render_panel(request, "settings/people.html", context, status=status)


@require_http_methods(["GET"])
@dashboard_view(Resource.MEMBERS, "view")
def people(request: HttpRequest) -> HttpResponse:
    return _people(request)


@require_POST
@dashboard_view(Resource.MEMBERS, "create")
def invite(request: HttpRequest) -> HttpResponse:
    from apps.accounts.registry import role_choices

    teams = [(t.slug, t.name) for t in selectors.team_list(organization=request.organization)]
    form = InviteForm(request.POST, roles=role_choices(), teams=teams)
    if not form.is_valid():
        return _people(request, status=400, invite_form=form)
    try:
        invitation, token = services.invitation_create(
            actor=request.principal,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            team_slug=form.cleaned_data["team"] or None,
        )
    except FastnError as exc:
        form.add_error(None, exc.message)
        return _people(request, status=exc.status, invite_form=form)
    # While e-mail goes to the console (make run), nobody receives the
    # invitation: show its link, once, to pass on by hand.
    link = services.invitation_url(token) if _email_goes_to_console() else None
    return _people(request, message=f"Invitation sent to {invitation.email}.", invite_link=link)


def _email_goes_to_console() -> bool:
    from django.conf import settings

    return settings.EMAIL_BACKEND in (
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
    )


@require_POST
@dashboard_view(Resource.MEMBERS, "delete")
def invitation_revoke(request: HttpRequest, invitation_id: str) -> HttpResponse:
    try:
        invitation = services.invitation_revoke(actor=request.principal, invitation_id=invitation_id)
    except FastnError as exc:
        return _people(request, status=exc.status, error=exc.message)
    return _people(request, message=f"Invitation of {invitation.email} revoked.")


@require_POST
@dashboard_view(Resource.MEMBERS, "edit")
def member_update(request: HttpRequest, member_id: str) -> HttpResponse:
    try:
        membership = services.member_update(
            actor=request.principal,
            member_id=member_id,
            role=request.POST.get("role") or None,
            status=request.POST.get("status") or None,
        )
    except FastnError as exc:
        return _people(request, status=exc.status, error=exc.message)
    return _people(request, message=f"{membership.user.email} updated.")


@require_POST
@dashboard_view(Resource.MEMBERS, "delete")
def member_remove(request: HttpRequest, member_id: str) -> HttpResponse:
    try:
        services.member_remove(actor=request.principal, member_id=member_id)
    except FastnError as exc:
        return _people(request, status=exc.status, error=exc.message)
    return _people(request, message="Member removed.")


@require_POST
@dashboard_view(Resource.MEMBERS, "create")
def team_create(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST)
    if not form.is_valid():
        return _people(request, status=400, team_form=form)
    try:
        team = services.team_create(actor=request.principal, **form.cleaned_data)
    except FastnError as exc:
        form.add_error(None, exc.message)
        return _people(request, status=exc.status, team_form=form)
    return _people(request, message=f"Team {team.name} created.")


@require_POST
@dashboard_view(Resource.MEMBERS, "edit")
def team_membership(request: HttpRequest, slug: str) -> HttpResponse:
    member_id = request.POST.get("member", "")
    try:
        if request.POST.get("op") == "remove":
            services.team_member_remove(actor=request.principal, slug=slug, member_id=member_id)
        else:
            services.team_member_add(actor=request.principal, slug=slug, member_id=member_id)
    except FastnError as exc:
        return _people(request, status=exc.status, error=exc.message)
    return _people(request, message="Team updated.")


@require_POST
@dashboard_view(Resource.MEMBERS, "delete")
def team_delete(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        services.team_delete(actor=request.principal, slug=slug)
    except FastnError as exc:
        return _people(request, status=exc.status, error=exc.message)
    return _people(request, message="Team deleted.")


# --- General ------------------------------------------------------------------------------------


def _general_context(request, **extra):
    organization = request.organization
    return {
        "nav": "settings",
        "section": "general",
        "form": extra.pop("form", None)
        or GeneralForm(initial={"name": organization.name, "timezone": organization.timezone}),
        "domain_form": extra.pop("domain_form", None) or EmailDomainForm(),
        "domains": list(selectors.email_domain_list(organization=organization)),
        "can_edit": request.principal.can(Resource.ORGANIZATION, "edit"),
        **extra,
    }


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.ORGANIZATION, "view", write_action="edit")
def general(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render_panel(request, "settings/general.html", _general_context(request))
    form = GeneralForm(request.POST)
    if not form.is_valid():
        return render_panel(request, "settings/general.html", _general_context(request, form=form), status=400)
    try:
        services.organization_update(
            actor=request.principal, name=form.cleaned_data["name"], timezone_name=form.cleaned_data["timezone"]
        )
    except FastnError as exc:
        form.add_error(None, exc.message)
        return render_panel(request, "settings/general.html", _general_context(request, form=form), status=exc.status)
    return render_panel(request, "settings/general.html", _general_context(request, message="Settings saved."))


@require_POST
@dashboard_view(Resource.ORGANIZATION, "edit")
def email_domain_add(request: HttpRequest) -> HttpResponse:
    form = EmailDomainForm(request.POST)
    if not form.is_valid():
        return render_panel(request, "settings/general.html", _general_context(request, domain_form=form), status=400)
    try:
        rule = services.email_domain_add(actor=request.principal, **form.cleaned_data)
    except FastnError as exc:
        form.add_error(None, exc.message)
        context = _general_context(request, domain_form=form)
        return render_panel(request, "settings/general.html", context, status=exc.status)
    return render_panel(request, "settings/general.html", _general_context(request, message=f"{rule.domain} added."))


@require_POST
@dashboard_view(Resource.ORGANIZATION, "edit")
def email_domain_change(request: HttpRequest, domain: str) -> HttpResponse:
    try:
        if request.POST.get("op") == "remove":
            services.email_domain_remove(actor=request.principal, domain=domain)
            message = f"{domain} removed."
        else:
            services.email_domain_update(
                actor=request.principal, domain=domain, auto_approve=request.POST.get("auto_approve") == "on"
            )
            message = f"{domain} updated."
    except FastnError as exc:
        return render_panel(
            request, "settings/general.html", _general_context(request, error=exc.message), status=exc.status
        )
    return render_panel(request, "settings/general.html", _general_context(request, message=message))


# --- Invitation links --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def invitation_page(request: HttpRequest, token: str) -> HttpResponse:
    """What an emailed invitation link opens: accept it (signed in, or by
    choosing a password for a new account)."""
    from django.utils import timezone

    from apps.accounts.exceptions import InvitationNotFound
    from apps.accounts.selectors import user_by_email

    try:
        invitation = services.invitation_for_token(token=token)
    except InvitationNotFound:
        return render(
            request, "accounts/invitation.html", {"problem": "This invitation link is not valid."}, status=404
        )
    status = invitation.status_at(timezone.now())
    context = {"invitation": invitation, "organization": invitation.organization, "status": status}
    if status != "pending":
        context["problem"] = f"This invitation is {status}. Ask for a new one."
        return render(request, "accounts/invitation.html", context, status=410)
    existing = user_by_email(email=invitation.email)
    signed_in = request.user.is_authenticated
    context.update({"existing": existing is not None, "signed_in": signed_in, "form": AcceptInvitationForm()})
    if signed_in and request.user.email.lower() != invitation.email.lower():
        context["problem"] = (
            f"This invitation is for {invitation.email}, but you are signed in as {request.user.email}. Sign out first."
        )
        return render(request, "accounts/invitation.html", context, status=403)
    if request.method == "GET":
        return render(request, "accounts/invitation.html", context)
    if not signed_in and existing is not None:
        return redirect(f"/accounts/login/?next={request.path}")
    form = AcceptInvitationForm(request.POST) if not signed_in else None
    if form is not None and not form.is_valid():
        context["form"] = form
        return render(request, "accounts/invitation.html", context, status=400)
    try:
        membership = services.invitation_accept(
            token=token,
            user=request.user if signed_in else None,
            password=form.cleaned_data["password1"] if form is not None else None,
        )
    except FastnError as exc:
        context["problem"] = exc.message
        if form is not None:
            context["form"] = form
        return render(request, "accounts/invitation.html", context, status=exc.status)
    if not signed_in:
        login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, f"Welcome to {membership.organization.name}.")
    return redirect("home", org_slug=membership.organization.slug)
