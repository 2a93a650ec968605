"""Connecting an OAuth app from the widget: authorize → the provider (a fake
on loopback) → our callback → the popup page that messages its opener, only
at the calling page's origin."""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.connectors_django.fake_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider, query_of
from tests.widgets.conftest import EmbedClient

pytestmark = pytest.mark.django_db

PAGE = "https://app.alpha.example"


@pytest.fixture
def provider():
    server = FakeProvider().start()
    yield server
    server.stop()


@pytest.fixture
def side(org_a, embedding, provider, private_network):
    side = embedding(org_a)
    side.connector(provider.definition("fakeapp"))
    side.connector(provider.key_definition("keyapp"))
    response = side.client.post(
        "/api/v1/oauth-apps", {"connector": "fakeapp", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    )
    assert response.status_code == 201, response.content
    side.widget(integrations=[{"connector": "fakeapp"}, {"connector": "keyapp"}], allowed_origins=[PAGE])
    return side


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """The popup: our pages through the test client (with its cookies), the
    provider's over real HTTP. It follows redirects until the popup page."""

    def __init__(self) -> None:
        from django.conf import settings
        from django.test import Client

        self.client = Client()
        self.ours = {"testserver", urlsplit(settings.FASTN_PUBLIC_URL).netloc}

    def get(self, url: str):
        parts = urlsplit(url)
        if parts.netloc and parts.netloc not in self.ours:
            opener = urllib.request.build_opener(NoRedirect)
            try:
                opener.open(url, timeout=10)
            except urllib.error.HTTPError as redirect:
                assert redirect.code == 302, redirect.code
                return {"Location": redirect.headers["Location"], "status": 302}
            raise AssertionError(f"{url} did not redirect")
        response = self.client.get(parts.path + ("?" + parts.query if parts.query else ""))
        return response

    def until_done(self, url: str):
        """Follow the popup from `url` to Fastn's last page; returns it."""
        for _ in range(6):
            response = self.get(url)
            status = response["status"] if isinstance(response, dict) else response.status_code
            if status != 302:
                return response
            url = response["Location"]
        raise AssertionError("too many redirects")


def popup_message(html: str) -> tuple[dict, str]:
    message = json.loads(re.search(r'id="fastn-oauth-message" type="application/json">(.*?)</script>', html).group(1))
    target = json.loads(re.search(r'id="fastn-oauth-target" type="application/json">(.*?)</script>', html).group(1))
    return message, target


def test_the_popup_connects_the_customer_and_messages_the_calling_page(side, provider):
    customer = side.customer()
    client = EmbedClient(side.session(customer)["token"], origin=PAGE)
    started = client.post("/api/v1/embed/oauth/fakeapp/authorize")
    assert started.status_code == 200, started.content
    assert started["Access-Control-Allow-Origin"] == PAGE
    url = started.json()["url"]
    assert started.json()["expires_at"]

    page = Browser().until_done(url)
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    message, target = popup_message(html)
    assert target == PAGE
    assert message["type"] == "fastn:oauth" and message["status"] == "connected" and message["connector"] == "fakeapp"
    assert "window.opener.postMessage(message, target)" in html and '"*"' not in html
    assert "nonce-" in page["Content-Security-Policy"] and page["Cross-Origin-Opener-Policy"] == "unsafe-none"

    connections = client.get("/api/v1/embed/connections").json()["results"]
    assert [(c["id"], c["connector"], c["status"]) for c in connections] == [
        (message["connection_id"], "fakeapp", "connected")
    ]
    assert "access_token" not in str(connections)
    config = client.get("/api/v1/embed/config").json()
    assert next(i for i in config["integrations"] if i["connector"] == "fakeapp")["connected"] is True


def test_the_message_goes_to_the_sessions_origin_when_the_call_names_none(side, provider):
    customer = side.customer()
    client = EmbedClient(side.session(customer, allowed_origin="https://bound.example")["token"])
    url = client.post("/api/v1/embed/oauth/fakeapp/authorize").json()["url"]
    page = Browser().until_done(url)
    assert popup_message(page.content.decode())[1] == "https://bound.example"


def test_the_message_follows_the_calling_page_among_several_allowed_origins(side, provider):
    side.widget(allowed_origins=[PAGE, "https://other.alpha.example"])
    client = EmbedClient(side.session(side.customer())["token"], origin="https://other.alpha.example")
    url = client.post("/api/v1/embed/oauth/fakeapp/authorize").json()["url"]
    page = Browser().until_done(url)
    assert popup_message(page.content.decode())[1] == "https://other.alpha.example"


def test_a_page_of_another_origin_cannot_start_it(side):
    client = EmbedClient(side.session(side.customer())["token"], origin="https://evil.example")
    response = client.post("/api/v1/embed/oauth/fakeapp/authorize")
    assert response.status_code == 403 and response.json()["error"]["code"] == "origin_not_allowed"


def test_a_refusal_at_the_provider_is_reported_to_the_opener(side, provider):
    client = EmbedClient(side.session(side.customer())["token"], origin=PAGE)
    url = client.post("/api/v1/embed/oauth/fakeapp/authorize").json()["url"]
    browser = Browser()
    callback = None
    for _ in range(4):  # our begin link (if any), then the provider, which we skip: the customer refuses
        if urlsplit(url).netloc not in browser.ours and "/oauth/authorize" in url:
            callback = url
            break
        url = browser.get(url)["Location"]
    state = query_of(callback)["state"]
    landed = browser.get(f"/api/v1/oauth/callback?state={state}&error=access_denied&error_description=User+said+no")
    page = browser.get(landed["Location"])
    message, target = popup_message(page.content.decode())
    assert message["status"] == "error" and message["error"] == "access_denied" and target == PAGE
    assert message["error_description"] == "User said no"
    assert client.get("/api/v1/embed/connections").json()["results"] == []


def test_a_forged_or_missing_popup_parameter_posts_nothing(side):
    from django.test import Client

    for query in ("", "?p=forged&status=connected&connection_id=x", "?p=&status=connected"):
        page = Client().get("/api/v1/embed/oauth/done" + query)
        assert page.status_code == 400
        assert "postMessage" not in page.content.decode()


def test_only_oauth_apps_of_the_session_can_be_authorized(side, provider):
    customer = side.customer()
    client = EmbedClient(side.session(customer)["token"])
    response = client.post("/api/v1/embed/oauth/keyapp/authorize")
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_an_oauth_connector"
    restricted = EmbedClient(side.session(customer, integrations=["keyapp"])["token"])
    assert restricted.post("/api/v1/embed/oauth/fakeapp/authorize").status_code == 403
    assert client.post("/api/v1/embed/oauth/nope/authorize").status_code == 403
    assert client.post("/api/v1/embed/oauth/fakeapp/authorize", {"config": []}).status_code == 400
    assert client.post("/api/v1/embed/oauth/fakeapp/authorize", raw="{").status_code == 400
    assert EmbedClient(None).post("/api/v1/embed/oauth/fakeapp/authorize").status_code == 401


def test_the_connection_belongs_to_the_session_customer_only(side, provider, api, org_a):
    ann, bob = side.customer(), side.customer()
    client = EmbedClient(side.session(ann)["token"], origin=PAGE)
    url = client.post("/api/v1/embed/oauth/fakeapp/authorize").json()["url"]
    Browser().until_done(url)
    assert [c["connector"] for c in api(org_a, customer=ann).get("/api/v1/connections").json()["results"]] == [
        "fakeapp"
    ]
    assert api(org_a, customer=bob).get("/api/v1/connections").json()["results"] == []
    assert EmbedClient(side.session(bob)["token"]).get("/api/v1/embed/connections").json()["results"] == []


def test_the_popups_link_finishes_only_in_the_browser_that_opened_it(side, provider):
    """The authorize URL is a begin link bound to the first browser that opens
    it (apps.connectors.oauth_binding): a stolen link cannot connect an
    attacker's account to the customer."""
    client = EmbedClient(side.session(side.customer())["token"], origin=PAGE)
    url = client.post("/api/v1/embed/oauth/fakeapp/authorize").json()["url"]
    popup, thief = Browser(), Browser()
    to_provider = popup.get(url)["Location"]  # the popup opens the link first
    assert to_provider.startswith(provider.url)
    callback = thief.get(to_provider)["Location"]  # the thief consents with their own account…
    refused = thief.get(callback)  # …and lands the callback in their browser
    page = thief.get(refused["Location"]) if refused.status_code == 302 else refused
    message, _ = popup_message(page.content.decode())
    assert message["status"] == "error" and message["error"] == "state_not_bound"
    assert client.get("/api/v1/embed/connections").json()["results"] == []


def test_disconnecting_revokes_the_token_at_the_provider(side, provider):
    client = EmbedClient(side.session(side.customer())["token"], origin=PAGE)
    url = client.post("/api/v1/embed/oauth/fakeapp/authorize").json()["url"]
    message, _ = popup_message(Browser().until_done(url).content.decode())
    assert client.delete(f"/api/v1/embed/connections/{message['connection_id']}").status_code == 204
    assert provider.revoked, "the provider was not asked to revoke the token"
    assert client.get("/api/v1/embed/connections").json()["results"] == []
    log = side.client.get("/api/v1/audit-log", {"action": "connection.provider_revocation"}).json()["results"]
    assert log and log[0]["outcome"] == "success" and log[0]["actor_type"] == "customer"
