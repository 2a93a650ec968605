"""Dashboard access: sign-in, the organization picker, membership checks, roles."""

import pytest

from apps.accounts.models import Membership, User
from apps.settings.models import AuditEvent, Customer

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_login(client, org_a):
    response = client.get(f"/o/{org_a.slug}/settings/api-keys/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_and_password_login_land_on_the_organization(client, org_a):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post(
        "/accounts/login/", {"login": "owner@alpha.test", "password": org_a.owner_password}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/o/{org_a.slug}/"
    page = response.content.decode()
    for item in ("Home", "Integrations", "Widgets", "Activity", "Settings"):
        assert f">{item}</a>" in page


def test_a_stranger_gets_404_for_another_organization(client, org_a, org_b):
    client.force_login(org_b.owner)
    assert client.get(f"/o/{org_a.slug}/").status_code == 404
    assert client.get(f"/o/{org_a.slug}/settings/secrets/").status_code == 404
    assert client.get("/o/no-such-org/").status_code == 404


def test_member_of_two_organizations_sees_the_picker(client, org_a, org_b):
    Membership.objects.create(user=org_b.owner, organization=org_a.organization, role="viewer")
    client.force_login(org_b.owner)
    page = client.get("/o/").content.decode()
    assert "Alpha Corp" in page and "Beta Corp" in page
    assert client.get(f"/o/{org_a.slug}/").status_code == 200


def test_session_user_can_call_the_api_as_their_role(client, org_a):
    client.force_login(org_a.owner)
    response = client.get("/api/v1/customers", HTTP_X_FASTN_ACCOUNT_ID=org_a.account_id)
    assert response.status_code == 200


def test_session_user_of_another_organization_gets_401_on_the_api(client, org_a, org_b):
    client.force_login(org_b.owner)
    response = client.get("/api/v1/customers", HTTP_X_FASTN_ACCOUNT_ID=org_a.account_id)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_a_member"


def test_viewer_sees_pages_but_cannot_write_and_is_audited(client, org_a, in_org):
    viewer = User.objects.create_user(email="viewer@alpha.test", password="pw-viewer-123")
    Membership.objects.create(user=viewer, organization=org_a.organization, role="viewer")
    client.force_login(viewer)
    assert client.get(f"/o/{org_a.slug}/settings/customers/").status_code == 200
    response = client.post(
        f"/o/{org_a.slug}/settings/customers/", {"external_id": "v1", "name": "V", "tier": "standard", "region": "us"}
    )
    assert response.status_code == 403
    assert client.get(f"/o/{org_a.slug}/settings/api-keys/").status_code == 403
    in_org(org_a)
    assert not Customer.objects.filter(external_id="v1").exists()
    denied = AuditEvent.objects.filter(outcome="denied", actor_label="viewer@alpha.test")
    assert set(denied.values_list("action", flat=True)) == {"customers.create", "api_keys.view"}


def test_htmx_create_customer_returns_the_panel_only(client, org_a, in_org):
    client.force_login(org_a.owner)
    response = client.post(
        f"/o/{org_a.slug}/settings/customers/",
        {"external_id": "hx-1", "name": "Htmx Customer", "tier": "standard", "region": "eu"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="customers-panel">')
    assert "hx-1" in html and "<html" not in html
    duplicate = client.post(
        f"/o/{org_a.slug}/settings/customers/",
        {"external_id": "hx-1", "name": "Again", "tier": "standard", "region": "eu"},
        HTTP_HX_REQUEST="true",
    )
    assert duplicate.status_code == 409 and "already exists" in duplicate.content.decode()


def test_htmx_search_returns_rows_only(client, org_a, in_org):
    in_org(org_a)
    Customer.objects.create(external_id="find-me", name="Findable")
    Customer.objects.create(external_id="other", name="Other")
    client.force_login(org_a.owner)
    response = client.get(
        f"/o/{org_a.slug}/settings/customers/", {"q": "find"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="customer-rows"
    )
    html = response.content.decode()
    assert "find-me" in html and "other" not in html and "<table" not in html


def test_dashboard_creates_and_revokes_api_keys(client, org_a, in_org):
    client.force_login(org_a.owner)
    response = client.post(
        f"/o/{org_a.slug}/settings/api-keys/", {"name": "From UI", "kind": "live", "role": ""}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "fastn_live_" in html and "From UI" in html
    import re

    raw = re.search(r'data-testid="new-key">(fastn_live_\w+)<', html).group(1)
    from apps.settings.models import ApiKey

    in_org(org_a)
    key = ApiKey.objects.get(name="From UI")
    response = client.post(f"/o/{org_a.slug}/settings/api-keys/{key.id}/revoke", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    in_org(org_a)
    key.refresh_from_db()
    assert key.revoked_at is not None
    # The raw key is never shown again; its prefix is.
    page = client.get(f"/o/{org_a.slug}/settings/api-keys/").content.decode()
    assert raw not in page and key.prefix in page


def test_dashboard_secret_form_saves_without_echoing_the_value(client, org_a):
    client.force_login(org_a.owner)
    response = client.post(
        f"/o/{org_a.slug}/settings/secrets/",
        {"name": "UI_SECRET", "value": "ui-secret-value-1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "UI_SECRET" in response.content.decode()
    assert "ui-secret-value-1" not in response.content.decode()
