"""Settings → Billing in a real browser: the quota table, a tier, a customer's limits, the credits counter."""

import re

import pytest

pytestmark = [pytest.mark.browser]


def settled(page):
    """Wait until htmx has swapped and wired new content (a click before that submits natively)."""
    page.wait_for_function("() => !document.querySelector('.htmx-swapping, .htmx-settling, .htmx-request')")


def sign_in(page, web_server, org):
    page.goto(f"{web_server}/accounts/login/")
    page.fill("input[name=login]", org.owner.email)
    page.fill("input[name=password]", org.owner_password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{web_server}/o/{org.slug}/")


def test_owner_reads_quotas_adds_a_tier_and_customizes_a_customer(page, web_server, live_org):
    org = live_org(plan="free")
    headers = {"x-fastn-access-key": org.keys["live"], "x-fastn-account-id": org.account_id}
    sign_in(page, web_server, org)
    assert re.search(r"1,000 credits left", page.locator("[data-testid=credits]").inner_text())

    for _ in range(3):
        page.request.get(f"{web_server}/api/v1/customers", headers=headers)
    created = page.request.post(
        f"{web_server}/api/v1/customers", headers=headers, data={"external_id": "acme", "name": "Acme", "tier": "gold"}
    )
    assert created.status == 201

    page.click("nav.mainnav >> text=Settings")
    page.click("nav.sidenav >> text=Billing")
    page.wait_for_url(re.compile(r".*/settings/billing/$"))
    row = page.locator("#quota-table tr[data-dimension=api_calls_per_minute]")
    assert "20" in row.inner_text() and "Hard Block" in row.inner_text()
    assert re.search(r"\b[4-5] / 20\b", row.inner_text())

    page.fill("#tier-form input[name=slug]", "gold")
    page.fill("#tier-form input[name=name]", "Gold")
    page.fill("#tier-form input[name=limit_api_calls_per_minute]", "5")
    page.select_option("#tier-form select[name=mode_api_calls_per_minute]", "soft")
    page.click("#tier-form button[type=submit]")
    page.locator("text=Tier Gold created.").wait_for()
    settled(page)
    assert "API calls per minute: 5 · Soft" in page.locator("#tiers-table").inner_text()

    page.fill("#customer-limits-panel input[name=customer]", "acme")
    page.click("#customer-limits-panel >> text=Show limits")
    page.locator("#customer-limits-form").wait_for()
    settled(page)
    page.fill("#customer-limits-form input[name=limit_api_calls_per_minute]", "8")
    page.click("#customer-limits-form >> text=Save limits")
    page.locator("text=Limits of acme saved.").wait_for()
    settled(page)
    effective = page.locator("#customer-limits-form tr[data-dimension=api_calls_per_minute]").inner_text()
    assert "8" in effective and "customer" in effective and "soft" in effective

    # The limit applies to the API at once.
    customer_headers = {**headers, "x-fastn-account-tenant-id": "acme"}
    statuses = [page.request.get(f"{web_server}/api/v1/customers", headers=customer_headers) for _ in range(3)]
    assert all(r.status == 200 for r in statuses)
