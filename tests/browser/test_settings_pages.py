"""Sign in through the real login page, reach Settings → API Keys, create a key."""

import re

import pytest

pytestmark = [pytest.mark.browser]


def sign_in(page, web_server, org):
    page.goto(f"{web_server}/accounts/login/")
    page.fill("input[name=login]", org.owner.email)
    page.fill("input[name=password]", org.owner_password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{web_server}/o/{org.slug}/")


def test_owner_signs_in_reaches_api_keys_and_creates_a_key(page, web_server, live_org):
    org = live_org()
    sign_in(page, web_server, org)
    page.click("nav.mainnav >> text=Settings")
    # Settings opens on its first page, People; API Keys is in the side menu.
    page.wait_for_url(re.compile(r".*/settings/people/$"))
    page.click("nav.sidenav >> text=API Keys")
    page.wait_for_url(re.compile(r".*/settings/api-keys/$"))
    assert page.locator("h1").inner_text() == "API Keys"

    page.fill("#api-keys-panel input[name=name]", "Browser key")
    page.select_option("#api-keys-panel select[name=kind]", "live")
    page.click("#api-keys-panel button[type=submit]")
    new_key = page.locator("[data-testid=new-key]")
    new_key.wait_for()
    raw = new_key.inner_text()
    assert raw.startswith("fastn_live_")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("[data-testid=copy-new-key]")
    assert page.evaluate("navigator.clipboard.readText()") == raw
    assert page.locator("#api-keys-table tr", has_text="Browser key").count() == 1

    # The key works against the API at once.
    response = page.request.get(
        f"{web_server}/api/v1/customers",
        headers={"x-fastn-access-key": raw, "x-fastn-account-id": org.account_id},
    )
    assert response.status == 200

    # Reloading shows the prefix only, never the key again.
    page.reload()
    assert raw not in page.content()


def test_secrets_and_customers_pages_work_with_htmx(page, web_server, live_org):
    org = live_org()
    sign_in(page, web_server, org)
    page.goto(f"{web_server}/o/{org.slug}/settings/secrets/")
    page.fill("#secrets-panel input[name=name]", "BROWSER_SECRET")
    page.fill("#secrets-panel input[name=value]", "browser-secret-value")
    page.click("#secrets-panel button[type=submit]")
    page.locator("text=Secret BROWSER_SECRET created.").wait_for()
    assert "browser-secret-value" not in page.content()

    page.goto(f"{web_server}/o/{org.slug}/settings/customers/")
    page.fill("#customers-panel input[name=external_id]", "cust-browser")
    page.fill("#customers-panel input[name=name]", "Browser Customer")
    page.click("#customers-panel button[type=submit]")
    page.locator("text=Customer Browser Customer added.").wait_for()
    # The panel was swapped in: wait until htmx has wired its search box.
    page.wait_for_function("document.querySelector('input[type=search]')['htmx-internal-data'] !== undefined")
    page.fill("input[type=search]", "nomatch")
    page.locator("text=No customer matches").wait_for()
    page.fill("input[type=search]", "browser")
    page.locator("#customer-rows >> text=cust-browser").wait_for()

    # An error answer (409: the external ID is taken) shows its message in the form.
    page.wait_for_function("document.querySelector('#customers-panel form')['htmx-internal-data'] !== undefined")
    page.fill("#customers-panel input[name=external_id]", "cust-browser")
    page.fill("#customers-panel input[name=name]", "Again")
    page.click("#customers-panel button[type=submit]")
    page.locator("#customers-panel >> text=already exists").wait_for()
