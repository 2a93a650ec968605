"""Integrations → Connectors in a real browser: search the catalogue, install
a connector, and see it among the organization's connectors."""

import re

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_settings_pages import sign_in

pytestmark = [pytest.mark.browser]


def test_catalogue_install_makes_the_connector_appear(page, web_server, live_org):
    org = live_org()
    sign_in(page, web_server, org)
    page.click("nav.mainnav >> text=Integrations")
    page.wait_for_url(re.compile(r".*/integrations/$"))
    page.click("nav.subnav >> text=Connectors")
    page.wait_for_url(re.compile(r".*/integrations/connectors/$"))
    assert page.locator("#installed-connectors").inner_text().count("No connectors yet") == 1

    page.fill("input[name=q]", "hubs")
    page.locator("[data-testid=catalog-salesforce]").wait_for(state="detached")
    card = page.locator("[data-testid=catalog-hubspot]")
    card.locator("button", has_text="Install").click()
    page.locator("text=HubSpot installed.").wait_for()
    row = page.locator("#installed-connectors tr[data-slug=hubspot]")
    assert row.count() == 1 and "v1" in row.inner_text()
    assert "Installed · v1" in page.locator("[data-testid=catalog-hubspot]").inner_text()
    page.fill("input[name=q]", "")
    page.locator("[data-testid=catalog-salesforce]").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "connectors-catalogue.png"), full_page=False)

    row.locator("a", has_text="HubSpot").click()
    page.wait_for_url(re.compile(r".*/integrations/connectors/hubspot/$"))
    assert page.locator("#connector-actions").inner_text().count("listContacts") == 1
    assert "Installed from the catalogue" in page.locator("#connector-versions").inner_text()


def test_invalid_custom_connector_shows_problems_by_path(page, web_server, live_org):
    org = live_org()
    sign_in(page, web_server, org)
    page.goto(f"{web_server}/o/{org.slug}/integrations/connectors/new/")
    page.fill("textarea[name=definition]", '{"slug": "bad", "name": "Bad", "base_url": "ftp://x", "actions": {}}')
    page.click("button[type=submit]")
    problems = page.locator("#definition-problems")
    problems.wait_for()
    assert "$.base_url" in problems.inner_text() and "$.actions" in problems.inner_text()


def test_connecting_a_customer_with_an_api_key(page, web_server, live_org, settings):
    from tests.conftest import ApiClient
    from tests.connectors_django.fake_provider import API_KEY, FakeProvider

    settings.FASTN_ALLOW_PRIVATE_NETWORK = True
    provider = FakeProvider().start()
    try:
        org = live_org()
        client = ApiClient(org.account_id, org.keys["live"])
        assert client.post("/api/v1/connectors", provider.key_definition()).status_code == 201
        assert client.post("/api/v1/customers", {"external_id": "cust-b", "name": "Browser Co"}).status_code == 201
        sign_in(page, web_server, org)
        page.goto(f"{web_server}/o/{org.slug}/integrations/connections/")
        page.click("[data-testid=new-connection]")
        page.select_option("#new-connection select[name=connector]", "keyapp")
        page.locator("input[name='credentials.api_key']").wait_for()
        page.fill("input[name='credentials.api_key']", "not-the-key-000")
        page.click("#new-connection button[type=submit]")
        page.locator("text=Invalid API key provided").wait_for()
        # The form comes back, in its dialog, with everything chosen kept:
        # customer, connector, and the refused key to correct.
        assert page.input_value("input[name='credentials.api_key']") == "not-the-key-000"
        assert page.input_value("#new-connection select[name=customer]") == "cust-b"
        page.fill("input[name='credentials.api_key']", API_KEY)
        page.click("#new-connection button[type=submit]")
        page.locator("text=Connected cust-b to Key App.").wait_for()
        row = page.locator("#connection-rows tr", has_text="Browser Co")
        assert "Connected" in row.inner_text()
        assert API_KEY not in page.content()
        row.locator("button", has_text="Check").click()
        page.locator("text=The provider accepted the credentials.").wait_for()
    finally:
        provider.stop()
