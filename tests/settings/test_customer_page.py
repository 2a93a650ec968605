"""A customer's own page: details with editing, its connections, executions,
usage and sessions; scoped to the organization."""

import pytest

from apps.accounts.models import Membership, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client, org_a):
    client.force_login(org_a.owner)
    return client


def page_of(org, external_id):
    return f"/o/{org.slug}/settings/customers/{external_id}/"


def test_the_customer_page_shows_connections_executions_usage_and_sessions(owner, org_a, api, in_org):
    client = api(org_a)
    client.post("/api/v1/customers", {"external_id": "acme", "name": "Acme Corp"})
    client.post(
        "/api/v1/connectors",
        {
            "slug": "crm",
            "name": "CRM",
            "base_url": "https://crm.example",
            "auth": {"type": "api_key", "in": "header", "name": "X-Key"},
            "actions": {"list": {"method": "GET", "path": "/x"}},
        },
    )
    body = {"connector": "crm", "credentials": {"api_key": "k"}}
    made = api(org_a, customer="acme").post("/api/v1/connections", body)
    assert made.status_code == 201, made.content

    listing = owner.get(f"/o/{org_a.slug}/settings/customers/").content.decode()
    assert page_of(org_a, "acme") in listing

    page = owner.get(page_of(org_a, "acme"))
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="customer-external-id">acme<' in body
    connections = body.split('data-testid="customer-connections"', 1)[1].split("</table>", 1)[0]
    assert ">CRM</a>" in connections
    assert 'data-testid="customer-executions"' in body and "No executions for this customer yet." in body
    usage = body.split('data-testid="customer-usage"', 1)[1].split("</table>", 1)[0]
    assert "API calls per day" in usage
    assert "No sessions yet." in body.split('data-testid="customer-sessions"', 1)[1].split("</table>", 1)[0]

    minted = client.post("/api/v1/customers/acme/sessions", {"ttl_seconds": 600})
    assert minted.status_code == 201, minted.content
    sessions = owner.get(page_of(org_a, "acme")).content.decode().split('data-testid="customer-sessions"', 1)[1]
    sessions = sessions.split("</table>", 1)[0]
    assert ">active</span>" in sessions and minted.json()["token"] not in sessions


def test_editing_a_customer_saves_and_audits_and_bad_input_names_the_field(owner, org_a, api, in_org):
    api(org_a).post("/api/v1/customers", {"external_id": "edit-me", "name": "Before"})
    saved = owner.post(page_of(org_a, "edit-me"), {"name": "After", "tier": "", "region": "eu"}, follow=True)
    assert saved.status_code == 200 and "Customer After saved." in saved.content.decode()
    got = api(org_a).get("/api/v1/customers/edit-me").json()
    assert got["name"] == "After" and got["region"] == "eu" and got["tier"] == ""

    bad = owner.post(page_of(org_a, "edit-me"), {"name": "", "tier": "not a slug!", "region": "mars"})
    body = bad.content.decode()
    assert bad.status_code == 400
    assert body.count('class="error"') >= 3

    from apps.settings.models import AuditEvent

    in_org(org_a)
    assert AuditEvent.objects.filter(action="customer.update", resource_id="edit-me").exists()


def test_another_organizations_customer_is_404_and_a_viewer_cannot_edit(client, org_a, org_b, api):
    api(org_b).post("/api/v1/customers", {"external_id": "beta-only", "name": "Beta's"})
    client.force_login(org_a.owner)
    assert client.get(page_of(org_a, "beta-only")).status_code == 404
    assert client.get(page_of(org_a, "no-such-customer")).status_code == 404

    api(org_a).post("/api/v1/customers", {"external_id": "seen", "name": "Seen"})
    viewer = User.objects.create_user(email="viewer-cust@alpha.test", password="pw-viewer-123")
    Membership.objects.create(user=viewer, organization=org_a.organization, role="viewer")
    client.force_login(viewer)
    page = client.get(page_of(org_a, "seen"))
    assert page.status_code == 200 and 'data-testid="customer-edit"' not in page.content.decode()
    assert client.post(page_of(org_a, "seen"), {"name": "Hacked", "region": "us"}).status_code == 403
    assert api(org_a).get("/api/v1/customers/seen").json()["name"] == "Seen"
