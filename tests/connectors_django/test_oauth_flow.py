"""The OAuth 2.0 dance against a fake provider on loopback, end to end:
authorize → the provider's consent redirect → callback → tokens stored
encrypted → a call uses them → expiry → refresh → 401 → refresh once →
invalid_grant → needs_reauth; plus the flow's failure paths."""

import time
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
import time_machine
from django.db import connection as db
from django.utils import timezone

from apps.connectors.credentials import credentials_decrypt
from apps.connectors.models import CallTrace, Connection, OAuthState
from apps.connectors.services import ConnectorRunError, connector_call_for_run
from apps.settings.models import AuditEvent, Customer
from tests.connectors_django.fake_provider import CLIENT_ID, CLIENT_SECRET, query_of
from tests.core.test_errors import assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_network")]

RETURN_URL = "https://app.example/integrations/done?tab=apps"


@pytest.fixture(autouse=True)
def return_url_allowed(api, org_a):
    """RETURN_URL is on Alpha's allow-list of OAuth return URLs."""
    response = api(org_a).put("/api/v1/oauth/redirect-uris", {"redirect_uris": ["https://app.example/integrations"]})
    assert response.status_code == 200, response.content


@pytest.fixture
def fakeapp(api, org_a, provider, oauth_app, customer):
    assert api(org_a).post("/api/v1/connectors", provider.definition()).status_code == 201
    oauth_app(org_a)
    customer(org_a, "cust-1")
    return "fakeapp"


def authorize(api, org, customer="cust-1", **params):
    query = {"customer": customer, "redirect_uri": RETURN_URL, **params}
    return api(org).get("/api/v1/oauth/fakeapp/authorize", query)


def begin(client, location: str) -> str:
    """The customer's browser opens the begin link an API-key authorize gave:
    it claims the authorisation and goes on to the provider."""
    parts = urlsplit(location)
    assert parts.path == "/api/v1/oauth/begin", location
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 302, response.content
    return response["Location"]


def consent(location: str, client=None) -> str:
    """Play the customer's browser at the provider: it answers with a redirect
    to our callback. A begin link is opened first with `client` (the browser)."""
    if urlsplit(location).path == "/api/v1/oauth/begin":
        location = begin(client, location)
    response = httpx.get(location, follow_redirects=False)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def callback(client, location: str):
    parts = urlsplit(location)
    assert parts.path == "/api/v1/oauth/callback"
    return client.get(f"{parts.path}?{parts.query}")


def dance(api, org, client, **params) -> dict:
    response = authorize(api, org, **params)
    assert response.status_code == 302, response.content
    back = callback(client, consent(response["Location"], client))
    assert back.status_code == 302, back.content
    return query_of(back["Location"])


def call(action="getMe", params=None, customer_id=None, execution_id=None, secrets=()):
    return connector_call_for_run(
        connector_slug="fakeapp",
        action=action,
        params=params or {},
        customer_id=customer_id,
        deadline=time.monotonic() + 10,
        execution_id=execution_id,
        secrets=secrets,
    )


