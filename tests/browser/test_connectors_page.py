"""Integrations → Connectors in a real browser: search the catalogue, install
a connector, and see it among the organization's connectors."""

import re

import pytest

from tests.browser.test_settings_pages import sign_in

pytestmark = [pytest.mark.browser]


def test_catalogue_install_makes_the_connector_appear(page, web_server, live_org):
    org = live_org()
    sign_in(page, web_server, org)
    page.click("nav.mainnav >> text=Integrations")
    page.wait_for_url(re.compile(r".*/integrations/$"))
    page.click("nav.tabs >> text=Connectors")
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
