"""Fixtures for the Django half of the connector layer: a fake provider on
loopback, customers, and private-network access for calls to it."""

from __future__ import annotations

import copy

import pytest

from tests.connectors_django.fake_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider

MINIMAL = {
    "slug": "acme-crm",
    "name": "Acme CRM",
    "base_url": "https://api.acme.example/v2",
    "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
    "actions": {
        "listContacts": {"method": "GET", "path": "/contacts"},
        "getContact": {"method": "GET", "path": "/contacts/{id}"},
        "createContact": {"method": "POST", "path": "/contacts"},
    },
}


@pytest.fixture
def minimal():
    return copy.deepcopy(MINIMAL)


@pytest.fixture
def provider():
    server = FakeProvider().start()
    yield server
    server.stop()


@pytest.fixture
def private_network(settings):
    """Connector calls may reach loopback (the fake provider), like `make run`'s stack."""
    settings.FASTN_ALLOW_PRIVATE_NETWORK = True


@pytest.fixture
def customer():
    """customer(org, external_id) → the customer's external id (tests.factories.CustomerFactory)."""
    from tests.factories import CustomerFactory

    def make(org, external_id: str = "cust-1", name: str | None = None) -> str:
        CustomerFactory(org=org, external_id=external_id, name=name or external_id)
        return external_id

    return make


@pytest.fixture
def oauth_app(api):
    """oauth_app(org, connector_slug) → registers the fake provider's client as the organization's app."""

    def make(org, slug: str = "fakeapp", **extra):
        body = {"connector": slug, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **extra}
        response = api(org).post("/api/v1/oauth-apps", body)
        assert response.status_code == 201, response.content
        return response.json()

    return make
