"""Sign up → verify the address (locmem e-mail) → the five steps → Home with the chosen connectors installed."""

from __future__ import annotations

import re

import pytest
from django.core import mail

pytestmark = [pytest.mark.browser]


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """The server thread and this test share committed data (as `live_org` does)."""
    with django_db_blocker.unblock():
        yield


def test_a_new_team_signs_up_and_walks_the_setup_assistant(page, web_server, settings, httpserver, committed):
    settings.ACCOUNT_ALLOW_REGISTRATION = True
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    settings.FASTN_ALLOW_PRIVATE_NETWORK = True
    httpserver.expect_request("/").respond_with_data(
        '<html><head><title>Tidewater</title><meta name="description" content="Invoices for boat yards.">'
        "</head></html>",
        content_type="text/html",
    )
    name = f"Tidewater {id(page) % 100000}"
    email = f"founder-{id(page) % 100000}@tidewater.test"
    page.goto(f"{web_server}/accounts/signup/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", "a-Long-passphrase-42")
    page.fill("input[name=password2]", "a-Long-passphrase-42")
    page.fill("input[name=organization]", name)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/confirm-email/$"))
    message = next(m for m in reversed(mail.outbox) if email in m.to)
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)
    page.goto(web_server + "/" + link.split("://", 1)[1].split("/", 1)[1])
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/setup/1/$"))

    page.fill("input[name=website]", httpserver.url_for("/"))
    page.click("button[value=fetch]")
    page.locator("[data-testid=website-suggestion]").wait_for()
    assert page.locator("textarea[name=description]").input_value() == "Invoices for boat yards."
    page.click("[data-testid=setup-next]")
    page.wait_for_url(re.compile(r".*/setup/2/$"))
    page.check("input[value=payments]")
    page.check("input[value=notifications]")
    page.click("[data-testid=setup-next]")
    page.wait_for_url(re.compile(r".*/setup/3/$"))
    assert page.locator("input[name=connectors][value=stripe]").is_checked()  # suggested from "payments"
    assert page.locator("input[name=connectors][value=slack]").is_checked()
    page.uncheck("input[name=connectors][value=discord]")
    page.uncheck("input[name=connectors][value=twilio]")
    for slug in ("gmail", "intercom", "microsoft-graph", "quickbooks", "xero"):
        box = page.locator(f"input[name=connectors][value={slug}]")
        if box.is_checked():
            box.uncheck()
    page.screenshot(path="/tmp/fastn-screenshots/setup-step-3-connectors.png", full_page=True)
    page.click("[data-testid=setup-next]")
    page.wait_for_url(re.compile(r".*/setup/4/$"))
    assert page.locator("[data-testid=setup-progress] a[data-state=done]").count() == 3
    page.check("input[value=ticket-to-chat]")
    page.click("[data-testid=setup-next]")
    page.wait_for_url(re.compile(r".*/setup/5/$"))
    assert "fastn_cs_" in page.locator("[data-testid=embed-snippet]").inner_text()
    page.screenshot(path="/tmp/fastn-screenshots/setup-step-5-embed.png", full_page=True)
    page.click("[data-testid=setup-next]")
    page.wait_for_url(re.compile(r".*/o/[a-z0-9-]+/$"))
    page.locator("[data-testid=command-center]").wait_for()
    connectors = page.locator("[data-testid=card-connectors]").inner_text()
    assert "Stripe" in connectors and "Slack" in connectors
    page.screenshot(path="/tmp/fastn-screenshots/setup-done-home.png", full_page=True)

    from apps.accounts.models import User
    from apps.core.models import Organization
    from apps.core.services import organization_delete

    organization_delete(organization=Organization.objects.get(name=name))
    User.objects.filter(email=email).delete()
