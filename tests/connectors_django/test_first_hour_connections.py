"""Integrations, as a newcomer meets them: a failed credential check keeps
every field chosen, a connection saved unchecked says so, and OAuth
connectors say what they need before anyone clicks Connect."""

import pytest

from tests.connectors_django.fake_provider import API_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client, org_a):
    client.force_login(org_a.owner)
    return client


def url(org, path=""):
    return f"/o/{org.slug}/{path}"


def test_a_failed_check_comes_back_with_the_chosen_customer_and_token(
    owner, org_a, api, customer, provider, private_network
):
    api(org_a).post("/api/v1/connectors", provider.key_definition())
    customer(org_a, "acme-r1", "Acme R1")
    customer(org_a, "acme-r2", "Acme R2")
    wrong = owner.post(
        url(org_a, "integrations/connections/"),
        {"customer": "acme-r2", "connector": "keyapp", "credentials.api_key": "wrong-key-0000"},
    )
    page = wrong.content.decode()
    assert wrong.status_code == 400 and "Invalid API key provided" in page
    assert '<option value="acme-r2" selected>' in page
    assert '<option value="acme-r1" selected>' not in page
    assert 'name="credentials.api_key" type="password" autocomplete="off" value="wrong-key-0000"' in page
    assert '<option value="keyapp" selected>' in page


def test_a_connection_saved_without_a_check_says_not_checked_until_checked(
    owner, org_a, api, customer, provider, private_network, in_org
):
    api(org_a).post("/api/v1/connectors", provider.key_definition())
    customer(org_a, "cust-1", "Customer One")
    saved = owner.post(
        url(org_a, "integrations/connections/"),
        {"customer": "cust-1", "connector": "keyapp", "credentials.api_key": API_KEY, "skip_verify": "on"},
    )
    page = saved.content.decode()
    assert saved.status_code == 200
    assert 'data-testid="status-not-checked"' in page and ">Connected</span>" not in page

    from apps.connectors.models import Connection

    in_org(org_a)
    connection = Connection.objects.get()
    from django.db import connection as db

    db.set_schema_to_public()
    checked = owner.post(url(org_a, f"integrations/connections/{connection.pk}/verify"), HTTP_HX_REQUEST="true")
    body = checked.content.decode()
    assert "The provider accepted the credentials." in body
    assert 'data-testid="status-not-checked"' not in body and ">Connected</span>" in body


def test_oauth_connectors_say_they_need_an_oauth_app_on_the_card_and_the_page(owner, org_a, settings):
    settings.FASTN_OAUTH_CALLBACK_URL = "http://fastn.example/api/v1/oauth/callback"
    page = owner.get(url(org_a, "integrations/connectors/")).content.decode()
    card = page.split('data-testid="catalog-hubspot"', 1)[1].split("</article>", 1)[0]
    assert 'data-testid="oauth-needed-hubspot"' in card
    assert f"/o/{org_a.slug}/settings/oauth-apps/" in card and "http://fastn.example/api/v1/oauth/callback" in card
    stripe = page.split('data-testid="catalog-stripe"', 1)[1].split("</article>", 1)[0]
    assert "oauth-needed" not in stripe  # an API-key connector needs no OAuth app

    owner.post(url(org_a, "integrations/catalog/hubspot/install"), HTTP_HX_REQUEST="true")
    detail = owner.get(url(org_a, "integrations/connectors/hubspot/")).content.decode()
    assert 'data-testid="oauth-needed-hubspot"' in detail
    assert 'id="oauth-redirect-uri">http://fastn.example/api/v1/oauth/callback<' in detail

    settings.FASTN_PLATFORM_OAUTH_APPS = {"hubspot": {"client_id": "platform-id", "client_secret": "s"}}
    ready = owner.get(url(org_a, "integrations/connectors/hubspot/")).content.decode()
    assert 'data-testid="oauth-ready-hubspot"' in ready and "oauth-needed-hubspot" not in ready