def test_the_full_dance(api, org_a, client, provider, fakeapp, in_org, settings):
    # 1. authorize → 302 to the provider, with a signed state and PKCE.
    response = authorize(api, org_a)
    assert response.status_code == 302
    # An API key is no browser: the answer is a begin link that the customer's browser claims.
    assert response["Location"].startswith(settings.FASTN_PUBLIC_URL.rstrip("/") + "/api/v1/oauth/begin?ticket=")
    location = begin(client, response["Location"])
    assert location.startswith(f"{provider.url}/oauth/authorize?")
    sent = query_of(location)
    assert sent["client_id"] == CLIENT_ID and sent["response_type"] == "code"
    assert sent["redirect_uri"] == settings.FASTN_OAUTH_CALLBACK_URL
    assert sent["scope"] == "read write" and sent["code_challenge_method"] == "S256"
    assert len(sent["code_challenge"]) == 43 and len(sent["state"]) > 40

    # 2. the provider's consent redirects back with a code; 3. the callback stores the tokens.
    back = callback(client, consent(location))
    assert back.status_code == 302
    assert back["Location"].startswith("https://app.example/integrations/done?")
    result = query_of(back["Location"])
    assert result["status"] == "connected" and result["tab"] == "apps"
    assert provider.last_token_form["code_verifier"]  # PKCE verifier sent with the code
    assert CLIENT_SECRET == provider.last_token_form["client_secret"]

    in_org(org_a)
    connection = Connection.objects.get(pk=result["connection_id"])
    tokens = credentials_decrypt(connection.credentials_ciphertext)
    assert tokens["access_token"].startswith("at-") and tokens["refresh_token"].startswith("rt-")
    assert tokens["access_token"] not in connection.credentials_ciphertext
    assert connection.status == "connected" and connection.scopes == ["read", "write"]
    assert connection.token_expires_at > timezone.now() + timedelta(minutes=50)
    assert connection.customer.external_id == "cust-1" and connection.oauth_client_id == CLIENT_ID
    assert OAuthState.objects.get().consumed_at is not None

    # 4. a call uses the access token.
    customer_id = Customer.objects.get(external_id="cust-1").pk
    result = call(customer_id=customer_id)
    assert result.value == {"id": "user-1", "name": "Fake User"}
    assert provider.seen_headers[-1]["Authorization"] == f"Bearer {tokens['access_token']}"
    assert tokens["access_token"] in result.secret_values and tokens["refresh_token"] in result.secret_values

    # 5. expiry → one refresh before the call.
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        result = call(customer_id=customer_id)
    assert result.value["id"] == "user-1"
    assert provider.counts["token:refresh_token"] == 1
    connection.refresh_from_db()
    refreshed = credentials_decrypt(connection.credentials_ciphertext)
    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["refresh_token"] != tokens["refresh_token"]  # the provider rotates them
    assert connection.credentials_version == 2 and connection.last_refreshed_at

    # 6. the provider refuses the token (401) → one refresh → the call is retried once.
    provider.invalidate_access_tokens()
    result = call(customer_id=customer_id)
    assert result.value["id"] == "user-1"
    assert provider.counts["token:refresh_token"] == 2
    # Two traces for that call: the refused attempt and the retry.
    assert CallTrace.objects.filter(action="getMe", status=401, error_code="http_error").count() == 1
    assert CallTrace.objects.filter(action="getMe", status=200).count() == 3

    # 7. invalid_grant on refresh → needs_reauth, and calls stop reaching the provider.
    provider.refresh_error = "invalid_grant"
    provider.invalidate_access_tokens()
    with pytest.raises(ConnectorRunError) as failure:
        call(customer_id=customer_id)
    assert failure.value.code == "needs_reauth"
    assert "cust-1" in failure.value.message and "fakeapp" in failure.value.message
    connection.refresh_from_db()
    assert connection.status == "needs_reauth" and "invalid_grant" in connection.last_error
    requests_before = sum(provider.counts.values())
    with pytest.raises(ConnectorRunError) as again:
        call(customer_id=customer_id)
    assert again.value.code == "needs_reauth" and sum(provider.counts.values()) == requests_before
    assert AuditEvent.objects.filter(action="connection.status", changes__to="needs_reauth").exists()

    # 8. connecting again revives the same connection.
    provider.refresh_error = None
    db.set_schema_to_public()
    again = dance(api, org_a, client)
    assert again == {"status": "connected", "connection_id": str(connection.pk), "tab": "apps"}
    in_org(org_a)
    connection.refresh_from_db()
    assert connection.status == "connected"
    assert call(customer_id=customer_id).value["id"] == "user-1"
    assert AuditEvent.objects.filter(action="connection.reconnect").exists()


def test_a_state_is_single_use(api, org_a, client, fakeapp):
    response = authorize(api, org_a)
    returned = consent(response["Location"], client)
    assert query_of(callback(client, returned)["Location"])["status"] == "connected"
    replay = query_of(callback(client, returned)["Location"])
    assert replay["status"] == "error" and replay["error"] == "invalid_state"


