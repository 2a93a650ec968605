"""An OAuth authorisation is bound to the browser that started it, and its
return URL must be on the organization's allow-list.

Before: the link an authorize call answered was a bearer link (anyone who
had it could finish the authorisation and connect their own provider account
to the customer), and `redirect_uri` could name any site."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.db import connection as db
from django.test import Client
from django.utils import timezone

from apps.connectors.models import Connection, OAuthState
from apps.connectors.oauth_binding import COOKIE
from apps.settings.models import AuditEvent
from tests.connectors_django.fake_provider import query_of
from tests.connectors_django.test_oauth_flow import RETURN_URL, authorize, begin, callback, consent
from tests.core.test_errors import assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_network")]


@pytest.fixture
def fakeapp(api, org_a, provider, oauth_app, customer):
    assert api(org_a).post("/api/v1/connectors", provider.definition()).status_code == 201
    oauth_app(org_a)
    customer(org_a, "cust-1")
    api(org_a).put("/api/v1/oauth/redirect-uris", {"redirect_uris": ["https://app.example/integrations"]})
    return "fakeapp"


def test_an_api_key_link_is_claimed_by_the_first_browser_that_opens_it(api, org_a, fakeapp, provider, in_org):
    link = authorize(api, org_a)["Location"]
    customer_browser, other_browser = Client(), Client()

    to_provider = begin(customer_browser, link)
    assert to_provider.startswith(provider.url)
    cookie = customer_browser.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"

    # The same link in another browser: refused, back to the caller's page with the reason.
    parts = urlsplit(link)
    refused = other_browser.get(f"{parts.path}?{parts.query}")
    assert refused.status_code == 302
    assert query_of(refused["Location"])["error"] == "state_not_bound"
    assert refused["Location"].startswith("https://app.example/")
    # The browser that claimed it may open it again (a reload) and finishes it.
    assert begin(customer_browser, link) == to_provider
    result = query_of(callback(customer_browser, consent(to_provider))["Location"])
    assert result["status"] == "connected"
    in_org(org_a)
    assert OAuthState.objects.get().started_via == "api_key"


def test_a_callback_from_another_browser_is_refused_and_the_right_one_still_finishes(
    api, org_a, fakeapp, client, in_org
):
    returned = consent(authorize(api, org_a)["Location"], client)
    stranger = Client()
    stolen = query_of(callback(stranger, returned)["Location"])
    assert stolen["status"] == "error" and stolen["error"] == "state_not_bound"
    # A forged cookie is no better than none.
    stranger.cookies[COOKIE] = "A" * 43
    assert query_of(callback(stranger, returned)["Location"])["error"] == "state_not_bound"
    in_org(org_a)
    assert not Connection.objects.exists()
    assert OAuthState.objects.get().consumed_at is None  # the stranger did not use it up
    refused = AuditEvent.objects.filter(action="connection.create", outcome="error")
    assert [event.changes["error"] for event in refused] == ["state_not_bound", "state_not_bound"]
    db.set_schema_to_public()
    assert query_of(callback(client, returned)["Location"])["status"] == "connected"


def test_a_state_nobody_claimed_cannot_be_finished(api, org_a, fakeapp, client, in_org):
    authorize(api, org_a)
    in_org(org_a)
    provider_url = OAuthState.objects.get().authorize_url  # as if read off the provider's logs
    db.set_schema_to_public()
    returned = consent(provider_url)
    assert query_of(callback(client, returned)["Location"])["error"] == "state_not_bound"


def test_forged_and_expired_begin_tickets_are_refused(api, org_a, fakeapp, client, settings):
    assert_error(client.get("/api/v1/oauth/begin"), 400, "invalid_oauth_state")
    assert_error(client.get("/api/v1/oauth/begin?ticket=forged"), 400, "invalid_oauth_state")
    link = authorize(api, org_a)["Location"]
    parts = urlsplit(link)
    ticket = query_of(link)["ticket"]
    tampered = ticket[:-2] + ("AA" if not ticket.endswith("AA") else "BB")
    assert_error(client.get(f"{parts.path}?ticket={tampered}"), 400, "invalid_oauth_state")
    # The callback's state is no begin ticket (another signing salt).
    state_link = begin(Client(), authorize(api, org_a)["Location"])
    assert_error(client.get(f"{parts.path}?ticket={query_of(state_link)['state']}"), 400, "invalid_oauth_state")
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.FASTN_OAUTH_STATE_TTL_SECONDS + 5)):
        assert_error(client.get(f"{parts.path}?{parts.query}"), 400, "invalid_oauth_state")


def test_the_dashboard_binds_the_state_to_the_members_browser(org_a, api, client, fakeapp, provider, in_org):
    client.force_login(org_a.owner)
    start = client.get(f"/o/{org_a.slug}/integrations/connections/oauth/fakeapp/start", {"customer": "cust-1"})
    assert start.status_code == 302 and start["Location"].startswith(provider.url)  # no begin hop needed
    assert client.cookies[COOKIE].value
    returned = consent(start["Location"])
    other = Client()
    other.force_login(org_a.owner)  # even the same member, in another browser
    assert query_of(callback(other, returned)["Location"])["error"] == "state_not_bound"
    assert query_of(callback(client, returned)["Location"])["status"] == "connected"
    in_org(org_a)
    assert OAuthState.objects.get().started_via == "user"


def test_a_dashboard_session_calling_the_api_binds_at_once(org_a, client, fakeapp, provider):
    client.force_login(org_a.owner)
    response = client.get(
        "/api/v1/oauth/fakeapp/authorize",
        {"customer": "cust-1", "redirect_uri": RETURN_URL, "mode": "json"},
        HTTP_X_FASTN_ACCOUNT_ID=org_a.account_id,
    )
    assert response.status_code == 200, response.content
    url = response.json()["authorize_url"]
    assert url.startswith(provider.url) and client.cookies[COOKIE].value
    assert query_of(callback(client, consent(url))["Location"])["status"] == "connected"


# --- The allow-list of return URLs -------------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/integrations/done",
        "https://app.example/integrationsx",  # a sibling path, not below
        "https://app.example/other",
        "http://app.example/integrations/done",  # another scheme
        "https://app.example:8443/integrations/done",  # another port
        "https://app.example.evil.example/integrations/done",
    ],
)
def test_a_return_url_off_the_allow_list_is_refused(api, org_a, fakeapp, redirect_uri, in_org):
    error = assert_error(authorize(api, org_a, redirect_uri=redirect_uri), 400, "redirect_uri_not_allowed")
    assert "redirect_uri" in error["details"]["fields"]
    assert "Allowed return URLs" in error["message"]
    in_org(org_a)
    assert not OAuthState.objects.exists()


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://app.example/integrations",
        "https://app.example/integrations/done?tab=apps",
        "https://APP.example:443/integrations/deep/page",
    ],
)
def test_return_urls_at_or_below_an_entry_are_allowed(api, org_a, fakeapp, redirect_uri):
    assert authorize(api, org_a, redirect_uri=redirect_uri).status_code == 302


def test_the_platforms_own_origin_is_always_allowed_and_other_orgs_lists_do_not_count(
    api, org_a, org_b, fakeapp, settings
):
    own = settings.FASTN_PUBLIC_URL.rstrip("/") + "/somewhere/done"
    assert authorize(api, org_a, redirect_uri=own).status_code == 302
    api(org_b).put("/api/v1/oauth/redirect-uris", {"redirect_uris": ["https://beta.example/"]})
    assert_error(authorize(api, org_a, redirect_uri="https://beta.example/x"), 400, "redirect_uri_not_allowed")


def test_wildcard_subdomains(api, org_a, fakeapp):
    api(org_a).put("/api/v1/oauth/redirect-uris", {"redirect_uris": ["https://*.tenants.example/oauth"]})
    assert authorize(api, org_a, redirect_uri="https://acme.tenants.example/oauth/done").status_code == 302
    assert authorize(api, org_a, redirect_uri="https://a.b.tenants.example/oauth").status_code == 302
    for refused in ("https://tenants.example/oauth", "https://acme.tenants.example.evil/oauth"):
        assert_error(authorize(api, org_a, redirect_uri=refused), 400, "redirect_uri_not_allowed")


def test_the_allow_list_api(api, org_a, role_key, in_org, settings):
    client = api(org_a)
    body = client.get("/api/v1/oauth/redirect-uris").json()
    assert body["redirect_uris"] == []
    assert body["always_allowed"][0] == settings.FASTN_PUBLIC_URL.rstrip("/") + "/"
    saved = client.put(
        "/api/v1/oauth/redirect-uris",
        {"redirect_uris": ["HTTPS://App.Example:443/done", "https://app.example/done", "http://localhost:3000"]},
    )
    assert saved.status_code == 200, saved.content
    assert saved.json()["redirect_uris"] == ["http://localhost:3000/", "https://app.example/done"]
    assert client.get("/api/v1/oauth/redirect-uris").json()["redirect_uris"] == saved.json()["redirect_uris"]
    client.put("/api/v1/oauth/redirect-uris", {"redirect_uris": ["https://app.example/done"]})
    in_org(org_a)
    changes = [e.changes for e in AuditEvent.objects.filter(action="oauth_redirect_uris.update").order_by("created_at")]
    assert changes == [
        {"added": ["https://app.example/done", "http://localhost:3000/"], "removed": []},
        {"added": [], "removed": ["http://localhost:3000/"]},
    ]
    db.set_schema_to_public()
    viewer = api(org_a, key=role_key(org_a, "viewer"))
    assert viewer.get("/api/v1/oauth/redirect-uris").status_code == 200
    assert_error(viewer.put("/api/v1/oauth/redirect-uris", {"redirect_uris": []}), 403)
    assert_error(api(org_a, key="fastn_live_wrong").get("/api/v1/oauth/redirect-uris"), 401)


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "redirect_uris"),
        ({"redirect_uris": "https://app.example"}, "redirect_uris"),
        ({"redirect_uris": [5]}, "redirect_uris[0]"),
        ({"redirect_uris": ["https://ok.example", "javascript:alert(1)"]}, "redirect_uris[1]"),
        ({"redirect_uris": ["https://user:pw@app.example/"]}, "redirect_uris[0]"),
        ({"redirect_uris": ["https://app.example/?next=x"]}, "redirect_uris[0]"),
        ({"redirect_uris": ["https://app.example/#x"]}, "redirect_uris[0]"),
        ({"redirect_uris": ["https://app.*.example/"]}, "redirect_uris[0]"),
        ({"redirect_uris": ["https://*.example/"]}, "redirect_uris[0]"),  # a whole top-level domain
        ({"redirect_uris": ["https://app.example/a/../b"]}, "redirect_uris[0]"),
        ({"redirect_uris": ["https://app.example\\@evil.example/"]}, "redirect_uris[0]"),
        ({"redirect_uris": ["https://app.example/" + "a" * 2100]}, "redirect_uris[0]"),
        ({"redirect_uris": [f"https://h{i}.example/" for i in range(101)]}, "redirect_uris"),
        ({"redirect_uris": ["https://app.example/"], "extra": 1}, "extra"),
    ],
)
def test_bad_allow_lists_are_refused_naming_the_field(api, org_a, body, field):
    error = assert_error(api(org_a).put("/api/v1/oauth/redirect-uris", body), 400)
    assert field in error["details"]["fields"], error


def test_malformed_json_on_the_allow_list(api, org_a):
    assert_error(api(org_a).put("/api/v1/oauth/redirect-uris", raw=b'{"redirect_uris": ['), 400)


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://app.example/integrations/../evil", "https://app.example/integrations/%2e%2e/evil"],
)
def test_dot_segments_cannot_climb_out_of_an_allowed_path(api, org_a, fakeapp, redirect_uri):
    assert_error(authorize(api, org_a, redirect_uri=redirect_uri), 400)


def test_the_dashboard_edits_the_allow_list(org_a, client, in_org):
    client.force_login(org_a.owner)
    page = client.get(f"/o/{org_a.slug}/settings/oauth-apps/").content.decode()
    assert "Allowed return URLs" in page and 'name="redirect_uris"' in page
    path = f"/o/{org_a.slug}/settings/oauth-apps/return-urls"
    saved = client.post(path, {"redirect_uris": "https://app.example/done\n\n  https://*.shop.example/x  "})
    assert saved.status_code == 200 and "Allowed return URLs saved." in saved.content.decode()
    assert "https://*.shop.example/x" in saved.content.decode()
    bad = client.post(path, {"redirect_uris": "https://app.example/done\nftp://nope"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "redirect_uris[1]" in text and "ftp://nope" in text  # the member's text comes back to fix
    in_org(org_a)
    from apps.connectors.selectors import oauth_redirect_uri_list

    assert oauth_redirect_uri_list() == ["https://*.shop.example/x", "https://app.example/done"]
