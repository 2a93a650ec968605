"""The setup assistant's pages, under /o/<org-slug>/setup/ (wired in fastn/urls.py).

One page per step with the progress sidebar; each form posts back to its
step with `action` = save (or fetch, on step 1), skip or back. Owners and
Admins (organization: edit) run it; Reset lives in Settings → General.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.dashboard import dashboard_view
from apps.accounts.roles import Resource
from apps.core.errors import InvalidInput
from apps.onboarding import services
from apps.onboarding.services import STARTERS, STEPS, USE_CASES


def _sidebar(state) -> list[dict]:
    return [
        {
            "number": number,
            "label": label,
            "state": "current"
            if number == state.step and state.active
            else "done"
            if number in state.done
            else "skipped"
            if number in state.skipped
            else "todo",
        }  # fmt: skip
        for number, label in STEPS
    ]


def _step_url(request: HttpRequest, step: int) -> str:
    return reverse("onboarding_step", kwargs={"org_slug": request.organization.slug, "step": step})


@dashboard_view(Resource.ORGANIZATION, "edit")
def setup(request: HttpRequest) -> HttpResponse:
    state = services.onboarding_state()
    if state is None or not state.active:
        return redirect("home", org_slug=request.organization.slug)
    return redirect(_step_url(request, state.step))


@dashboard_view(Resource.ORGANIZATION, "edit")
def step_page(request: HttpRequest, step: int) -> HttpResponse:
    if step not in dict(STEPS):
        raise Http404("No such step.")
    state = services.onboarding_state()
    if state is None:
        return redirect("home", org_slug=request.organization.slug)
    context: dict = {"problems": [], "suggestion": None}
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "skip":
                services.onboarding_skip(actor=request.principal, state=state, step=step)
                if not state.active:
                    return redirect("home", org_slug=request.organization.slug)
                return redirect(_step_url(request, state.step))
            if action == "back":
                return redirect(_step_url(request, max(1, step - 1)))
            response = _save(request, state, step, action, context)
            if response is not None:
                return response
        except InvalidInput as exc:
            context["problems"].append(exc.message)
    return render(request, "onboarding/step.html", {**_step_context(request, state, step), **context})


def _save(request: HttpRequest, state, step: int, action: str, context: dict) -> HttpResponse | None:
    post = request.POST
    actor = request.principal
    if step == 1:
        if action == "fetch":
            context["suggestion"] = services.website_describe(url=post.get("website", ""))
            return None
        services.onboarding_save_company(state=state, website=post.get("website", ""),
                                         description=post.get("description", ""))  # fmt: skip
    elif step == 2:
        services.onboarding_save_use_cases(state=state, use_cases=post.getlist("use_cases"))
    elif step == 3:
        services.onboarding_install_connectors(actor=actor, state=state, slugs=post.getlist("connectors"))
    elif step == 4:
        services.onboarding_create_workflows(actor=actor, state=state, starters=post.getlist("workflows"))
    elif step == 5:
        services.onboarding_complete(actor=actor, state=state)
        return redirect("home", org_slug=request.organization.slug)
    return redirect(_step_url(request, state.step))


def _step_context(request: HttpRequest, state, step: int) -> dict:
    context = {
        "nav": "home",
        "state": state,
        "step": step,
        "steps": _sidebar(state),
        "step_label": dict(STEPS)[step],
        "answers": state.answers,
        "is_last": step == len(STEPS),
    }
    if step == 2:
        chosen = set(state.answers.get("use_cases", []))
        context["use_cases"] = [(key, label, key in chosen) for key, (label, _) in USE_CASES.items()]
    elif step == 3:
        chosen = set(state.answers.get("connectors", []))
        context["catalogue"] = [
            {**entry, "checked": entry["slug"] in chosen or (not chosen and entry["suggested"])}
            for entry in services.suggested_connectors(state)
        ]
    elif step == 4:
        chosen = set(state.answers.get("workflows", []))
        context["starters"] = [
            (slug, name, description, slug in chosen) for slug, (name, description, _) in STARTERS.items()
        ]
    elif step == 5:
        session, token = services.onboarding_test_session(actor=request.principal)
        base = request.build_absolute_uri("/").rstrip("/")
        context.update(
            {
                "token": token,
                "expires_at": session.expires_at,
                "script_url": base + static("embed/fastn.js"),
                "customer": services.TEST_CUSTOMER,
                "api_base": base,
                "sessions_url": f"{base}/api/v1/customers/{{external_id}}/sessions",
                "public_url": settings.FASTN_PUBLIC_URL,
            }
        )
    return context


@require_POST
@dashboard_view(Resource.ORGANIZATION, "edit")
def reset(request: HttpRequest) -> HttpResponse:
    services.onboarding_reset(actor=request.principal)
    return redirect("onboarding", org_slug=request.organization.slug)