def test_forged_missing_and_expired_states_are_refused(api, org_a, client, fakeapp, settings):
    assert_error(client.get("/api/v1/oauth/callback?code=x"), 400, "invalid_oauth_state")
    assert_error(client.get("/api/v1/oauth/callback?code=x&state=forged.state.value"), 400, "invalid_oauth_state")
    location = begin(client, authorize(api, org_a)["Location"])
    state = query_of(location)["state"]
    tampered = state[:-2] + ("AA" if not state.endswith("AA") else "BB")
    assert_error(client.get(f"/api/v1/oauth/callback?code=x&state={tampered}"), 400, "invalid_oauth_state")
    returned = consent(location)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.FASTN_OAUTH_STATE_TTL_SECONDS + 5)):
        assert_error(callback(client, returned), 400, "invalid_oauth_state")


def test_consent_refused_at_the_provider_goes_back_as_an_error(api, org_a, client, fakeapp, in_org):
    state = query_of(begin(client, authorize(api, org_a)["Location"]))["state"]
    back = client.get(f"/api/v1/oauth/callback?state={state}&error=access_denied&error_description=User+said+no")
    result = query_of(back["Location"])
    assert result == {"tab": "apps", "status": "error", "error": "access_denied", "error_description": "User said no"}
    in_org(org_a)
    assert not Connection.objects.exists()
    assert AuditEvent.objects.filter(action="connection.create", outcome="error").exists()


def test_a_refused_code_goes_back_as_an_error(api, org_a, client, fakeapp, provider):
    returned = consent(authorize(api, org_a)["Location"], client)
    provider.codes.clear()  # the provider no longer knows the code
    result = query_of(callback(client, returned)["Location"])
    assert result["status"] == "error" and result["error"] == "invalid_grant"


def test_authorize_answers_json_on_request(api, org_a, fakeapp, provider, client):
    body = authorize(api, org_a, mode="json").json()
    assert "/api/v1/oauth/begin?ticket=" in body["authorize_url"] and body["expires_at"]
    assert begin(client, body["authorize_url"]).startswith(provider.url)


def test_authorize_takes_the_customer_from_the_header_and_scopes(api, org_a, fakeapp, client):
    response = api(org_a, customer="cust-1").get(
        "/api/v1/oauth/fakeapp/authorize", {"redirect_uri": RETURN_URL, "scopes": "read,admin"}
    )
    assert response.status_code == 302 and query_of(begin(client, response["Location"]))["scope"] == "read admin"


@pytest.mark.parametrize(
    "params, status, code",
    [
        ({"redirect_uri": ""}, 400, "invalid_input"),
        ({"redirect_uri": "javascript:alert(1)"}, 400, "invalid_input"),
        ({"redirect_uri": "https://user:pw@app.example/"}, 400, "invalid_input"),
        ({"customer": "nobody"}, 404, "customer_not_found"),
        ({"customer": ""}, 400, "invalid_input"),
        ({"config.shop": "x"}, 400, "invalid_input"),
    ],
)
def test_bad_authorize_requests(api, org_a, fakeapp, params, status, code):
    assert_error(authorize(api, org_a, **params), status, code)


def test_authorize_needs_an_oauth_connector_and_an_app(api, org_a, customer, provider, minimal):
    customer(org_a, "cust-1")
    api(org_a).post("/api/v1/connectors", provider.definition())
    assert_error(authorize(api, org_a), 409, "oauth_app_not_configured")
    api(org_a).post("/api/v1/connectors", minimal)
    response = api(org_a).get("/api/v1/oauth/acme-crm/authorize", {"customer": "cust-1", "redirect_uri": RETURN_URL})
    assert_error(response, 400, "not_an_oauth_connector")
    response = api(org_a).get("/api/v1/oauth/nope/authorize", {"customer": "cust-1", "redirect_uri": RETURN_URL})
    assert_error(response, 404, "connector_not_found")


def test_platform_app_is_used_when_the_organization_has_none(api, org_a, client, customer, provider, settings):
    settings.FASTN_PLATFORM_OAUTH_APPS = {"fakeapp": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}}
    customer(org_a, "cust-1")
    api(org_a).post("/api/v1/connectors", provider.definition())
    listed = api(org_a).get("/api/v1/oauth-apps").json()
    assert listed["platform"] == [
        {"connector": "fakeapp", "client_id": CLIENT_ID, "scopes": None, "redirect_uri": "", "overridden": False}
    ]
    assert CLIENT_SECRET not in str(listed)
    assert dance(api, org_a, client)["status"] == "connected"


