"""The shipped catalogue: every entry valid, complete and buildable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.connectors.catalog import catalog_files, get_connector, load_catalog
from apps.connectors.definition import validate_definition
from apps.connectors.executor import build_request

REQUIRED = {
    "hubspot", "salesforce", "slack", "github", "shopify", "stripe", "google-sheets", "gmail",
    "google-calendar", "microsoft-graph", "jira", "confluence", "notion", "zendesk", "intercom",
    "freshdesk", "asana", "trello", "linear", "airtable", "mailchimp", "twilio", "sendgrid",
    "quickbooks", "xero", "pipedrive", "zoho-crm", "cin7-core", "dropbox", "box",
}  # fmt: skip

FILES = catalog_files()


def test_the_catalogue_holds_at_least_32_connectors_including_the_required_ones() -> None:
    catalog = load_catalog()
    assert len(catalog) >= 32
    assert REQUIRED <= set(catalog)


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_each_catalogue_file_validates(path: Any) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert validate_definition(data) == []
    assert data["slug"] == path.stem


@pytest.mark.parametrize("slug", sorted(p.stem for p in FILES))
def test_each_connector_is_usable(slug: str) -> None:
    definition = get_connector(slug)
    assert definition is not None
    assert definition["base_url"].startswith(("https://", "{{connection."))
    assert 4 <= len(definition["actions"]) <= 12
    for action in definition["actions"].values():
        assert action["description"], "every action says what it does"
    # Every OAuth connector knows where to send the customer and where to get tokens.
    auth = definition["auth"]
    if auth["type"] == "oauth2":
        assert auth["token_url"].startswith("https://")
        assert auth["authorization_url"].startswith("https://")


WITH_VERIFY = sorted(p.stem for p in FILES)


@pytest.mark.parametrize("slug", WITH_VERIFY)
def test_verify_actions_build_a_request_without_parameters(slug: str) -> None:
    definition = get_connector(slug)
    assert definition is not None and definition.get("verify"), f"{slug} has no verify action"
    credentials = {
        "api_key": "key-1234567", "token": "tok-1234567", "access_token": "acc-1234567",
        "username": "user", "password": "pw-1234567", "auth_token": "auth-1234567",
        "account_id": "acct-123456", "application_key": "app-1234567",
    }  # fmt: skip
    connection = {
        "shop": "acme", "instance_url": "https://acme.my.salesforce.com",
        "cloud_id": "11111111-2222-3333-4444-555555555555", "subdomain": "acme", "domain": "acme",
        "dc": "us6", "account_sid": "AC" + "0" * 32, "realm_id": "1234",
        "tenant_id": "11111111-2222-3333-4444-555555555555",
    }  # fmt: skip
    request = build_request(definition, definition["verify"], {}, credentials=credentials, connection_config=connection)
    assert request.url.startswith("https://")
    shown = request.shown_url()
    for secret in credentials.values():
        if len(secret) >= 4:
            assert secret not in shown


@pytest.mark.parametrize("slug", ["github", "stripe", "shopify", "slack"])
def test_webhook_providers_declare_their_signature_scheme(slug: str) -> None:
    definition = get_connector(slug)
    assert definition is not None
    assert definition["events"]["webhook"]["signature"]["scheme"] == slug


def test_load_catalog_returns_copies() -> None:
    first = load_catalog()
    first["github"]["name"] = "changed"
    assert load_catalog()["github"]["name"] == "GitHub"
    assert get_connector("no-such-connector") is None


def test_templated_hosts_use_the_connection_settings() -> None:
    shopify = get_connector("shopify")
    assert shopify is not None
    request = build_request(
        shopify, "getShop", credentials={"access_token": "shpat_123456"}, connection_config={"shop": "acme"}
    )
    assert request.url == "https://acme.myshopify.com/admin/api/2025-07/shop.json"
    assert request.headers["X-Shopify-Access-Token"] == "shpat_123456"
    zendesk = get_connector("zendesk")
    assert zendesk is not None
    ticket = build_request(
        zendesk,
        "getTicket",
        {"ticket_id": 5},
        credentials={"access_token": "t-123456"},
        connection_config={"subdomain": "help"},
    )
    assert ticket.url == "https://help.zendesk.com/api/v2/tickets/5.json"


def test_notion_sends_its_version_header_and_cin7_its_key_headers() -> None:
    notion = get_connector("notion")
    assert notion is not None
    request = build_request(notion, "getMe", credentials={"access_token": "secret_abcdef"})
    assert request.headers["Notion-Version"] == "2022-06-28"
    cin7 = get_connector("cin7-core")
    assert cin7 is not None
    request = build_request(cin7, "getMe", credentials={"account_id": "acc-1", "application_key": "key-1"})
    assert request.headers["api-auth-accountid"] == "acc-1"
    assert request.headers["api-auth-applicationkey"] == "key-1"


def test_stripe_bodies_are_form_encoded_with_brackets() -> None:
    stripe = get_connector("stripe")
    assert stripe is not None
    request = build_request(
        stripe,
        "createCustomer",
        {"email": "a@b.co", "metadata": {"plan": "pro"}},
        credentials={"token": "sk_test_123456"},
    )
    assert request.content_type == "form"
    assert request.body == {"email": "a@b.co", "metadata[plan]": "pro"}
    assert request.headers["Authorization"] == "Bearer sk_test_123456"


def test_linear_posts_graphql_with_variables() -> None:
    linear = get_connector("linear")
    assert linear is not None
    request = build_request(
        linear, "createIssue", {"teamId": "T1", "title": "Bug"}, credentials={"access_token": "lin_oauth_123456"}
    )
    assert request.method == "POST" and request.url == "https://api.linear.app/graphql"
    assert request.body["variables"] == {"input": {"teamId": "T1", "title": "Bug"}}
    assert request.body["query"].startswith("mutation IssueCreate")


def test_salesforce_refuses_an_instance_url_outside_salesforce() -> None:
    from apps.connectors.exceptions import ConnectionConfigError

    salesforce = get_connector("salesforce")
    assert salesforce is not None
    with pytest.raises(ConnectionConfigError) as caught:
        build_request(
            salesforce,
            "listSObjects",
            credentials={"access_token": "00D-123456"},
            connection_config={"instance_url": "https://evil.example"},
        )
    assert caught.value.field == "instance_url"
