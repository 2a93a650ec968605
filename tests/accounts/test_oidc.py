"""SSO with an OIDC provider (a fake Keycloak on loopback): the code flow,
token refusals, and JWT bearer calls to the API."""

import pytest

from apps.accounts.models import ExternalIdentity, Membership, User
from apps.accounts.oidc import oidc_reset_caches
from tests.accounts.fake_oidc import FakeProvider, query_of
from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(settings):
    fake = FakeProvider().start()
    settings.FASTN_OIDC_ISSUER = fake.issuer
    settings.OIDC_RP_CLIENT_ID = fake.client_id
    settings.OIDC_RP_CLIENT_SECRET = fake.client_secret
    settings.FASTN_OIDC_API_AUDIENCE = "fastn-api"
    oidc_reset_caches()
    yield fake
    oidc_reset_caches()
    fake.stop()


def sso_sign_in(client, provider):
    """Start at Fastn, 'sign in' at the provider, come back with the code."""
    start = client.get("/oidc/authenticate/?next=/o/")
    assert start.status_code == 302
    location = start["Location"]
    assert location.startswith(f"{provider.issuer}/protocol/openid-connect/auth?")
    query = query_of(location)
    assert query["client_id"] == provider.client_id and query["code_challenge_method"] == "S256"
    code = provider.authorize(query)
    return client.get("/oidc/callback/", {"code": code, "state": query["state"]})


def test_sso_sign_in_creates_and_links_the_user(client, provider, org_a):
    response = sso_sign_in(client, provider)
    assert response.status_code == 302 and response["Location"] == "/o/"
    user = User.objects.get(email="sso.user@alpha.test")
    assert ExternalIdentity.objects.get(user=user).subject == "kc-user-1"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert "GET /realms/test/.well-known/openid-configuration" in provider.requests
    assert "GET /realms/test/protocol/openid-connect/certs" in provider.requests
    # A second sign-in finds the same user through the link, even with a new email.
    client.logout()
    provider.claims["email"] = "renamed@alpha.test"
    assert sso_sign_in(client, provider)["Location"] == "/o/"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_sso_user_of_an_existing_member_lands_in_the_organization(client, provider, org_a):
    provider.claims.update({"email": "owner@alpha.test", "sub": "kc-owner"})
    assert sso_sign_in(client, provider).status_code == 302
    assert client.session["_auth_user_id"] == str(org_a.owner.pk)
    assert client.get(f"/o/{org_a.slug}/").status_code == 200


@pytest.mark.parametrize("mode", ["bad_signature", "wrong_audience", "expired"])
def test_sso_refuses_bad_tokens(client, provider, mode):
    provider.mode = mode
    response = sso_sign_in(client, provider)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?sso=failed")
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(email="sso.user@alpha.test").exists()


def test_an_unverified_provider_email_cannot_claim_an_account(client, provider, org_a):
    provider.claims.update({"email": "owner@alpha.test", "email_verified": False, "sub": "kc-impostor"})
    response = sso_sign_in(client, provider)
    assert response["Location"].startswith("/accounts/login/?sso=failed")


def test_password_login_still_works_with_sso_configured(client, provider, org_a):
    response = client.post("/accounts/login/", {"login": "owner@alpha.test", "password": org_a.owner_password})
    assert response.status_code == 302


def test_login_page_offers_sso(client, provider):
    assert "/oidc/authenticate/" in client.get("/accounts/login/").content.decode()


def bearer(api, org, token):
    client = api(org, key="")
    client.headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def test_jwt_bearer_call_acts_as_the_member(api, provider, org_a):
    provider.claims.update({"sub": "kc-owner", "email": "owner@alpha.test"})
    token = provider.token(audience="fastn-api")
    me = bearer(api, org_a, token).get("/api/v1/me")
    assert me.status_code == 200, me.content
    body = me.json()
    assert body["user"]["email"] == "owner@alpha.test" and body["role"] == "owner"
    assert body["authentication"] == "bearer"
    assert bearer(api, org_a, token).get("/api/v1/customers").status_code == 200


def test_jwt_bearer_refusals(api, provider, org_a, org_b):
    provider.claims.update({"sub": "kc-owner", "email": "owner@alpha.test"})
    wrong_audience = provider.token(audience=provider.client_id)
    assert_error(bearer(api, org_a, wrong_audience).get("/api/v1/me"), 401, "invalid_token")
    for mode in ("bad_signature", "expired"):
        provider.mode = mode
        response = bearer(api, org_a, provider.token(audience="fastn-api")).get("/api/v1/me")
        assert_error(response, 401, "invalid_token")
    provider.mode = "ok"
    assert_error(bearer(api, org_a, "not.a.jwt").get("/api/v1/me"), 401, "invalid_token")
    # A valid token of a person who is not a member of the named organization.
    assert_error(bearer(api, org_b, provider.token(audience="fastn-api")).get("/api/v1/me"), 401, "not_a_member")


def test_jwt_bearer_with_a_suspended_membership_is_refused(api, provider, org_a):
    user = User.objects.create_user(email="susp@alpha.test", password=None)
    Membership.objects.create(user=user, organization=org_a.organization, role="admin", status="suspended")
    provider.claims.update({"sub": "kc-susp", "email": "susp@alpha.test"})
    assert_error(bearer(api, org_a, provider.token(audience="fastn-api")).get("/api/v1/me"), 401, "not_a_member")


def test_bearer_tokens_are_refused_when_sso_is_off(api, org_a, settings):
    settings.FASTN_OIDC_ISSUER = ""
    assert_error(bearer(api, org_a, "x.y.z").get("/api/v1/me"), 401, "invalid_token")
