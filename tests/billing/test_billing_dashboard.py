"""Settings → Billing and the credits counter of the top bar."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _page(client, org, path=""):
    return client.get(f"/o/{org.slug}/settings/billing/{path}")


def _htmx(client, org, path, data=None, method="post"):
    call = getattr(client, method)
    return call(f"/o/{org.slug}/settings/billing/{path}", data or {}, HTTP_HX_REQUEST="true")


def test_owner_sees_the_plan_quota_table_tiers_limits_and_breakdown(client, make_org, api):
    org = make_org(plan="free")
    client.force_login(org.owner)
    for _ in range(5):
        api(org).get("/api/v1/customers")
    response = _page(client, org)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Billing</h1>" in page
    assert 'class="plan-name">Free<' in page
    for heading in ("Quotas", "Customer tiers", "Customize Customer Limits", "Usage breakdown"):
        assert f"<h2>{heading}</h2>" in page
    for label in ("API calls per minute", "Events per day", "Executions per day", "Connections", "Storage (bytes)"):
        assert label in page
    assert 'data-dimension="api_calls_per_minute"' in page and "5 / 20" in page
    assert "Hard Block" in page
    assert 'id="tier-form"' in page  # Owners can add tiers
    assert 'aria-current="page">Billing</a>' in page  # the side nav


def test_the_top_bar_counts_down_the_plans_credits(client, make_org, in_org):
    from apps.billing.services import quota_consume

    org = make_org(plan="free")
    in_org(org)
    for _ in range(3):
        quota_consume(organization=org.organization, meter="executions")
    client.force_login(org.owner)
    page = client.get(f"/o/{org.slug}/").content.decode()
    assert 'data-testid="credits"' in page
    assert "997 credits left" in page


def test_unlimited_plans_show_unlimited_credits(client, make_org):
    org = make_org(plan="unlimited")
    client.force_login(org.owner)
    assert "Unlimited credits" in client.get(f"/o/{org.slug}/").content.decode()


def test_credits_count_past_days_of_the_month_from_rollups(client, make_org, in_org):
    from apps.metering.models import UsageRollup

    org = make_org(plan="free")
    in_org(org)
    with time_machine.travel(dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False):
        for day, used in ((dt.date(2026, 2, 28), 500), (dt.date(2026, 3, 1), 100), (dt.date(2026, 3, 9), 50)):
            start = dt.datetime.combine(day, dt.time(0), UTC)
            UsageRollup.objects.create(meter="executions", period="day", window_start=start, day=day, used=used)
        client.force_login(org.owner)
        page = client.get(f"/o/{org.slug}/").content.decode()
    assert "850 credits left" in page  # February's 500 are last month's


def test_viewers_see_billing_but_no_forms_and_end_users_are_refused(client, make_org, add_member, in_org):
    from apps.settings.models import AuditEvent

    org = make_org()
    viewer = add_member(org, "viewer")
    client.force_login(viewer)
    page = _page(client, org).content.decode()
    assert "<h1>Billing</h1>" in page and 'id="tier-form"' not in page
    assert "credits" in client.get(f"/o/{org.slug}/").content.decode()

    end_user = add_member(org, "end_user")
    client.force_login(end_user)
    assert _page(client, org).status_code == 403
    home = client.get(f"/o/{org.slug}/").content.decode()
    assert 'data-testid="credits"' not in home and ">Billing</a>" not in home
    in_org(org)
    assert AuditEvent.objects.filter(action="billing.view", outcome="denied").count() == 1


def test_admins_cannot_change_billing_and_are_audited(client, make_org, add_member, in_org):
    from apps.metering.models import CustomerTier
    from apps.settings.models import AuditEvent

    org = make_org()
    admin = add_member(org, "admin")
    client.force_login(admin)
    response = _htmx(client, org, "tiers/", {"slug": "gold", "name": "Gold"})
    assert response.status_code == 403
    in_org(org)
    assert not CustomerTier.objects.exists()
    assert AuditEvent.objects.filter(action="billing.edit", outcome="denied").count() == 1


def test_a_stranger_gets_404(client, make_org):
    first, second = make_org(), make_org()
    client.force_login(second.owner)
    assert _page(client, first).status_code == 404


def test_owner_creates_edits_and_deletes_a_tier_with_htmx(client, make_org, in_org):
    from apps.metering.models import CustomerTier

    org = make_org()
    client.force_login(org.owner)
    created = _htmx(
        client,
        org,
        "tiers/",
        {
            "slug": "gold",
            "name": "Gold",
            "limit_api_calls_per_minute": "100",
            "mode_api_calls_per_minute": "soft",
            "limit_events_per_day": "",
        },
    )
    assert created.status_code == 200
    html = created.content.decode()
    assert html.lstrip().startswith('<div id="tiers-panel">')  # only the panel
    assert "Tier Gold created." in html and "API calls per minute: 100 · Soft" in html
    in_org(org)
    tier = CustomerTier.objects.get(slug="gold")
    assert tier.limits == {"api_calls_per_minute": 100} and tier.enforcements == {"api_calls_per_minute": "soft"}

    form = _htmx(client, org, "tiers/?edit=gold", method="get").content.decode()
    assert "Edit tier Gold" in form and 'value="100"' in form
    saved = _htmx(client, org, "tiers/gold/", {"name": "Gold+", "limit_events_per_day": "9"})
    assert saved.status_code == 200 and "Tier Gold+ saved." in saved.content.decode()
    in_org(org)
    tier.refresh_from_db()
    assert tier.limits == {"events_per_day": 9}

    deleted = _htmx(client, org, "tiers/gold/delete")
    assert deleted.status_code == 200 and "Tier gold deleted." in deleted.content.decode()


def test_bad_tier_forms_are_shown_again_with_errors(client, make_org):
    org = make_org()
    client.force_login(org.owner)
    bad = _htmx(client, org, "tiers/", {"slug": "Not a slug!", "name": "", "limit_events_per_day": "-4"})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "error" in html and 'id="tier-form"' in html
    _htmx(client, org, "tiers/", {"slug": "gold", "name": "Gold"})
    duplicate = _htmx(client, org, "tiers/", {"slug": "gold", "name": "Gold"})
    assert duplicate.status_code == 409 and "already exists" in duplicate.content.decode()


def test_owner_customizes_a_customers_limits_with_htmx(client, make_org, customer_in, in_org):
    from apps.metering.models import CustomerLimit

    org = make_org(plan="free")
    customer_in(org, "acme")
    client.force_login(org.owner)
    form = _htmx(client, org, "customer-limits/?customer=acme", method="get")
    assert form.status_code == 200
    assert 'id="customer-limits-form"' in form.content.decode()

    saved = _htmx(
        client,
        org,
        "customer-limits/",
        {
            "customer": "acme",
            "limit_api_calls_per_minute": "7",
            "mode_api_calls_per_minute": "notify",
            "unlimited_events_per_day": "on",
        },
    )
    assert saved.status_code == 200
    html = saved.content.decode()
    assert "Limits of acme saved." in html
    assert "API calls per minute: 7 · notify" in html and "Events per day: no limit" in html
    in_org(org)
    rows = {r.dimension: (r.limit, r.enforcement) for r in CustomerLimit.objects.all()}
    assert rows == {"api_calls_per_minute": (7, "notify"), "events_per_day": (None, "")}

    cleared = _htmx(client, org, "customer-limits/acme/clear")
    assert cleared.status_code == 200 and "acme follows its tier again." in cleared.content.decode()
    in_org(org)
    assert not CustomerLimit.objects.exists()


def test_customer_limit_form_errors(client, make_org, customer_in):
    org = make_org()
    customer_in(org, "acme")
    client.force_login(org.owner)
    unknown = _htmx(client, org, "customer-limits/?customer=nobody", method="get")
    assert unknown.status_code == 404 and "nobody" in unknown.content.decode()
    orphan_mode = _htmx(client, org, "customer-limits/", {"customer": "acme", "mode_events_per_day": "soft"})
    assert orphan_mode.status_code == 400 and "Give a limit" in orphan_mode.content.decode()


def test_the_quota_panel_polls_its_own_fragment(client, make_org, api):
    org = make_org(plan="free")
    client.force_login(org.owner)
    api(org).get("/api/v1/customers")
    response = client.get(f"/o/{org.slug}/settings/billing/?panel=quotas", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="quota-panel"') and "1 / 20" in html
    assert "<h1>" not in html


def test_the_billing_page_shows_stale_figures_when_redis_is_away(client, make_org, settings, own_redis):
    settings.FASTN_QUOTA_REDIS_URL = own_redis.url
    org = make_org()
    own_redis.stop()
    client.force_login(org.owner)
    response = _page(client, org)
    assert response.status_code == 200
    assert "Live counters are unavailable" in response.content.decode()


def test_an_unknown_tier_is_a_404_message_not_an_error_page(client, make_org):
    org = make_org()
    client.force_login(org.owner)
    edit = _htmx(client, org, "tiers/?edit=ghost", method="get")
    assert edit.status_code == 404 and "No customer tier" in edit.content.decode()
    assert _htmx(client, org, "tiers/ghost/", {"name": "X"}).status_code == 404
    assert _htmx(client, org, "tiers/ghost/delete").status_code == 404