def test_organization_level_oauth_connection(api, org_a, client, fakeapp, in_org, provider):
    response = api(org_a).get("/api/v1/oauth/fakeapp/authorize", {"scope": "organization", "redirect_uri": RETURN_URL})
    back = query_of(callback(client, consent(response["Location"], client))["Location"])
    assert back["status"] == "connected"
    in_org(org_a)
    assert Connection.objects.get(pk=back["connection_id"]).customer is None
    assert call(customer_id=None).value["id"] == "user-1"


def test_deleting_an_oauth_connection_revokes_the_token(api, org_a, client, fakeapp, provider, in_org):
    result = dance(api, org_a, client)
    in_org(org_a)
    refresh_token = credentials_decrypt(Connection.objects.get().credentials_ciphertext)["refresh_token"]
    db.set_schema_to_public()
    response = api(org_a, customer="cust-1").delete(f"/api/v1/connections/{result['connection_id']}")
    assert response.status_code == 204
    assert provider.revoked == [refresh_token]
    in_org(org_a)
    assert AuditEvent.objects.get(action="connection.delete").changes["provider_revocation"] == "revoked"


def test_tokens_obtained_elsewhere_can_be_stored_and_refreshed(api, org_a, fakeapp, provider, in_org):
    tokens = provider.issue_tokens()
    body = {
        "connector": "fakeapp",
        "credentials": {
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "expires_at": "2020-01-01T00:00:00Z",
        },
        "verify": False,
    }
    created = api(org_a, customer="cust-1").post("/api/v1/connections", body)
    assert created.status_code == 201, created.content
    in_org(org_a)
    customer_id = Customer.objects.get(external_id="cust-1").pk
    assert call(customer_id=customer_id).value["id"] == "user-1"
    assert provider.counts["token:refresh_token"] == 1  # expired on arrival: refreshed first


def test_oauth_connection_without_tokens_points_to_the_flow(api, org_a, fakeapp):
    error = assert_error(
        api(org_a, customer="cust-1").post("/api/v1/connections", {"connector": "fakeapp", "credentials": {}}),
        400,
        "invalid_credentials",
    )
    assert "/api/v1/oauth/fakeapp/authorize" in error["message"]
    bad_expiry = {"connector": "fakeapp", "credentials": {"access_token": "at-x", "expires_at": "soon"}}
    error = assert_error(api(org_a, customer="cust-1").post("/api/v1/connections", bad_expiry), 400)
    assert "credentials.expires_at" in error["details"]["fields"]


