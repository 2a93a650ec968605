"""Dashboard pages: Integrations (landing, Connectors with the catalogue,
a connector's page, the JSON editor, OpenAPI import, Connections) and
Settings → OAuth Apps, with their permissions."""

from pathlib import Path

import pytest

from apps.accounts.models import Membership, User
from apps.connectors.models import Connection, Connector, OAuthApp
from apps.settings.models import AuditEvent
from tests.connectors_django.fake_provider import API_KEY, CLIENT_ID, CLIENT_SECRET, query_of

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "connectors" / "fixtures"


@pytest.fixture
def owner(client, org_a):
    client.force_login(org_a.owner)
    return client


def url(org, path=""):
    return f"/o/{org.slug}/{path}"


def member(org, role):
    user = User.objects.create_user(email=f"{role}@alpha.test", password="pw-member-123")
    Membership.objects.create(user=user, organization=org.organization, role=role)
    return user


def test_integrations_landing_has_tabs_and_counts(owner, org_a):
    page = owner.get(url(org_a, "integrations/")).content.decode()
    assert 'aria-label="Integrations"' in page
    assert ">Connectors</a>" in page and ">Connections</a>" in page
    assert "Connectors installed" in page and "Need re-authorisation" in page


def test_catalogue_search_install_and_the_connector_appears(owner, org_a, in_org):
    page = owner.get(url(org_a, "integrations/connectors/")).content.decode()
    assert 'data-testid="catalog-hubspot"' in page and "No connectors yet" in page
    cards = owner.get(
        url(org_a, "integrations/connectors/"), {"q": "hub"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="catalog-cards"
    ).content.decode()
    assert "catalog-hubspot" in cards and "catalog-slack" not in cards
    crm = owner.get(
        url(org_a, "integrations/connectors/"),
        {"category": "crm"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="catalog-cards",
    ).content.decode()
    assert "catalog-salesforce" in crm and "catalog-stripe" not in crm

    installed = owner.post(url(org_a, "integrations/catalog/hubspot/install"), HTTP_HX_REQUEST="true")
    body = installed.content.decode()
    assert installed.status_code == 200
    assert "HubSpot installed." in body and 'data-slug="hubspot"' in body
    again = owner.post(url(org_a, "integrations/catalog/hubspot/install"), HTTP_HX_REQUEST="true")
    assert again.status_code == 400 and "installed already" in again.content.decode()
    in_org(org_a)
    assert Connector.objects.filter(slug="hubspot", source="catalog").exists()
    assert AuditEvent.objects.filter(action="connector.create", resource_id="hubspot").exists()


def test_new_connector_editor_shows_problems_by_path(owner, org_a):
    page = owner.get(url(org_a, "integrations/connectors/new/"))
    assert page.status_code == 200 and "acme-crm" in page.content.decode()
    bad_json = owner.post(url(org_a, "integrations/connectors/new/"), {"definition": "{not json"})
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.content.decode()
    invalid = owner.post(
        url(org_a, "integrations/connectors/new/"),
        {"definition": '{"slug": "x1", "name": "X", "base_url": "ftp://x", "actions": {"a": {"method": "FETCH"}}}'},
    )
    body = invalid.content.decode()
    assert invalid.status_code == 400
    assert "<code>$.base_url</code>" in body and "<code>$.actions.a.method</code>" in body
    assert "<code>$.actions.a.path</code>" in body
    created = owner.post(
        url(org_a, "integrations/connectors/new/"),
        {
            "definition": '{"slug": "x1", "name": "X", "base_url": "https://x.example", '
            '"actions": {"a": {"method": "GET", "path": "/a"}}}'
        },
    )
    assert created.status_code == 302 and created["Location"].endswith("/integrations/connectors/x1/")


def test_editing_makes_a_version_and_the_detail_page_shows_it(owner, org_a, api):
    api(org_a).post("/api/v1/catalog/stripe/install")
    edit = owner.get(url(org_a, "integrations/connectors/stripe/edit/"))
    assert edit.status_code == 200 and "api.stripe.com" in edit.content.decode()
    definition = api(org_a).get("/api/v1/connectors/stripe").json()["definition"]
    definition["description"] = "Payments, edited"
    import json

    saved = owner.post(
        url(org_a, "integrations/connectors/stripe/edit/"), {"definition": json.dumps(definition)}, follow=True
    )
    page = saved.content.decode()
    assert "Saved as version 2." in page
    assert "v2" in page and "Edited in the dashboard" in page and "createCustomer" in page
    same = owner.post(
        url(org_a, "integrations/connectors/stripe/edit/"), {"definition": json.dumps(definition)}, follow=True
    )
    assert "No change" in same.content.decode()
    renamed = owner.post(
        url(org_a, "integrations/connectors/stripe/edit/"), {"definition": json.dumps({**definition, "slug": "other"})}
    )
    assert renamed.status_code == 400 and "<code>$.slug</code>" in renamed.content.decode()


def test_detail_page_lists_recent_calls(owner, org_a, api, customer, provider, settings):
    settings.FASTN_ALLOW_PRIVATE_NETWORK = True
    api(org_a).post("/api/v1/connectors", provider.key_definition())
    customer(org_a, "cust-1")
    api(org_a, customer="cust-1").post(
        "/api/v1/connections", {"connector": "keyapp", "credentials": {"api_key": API_KEY}}
    )
    api(org_a, customer="cust-1").post("/api/v1/connectors/keyapp/actions/fail/run", {})
    page = owner.get(url(org_a, "integrations/connectors/keyapp/")).content.decode()
    assert 'id="connector-traces"' in page and "<code>fail</code>" in page and "cust-1" in page
    assert "Bad request for key [REDACTED]" in page and API_KEY not in page


def test_toggle_and_delete(owner, org_a, api, in_org):
    api(org_a).post("/api/v1/catalog/slack/install")
    toggled = owner.post(url(org_a, "integrations/connectors/slack/toggle"), follow=True)
    assert "Slack disabled." in toggled.content.decode()
    deleted = owner.post(url(org_a, "integrations/connectors/slack/delete"), follow=True)
    assert "Connector slack deleted." in deleted.content.decode()
    in_org(org_a)
    assert not Connector.objects.filter(slug="slack").exists()


def test_openapi_import_page(owner, org_a):
    page = owner.get(url(org_a, "integrations/connectors/import/"))
    assert page.status_code == 200
    empty = owner.post(url(org_a, "integrations/connectors/import/"), {"document": ""})
    assert empty.status_code == 400 and "Paste an OpenAPI document" in empty.content.decode()
    swagger = owner.post(url(org_a, "integrations/connectors/import/"), {"document": '{"swagger": "2.0"}'})
    assert swagger.status_code == 400 and "only OpenAPI 3.0 and 3.1" in swagger.content.decode()
    with (FIXTURES / "petstore.yaml").open("rb") as handle:
        imported = owner.post(
            url(org_a, "integrations/connectors/import/"), {"file": handle, "slug": "pets"}, follow=True
        )
    assert "Swagger Petstore imported: 3 actions." in imported.content.decode()


def test_connections_page_connects_checks_and_deletes(owner, org_a, api, customer, provider, settings, in_org):
    settings.FASTN_ALLOW_PRIVATE_NETWORK = True
    api(org_a).post("/api/v1/connectors", provider.key_definition())
    customer(org_a, "cust-1", "Customer One")
    fields = owner.get(
        url(org_a, "integrations/connections/"),
        {"connector": "keyapp"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="new-connection-fields",
    ).content.decode()
    assert 'name="credentials.api_key"' in fields and 'type="password"' in fields

    wrong = owner.post(
        url(org_a, "integrations/connections/"),
        {"customer": "cust-1", "connector": "keyapp", "credentials.api_key": "wrong-key-0000"},
    )
    assert wrong.status_code == 400 and "Invalid API key provided" in wrong.content.decode()
    right = owner.post(
        url(org_a, "integrations/connections/"),
        {"customer": "cust-1", "connector": "keyapp", "credentials.api_key": API_KEY},
    )
    page = right.content.decode()
    assert right.status_code == 200 and "Connected cust-1 to Key App." in page
    assert "Customer One" in page and API_KEY not in page and "wrong-key-0000" not in page
    assert page.count('name="credentials.api_key"') == 1  # the row's Reconnect form

    in_org(org_a)
    connection = Connection.objects.get()
    from django.db import connection as db

    db.set_schema_to_public()
    checked = owner.post(url(org_a, f"integrations/connections/{connection.pk}/verify"), HTTP_HX_REQUEST="true")
    assert "The provider accepted the credentials." in checked.content.decode()
    reconnected = owner.post(
        url(org_a, f"integrations/connections/{connection.pk}/reconnect"),
        {"credentials.api_key": API_KEY},
        HTTP_HX_REQUEST="true",
    )
    assert "Reconnected Key App." in reconnected.content.decode()
    rows = owner.get(
        url(org_a, "integrations/connections/"),
        {"status": "error"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="connection-rows",
    ).content.decode()
    assert "No connection matches." in rows
    deleted = owner.post(url(org_a, f"integrations/connections/{connection.pk}/delete"), HTTP_HX_REQUEST="true")
    assert "Connection to Key App deleted." in deleted.content.decode()


def test_oauth_connection_from_the_dashboard(owner, org_a, api, customer, provider, settings):
    settings.FASTN_ALLOW_PRIVATE_NETWORK = True
    api(org_a).post("/api/v1/connectors", provider.definition())
    customer(org_a, "cust-1")
    no_app = owner.get(url(org_a, "integrations/connections/oauth/fakeapp/start"), {"customer": "cust-1"}, follow=True)
    assert "No OAuth app is configured" in no_app.content.decode()
    api(org_a).post(
        "/api/v1/oauth-apps", {"connector": "fakeapp", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    )
    fields = owner.get(
        url(org_a, "integrations/connections/"),
        {"connector": "fakeapp"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="new-connection-fields",
    ).content.decode()
    assert "Connect with Fake App" in fields and "credentials." not in fields
    start = owner.get(url(org_a, "integrations/connections/oauth/fakeapp/start"), {"customer": "cust-1"})
    assert start.status_code == 302 and start["Location"].startswith(provider.url)
    assert query_of(start["Location"])["redirect_uri"].endswith("/api/v1/oauth/callback")
    import httpx

    back = httpx.get(start["Location"], follow_redirects=False).headers["location"]
    done = owner.get(back.replace("http://127.0.0.1:8000", ""))
    assert done.status_code == 302 and "/integrations/connections/?status=connected" in done["Location"]
    landing = owner.get(done["Location"].replace("http://testserver", "")).content.decode()
    assert "Connected. The credentials are stored encrypted." in landing
    failed = owner.get(url(org_a, "integrations/connections/"), {"status": "error", "error": "access_denied"})
    assert "Connecting failed: access_denied" in failed.content.decode()


def test_oauth_apps_page(owner, org_a, in_org, settings):
    settings.FASTN_PLATFORM_OAUTH_APPS = {
        "slack": {"client_id": "platform-slack", "client_secret": "platform-secret-x"}
    }
    page = owner.get(url(org_a, "settings/oauth-apps/")).content.decode()
    assert "OAuth Apps" in page and "platform-slack" in page and "platform-secret-x" not in page
    assert '<option value="hubspot">' in page  # catalogue OAuth connectors can be chosen
    created = owner.post(
        url(org_a, "settings/oauth-apps/"),
        {
            "connector": "hubspot",
            "client_id": "hub-client",
            "client_secret": "hub-secret-value",
            "scopes": "crm.objects.contacts.read oauth",
        },
        HTTP_HX_REQUEST="true",
    )
    body = created.content.decode()
    assert "OAuth app for hubspot saved." in body and "hub-secret-value" not in body
    kept = owner.post(
        url(org_a, "settings/oauth-apps/"),
        {"connector": "hubspot", "client_id": "hub-client-2"},
        HTTP_HX_REQUEST="true",
    )
    assert "OAuth app for hubspot updated." in kept.content.decode()
    in_org(org_a)
    app = OAuthApp.objects.get()
    assert app.client_id == "hub-client-2" and app.client_secret_ciphertext  # the secret was kept
    assert app.scopes is None
    from django.db import connection as db

    db.set_schema_to_public()
    bad = owner.post(
        url(org_a, "settings/oauth-apps/"), {"connector": "stripe", "client_id": "x"}, HTTP_HX_REQUEST="true"
    )
    assert bad.status_code == 400  # stripe does not use OAuth: not a choice
    deleted = owner.post(url(org_a, "settings/oauth-apps/hubspot/delete"), HTTP_HX_REQUEST="true")
    assert "OAuth app for hubspot deleted." in deleted.content.decode()


def test_viewer_sees_but_cannot_change_and_is_audited(client, org_a, in_org, api):
    api(org_a).post("/api/v1/catalog/github/install")
    client.force_login(member(org_a, "viewer"))
    for path in (
        "integrations/",
        "integrations/connectors/",
        "integrations/connectors/github/",
        "integrations/connections/",
        "settings/oauth-apps/",
    ):
        assert client.get(url(org_a, path)).status_code == 200, path
    assert client.post(url(org_a, "integrations/catalog/slack/install")).status_code == 403
    assert client.post(url(org_a, "integrations/connectors/github/delete")).status_code == 403
    assert client.get(url(org_a, "integrations/connectors/new/")).status_code == 200
    assert client.post(url(org_a, "integrations/connectors/new/"), {"definition": "{}"}).status_code == 403
    assert client.post(url(org_a, "integrations/connections/"), {"connector": "github"}).status_code == 403
    assert client.post(url(org_a, "settings/oauth-apps/"), {"connector": "github", "client_id": "x"}).status_code == 403
    in_org(org_a)
    assert AuditEvent.objects.filter(outcome="denied", action__startswith="connectors.").count() >= 3
    assert not Connector.objects.filter(slug="slack").exists()


def test_tabs_follow_the_role(client, org_a):
    client.force_login(member(org_a, "end_user"))
    page = client.get(url(org_a, "integrations/")).content.decode()
    assert ">Connectors</a>" in page and ">Connections</a>" in page
    assert client.post(url(org_a, "integrations/catalog/slack/install")).status_code == 403


def test_strangers_get_404(client, org_a, org_b):
    client.force_login(org_b.owner)
    for path in ("integrations/", "integrations/connectors/", "integrations/connections/", "settings/oauth-apps/"):
        assert client.get(url(org_a, path)).status_code == 404


def test_unknown_connector_and_connection_pages_are_404(owner, org_a):
    assert owner.get(url(org_a, "integrations/connectors/nope/")).status_code == 404
    assert owner.post(url(org_a, "integrations/connections/not-a-uuid/delete")).status_code == 404
