"""Settings → Billing: plan, quotas, customer tiers, per-customer limits, usage (htmx).

Everyone with `billing.view` sees the page; changes need `billing.edit`
(Owners), checked by `@dashboard_view` for every POST.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.dashboard import dashboard_view
from apps.accounts.roles import Resource
from apps.billing import selectors, services
from apps.billing.forms import CustomerLimitsForm, TierForm
from apps.billing.quotas import Dimension, Enforcement
from apps.core.errors import FastnError

TEMPLATE = "settings/billing.html"


def _render(request: HttpRequest, context: dict, panel: str | None = None, status: int = 200) -> HttpResponse:
    name = f"{TEMPLATE}#{panel}" if (panel and request.htmx) else TEMPLATE
    return render(request, name, context, status=status)


def _context(request: HttpRequest, **extra) -> dict:
    from apps.settings.selectors import customer_list

    organization = request.organization
    report = selectors.usage_report(organization=organization, limit=50)
    history = selectors.daily_history(organization=organization)
    if history:  # today from the live counters, the rollup may be a minute behind
        today = history[0]
        today["api_calls"] = max(today["api_calls"], report["usage"]["api_calls"]["day"])
        today["events"] = max(today["events"], report["usage"]["events"]["day"])
        today["executions"] = max(today["executions"], report["usage"]["executions"]["day"])
    counts = selectors.customer_tier_counts()
    tiers = selectors.customer_tier_list()
    defined = {t.slug for t in tiers}
    return {
        "nav": "settings",
        "section": "billing",
        "report": report,
        "quotas": list(report["quotas"].values()),
        "history": history,
        "tiers": [{"tier": t, "customers": counts.get(t.slug, 0), "limits": _tier_chips(t)} for t in tiers],
        "plan_price": _price(organization.plan.monthly_price_cents),
        # Customers without a tier ("") follow the plan alone: not a tier.
        "undefined_tiers": sorted((slug, n) for slug, n in counts.items() if slug and slug not in defined),
        "tier_form": extra.pop("tier_form", None) or TierForm(),
        "customers_with_limits": selectors.customers_with_limits(),
        "customer_choices": list(customer_list().order_by("external_id").values_list("external_id", "name")[:500]),
        "can_edit": request.principal.can(Resource.BILLING, "edit"),
        **extra,
    }


def _price(cents: int) -> str:
    if not cents:
        return "No charge"
    amount = f"{cents / 100:,.2f}".removesuffix(".00")
    return f"${amount} / month"


def _tier_chips(tier) -> list[dict]:
    return [
        {
            "label": Dimension(dimension).label,
            "limit": limit,
            "enforcement": Enforcement(tier.enforcements.get(dimension, Enforcement.HARD_BLOCK)).label,
        }
        for dimension, limit in tier.limits.items()
    ]


@require_GET
@dashboard_view(Resource.BILLING, "view")
def billing(request: HttpRequest) -> HttpResponse:
    if request.htmx and request.GET.get("panel") == "quotas":
        organization = request.organization
        report = selectors.usage_report(organization=organization, limit=1)
        context = {"report": report, "quotas": list(report["quotas"].values())}
        return render(request, f"{TEMPLATE}#quotas", context)
    return _render(request, _context(request))


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.BILLING, "view", write_action="edit")
def tiers(request: HttpRequest) -> HttpResponse:
    """GET ?edit=<slug>: the tier form filled in; POST: create a tier."""
    if request.method == "GET":
        slug = request.GET.get("edit", "")
        try:
            tier = services.customer_tier_get(slug=slug) if slug else None
        except FastnError as exc:
            return _render(request, _context(request, tier_error=exc.message), "tiers", status=exc.status)
        return _render(request, _context(request, tier_form=TierForm(tier=tier), editing=tier), "tiers")
    form = TierForm(request.POST)
    if not form.is_valid():
        return _render(request, _context(request, tier_form=form), "tiers", status=400)
    limits, modes = form.limits()
    try:
        tier = services.customer_tier_create(
            actor=request.principal,
            slug=form.cleaned_data["slug"],
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            limits=limits,
            enforcement=modes,
        )
    except FastnError as exc:
        form.add_error("slug" if exc.status == 409 else None, exc.message)
        return _render(request, _context(request, tier_form=form), "tiers", status=exc.status)
    return _render(request, _context(request, tier_message=f"Tier {tier.name} created."), "tiers")


@require_POST
@dashboard_view(Resource.BILLING, "edit")
def tier_update(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        tier = services.customer_tier_get(slug=slug)
    except FastnError as exc:
        return _render(request, _context(request, tier_error=exc.message), "tiers", status=exc.status)
    form = TierForm(request.POST, tier=tier)
    if not form.is_valid():
        return _render(request, _context(request, tier_form=form, editing=tier), "tiers", status=400)
    limits, modes = form.limits()
    try:
        tier = services.customer_tier_update(
            actor=request.principal,
            slug=slug,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            limits=limits,
            enforcement=modes,
        )
    except FastnError as exc:
        form.add_error(None, exc.message)
        return _render(request, _context(request, tier_form=form, editing=tier), "tiers", status=exc.status)
    return _render(request, _context(request, tier_message=f"Tier {tier.name} saved."), "tiers")


@require_POST
@dashboard_view(Resource.BILLING, "edit")
def tier_delete(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        services.customer_tier_delete(actor=request.principal, slug=slug)
    except FastnError as exc:
        return _render(request, _context(request, tier_error=exc.message), "tiers", status=exc.status)
    return _render(request, _context(request, tier_message=f"Tier {slug} deleted."), "tiers")


def _limits_context(request: HttpRequest, external_id: str, **extra) -> dict:
    detail = selectors.customer_limits_detail(organization=request.organization, external_id=external_id)
    form = extra.pop("limits_form", None) or CustomerLimitsForm(detail=detail)
    rows = [{**row, "detail": detail["dimensions"][row["dimension"]]} for row in form.dimension_rows()]
    return _context(
        request, limits_customer=external_id, limits_detail=detail, limits_form=form, limits_rows=rows, **extra
    )


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.BILLING, "view", write_action="edit")
def customer_limits(request: HttpRequest) -> HttpResponse:
    """GET ?customer=<external id>: the customer's limits form; POST: save them."""
    external_id = (request.GET.get("customer") or request.POST.get("customer") or "").strip()
    if not external_id:
        return _render(request, _context(request), "customer_limits")
    try:
        if request.method == "GET":
            return _render(request, _limits_context(request, external_id), "customer_limits")
        form = CustomerLimitsForm(request.POST)
        if not form.is_valid():
            return _render(
                request, _limits_context(request, external_id, limits_form=form), "customer_limits", status=400
            )
        limits, modes = form.limits()
        services.customer_limits_set(actor=request.principal, external_id=external_id, limits=limits, enforcement=modes)
    except FastnError as exc:
        return _render(request, _context(request, limits_error=exc.message), "customer_limits", status=exc.status)
    return _render(
        request,
        _limits_context(request, external_id, limits_message=f"Limits of {external_id} saved."),
        "customer_limits",
    )


@require_POST
@dashboard_view(Resource.BILLING, "edit")
def customer_limits_clear(request: HttpRequest, external_id: str) -> HttpResponse:
    try:
        services.customer_limits_clear(actor=request.principal, external_id=external_id)
    except FastnError as exc:
        return _render(request, _context(request, limits_error=exc.message), "customer_limits", status=exc.status)
    return _render(
        request,
        _limits_context(request, external_id, limits_message=f"{external_id} follows its tier again."),
        "customer_limits",
    )