def test_client_credentials_connections(api, org_a, provider, customer, in_org):
    definition = provider.definition("machine", grant="client_credentials")
    definition["auth"].pop("authorization_url")
    definition["auth"].pop("pkce")
    api(org_a).post("/api/v1/connectors", definition)
    customer(org_a, "cust-1")
    client = api(org_a, customer="cust-1")
    wrong = {"connector": "machine", "credentials": {"client_id": CLIENT_ID, "client_secret": "wrong-secret"}}
    error = assert_error(client.post("/api/v1/connections", wrong), 400, "credentials_rejected")
    assert "invalid_client" in error["message"] and "wrong-secret" not in error["message"]
    assert_error(client.post("/api/v1/connections", {"connector": "machine", "credentials": {}}), 409)
    half = {"connector": "machine", "credentials": {"client_id": CLIENT_ID}}
    assert (
        "credentials.client_secret" in assert_error(client.post("/api/v1/connections", half), 400)["details"]["fields"]
    )
    right = {"connector": "machine", "credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}}
    created = client.post("/api/v1/connections", right)
    assert created.status_code == 201, created.content
    assert provider.counts["token:client_credentials"] == 2  # the refused one and this one
    assert_error(
        api(org_a).get("/api/v1/oauth/machine/authorize", {"customer": "cust-1", "redirect_uri": RETURN_URL}), 400
    )

    in_org(org_a)
    customer_id = Customer.objects.get(external_id="cust-1").pk
    run = connector_call_for_run(
        connector_slug="machine",
        action="getMe",
        params={},
        customer_id=customer_id,
        deadline=time.monotonic() + 10,
        execution_id=None,
    )
    assert run.value["id"] == "user-1" and CLIENT_SECRET in run.secret_values
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        connector_call_for_run(
            connector_slug="machine",
            action="getMe",
            params={},
            customer_id=customer_id,
            deadline=time.monotonic() + 10,
            execution_id=None,
        )
    assert provider.counts["token:client_credentials"] == 3  # a new token when the old one expired


def test_oauth_apps_api(api, org_a, provider, in_org, role_key):
    client = api(org_a)
    assert_error(client.post("/api/v1/oauth-apps", {"connector": "fakeapp", "client_id": "x"}), 400)  # not installed
    client.post("/api/v1/connectors", provider.definition())
    created = client.post(
        "/api/v1/oauth-apps",
        {"connector": "fakeapp", "client_id": "cid", "client_secret": "app-secret-value-1", "scopes": ["read"]},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["has_client_secret"] is True and body["scopes"] == ["read"] and body["source"] == "organization"
    assert body["redirect_uri"].endswith("/api/v1/oauth/callback")
    assert_error(
        client.post("/api/v1/oauth-apps", {"connector": "fakeapp", "client_id": "cid"}), 409, "oauth_app_exists"
    )
    patched = client.patch("/api/v1/oauth-apps/fakeapp", {"client_secret": "app-secret-value-2", "scopes": None}).json()
    assert patched["scopes"] is None
    assert_error(client.patch("/api/v1/oauth-apps/fakeapp", {"scopes": "read"}), 400)
    assert_error(client.patch("/api/v1/oauth-apps/fakeapp", {"redirect_uri": "ftp://x"}), 400)
    assert_error(client.patch("/api/v1/oauth-apps/fakeapp", {"client_id": 5}), 400)
    assert_error(client.patch("/api/v1/oauth-apps/other", {"client_id": "x"}), 404)
    for response in (
        client.get("/api/v1/oauth-apps"),
        client.get("/api/v1/oauth-apps/fakeapp"),
        patched and client.get("/api/v1/audit-log"),
    ):
        assert "app-secret-value" not in response.content.decode()
    client.post(
        "/api/v1/connectors",
        {
            "slug": "plain",
            "name": "P",
            "base_url": "https://p.example",
            "actions": {"a": {"method": "GET", "path": "/"}},
        },
    )
    assert_error(
        client.post("/api/v1/oauth-apps", {"connector": "plain", "client_id": "x"}), 400, "not_an_oauth_connector"
    )
    # Catalogue connectors can get an app before they are installed.
    assert client.post("/api/v1/oauth-apps", {"connector": "hubspot", "client_id": "hub"}).status_code == 201
    viewer = api(org_a, key=role_key(org_a, "viewer"))
    assert viewer.get("/api/v1/oauth-apps").status_code == 200
    assert_error(viewer.delete("/api/v1/oauth-apps/fakeapp"), 403)
    assert client.delete("/api/v1/oauth-apps/fakeapp").status_code == 204
    assert_error(client.get("/api/v1/oauth-apps/fakeapp"), 404)
    in_org(org_a)
    assert list(
        AuditEvent.objects.filter(resource_type="oauth_app", resource_id="fakeapp")
        .order_by("created_at")
        .values_list("action", flat=True)
    ) == ["oauth_app.create", "oauth_app.update", "oauth_app.delete"]


def test_oauth_tokens_and_client_secret_never_come_back_out(api, org_a, client, fakeapp, provider, in_org):
    result = dance(api, org_a, client)
    in_org(org_a)
    tokens = credentials_decrypt(Connection.objects.get().credentials_ciphertext)
    customer_id = Customer.objects.get(external_id="cust-1").pk
    call(customer_id=customer_id)
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        call(customer_id=customer_id)  # a refresh: new tokens too
    refreshed = credentials_decrypt(Connection.objects.get().credentials_ciphertext)
    with pytest.raises(ConnectorRunError):
        call(action="fail", customer_id=customer_id)
    db.set_schema_to_public()
    secrets = {
        tokens["access_token"],
        tokens["refresh_token"],
        refreshed["access_token"],
        refreshed["refresh_token"],
        CLIENT_SECRET,
    }
    customer_client = api(org_a, customer="cust-1")
    responses = [
        customer_client.get("/api/v1/connections"),
        customer_client.get(f"/api/v1/connections/{result['connection_id']}"),
        customer_client.post(f"/api/v1/connections/{result['connection_id']}/verify"),
        api(org_a).get("/api/v1/traces"),
        api(org_a).get("/api/v1/audit-log?limit=500"),
        api(org_a).get("/api/v1/oauth-apps"),
        api(org_a).get("/api/v1/oauth-apps/fakeapp"),
    ]
    client.force_login(org_a.owner)
    responses += [
        client.get(f"/o/{org_a.slug}/integrations/connections/"),
        client.get(f"/o/{org_a.slug}/integrations/connectors/fakeapp/"),
        client.get(f"/o/{org_a.slug}/settings/oauth-apps/"),
    ]
    for response in responses:
        assert response.status_code == 200, response.content
        page = response.content.decode()
        assert not any(secret in page for secret in secrets)
    in_org(org_a)
    with db.cursor() as cursor:
        for table in (
            "connectors_connection",
            "connectors_calltrace",
            "connectors_oauthstate",
            "connectors_oauthapp",
            "settings_auditevent",
        ):
            cursor.execute(f"SELECT t::text FROM {table} t")  # noqa: S608 - fixed table names
            rows = [row[0] for row in cursor.fetchall()]
            assert not any(secret in row for row in rows for secret in secrets), table


def test_per_connection_authorisation_hosts_take_their_settings(api, org_a, customer, client):
    """Shopify's authorisation URL is the shop's own host: config.shop fills it, checked against the pattern."""
    browser = client
    client = api(org_a)
    client.post("/api/v1/catalog/shopify/install")
    client.post("/api/v1/oauth-apps", {"connector": "shopify", "client_id": "shop-app", "client_secret": "s3cret-x"})
    customer(org_a, "cust-1")
    base = {"customer": "cust-1", "redirect_uri": RETURN_URL}
    response = client.get("/api/v1/oauth/shopify/authorize", {**base, "config.shop": "acme-store"})
    assert response.status_code == 302
    location = begin(browser, response["Location"])
    assert location.startswith("https://acme-store.myshopify.com/admin/oauth/authorize?")
    assert query_of(location)["scope"] == "read_products,write_products,read_orders,read_customers,write_customers"
    missing = assert_error(client.get("/api/v1/oauth/shopify/authorize", base), 400)
    assert "config.shop" in missing["details"]["fields"]
    evil = assert_error(client.get("/api/v1/oauth/shopify/authorize", {**base, "config.shop": "evil.com/x"}), 400)
    assert "config.shop" in evil["details"]["fields"]


def test_expired_tokens_from_elsewhere_are_refreshed_before_the_check(api, org_a, fakeapp, provider, in_org):
    tokens = provider.issue_tokens()
    body = {
        "connector": "fakeapp",
        "credentials": {"access_token": "at-stale", "refresh_token": tokens["refresh_token"], "expires_at": 1},
    }
    created = api(org_a, customer="cust-1").post("/api/v1/connections", body)
    assert created.status_code == 201, created.content
    assert created.json()["last_verified_at"] and created.json()["token_expires_at"]
    assert provider.counts["token:refresh_token"] == 1 and provider.counts["GET /api/me"] == 1
    in_org(org_a)
    stored = credentials_decrypt(Connection.objects.get().credentials_ciphertext)
    assert stored["access_token"] != "at-stale" and Connection.objects.get().oauth_client_id == CLIENT_ID
    db.set_schema_to_public()
    refused = {**body, "credentials": {**body["credentials"], "refresh_token": "rt-unknown"}}
    api(org_a).post("/api/v1/customers", {"external_id": "cust-2", "name": "Two"})
    error = assert_error(
        api(org_a, customer="cust-2").post("/api/v1/connections", refused), 400, "credentials_rejected"
    )
    assert "invalid_grant" in error["message"]
