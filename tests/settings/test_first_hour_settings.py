"""Settings as a newcomer meets it: it opens on People, a new API key can be
copied, an invitation can be passed on by hand while e-mail goes to the
console, Billing's tiers agree with the customers, and Roles shows only what
the product uses."""

import re
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client, org_a):
    client.force_login(org_a.owner)
    return client


def test_settings_opens_on_people_the_first_of_its_pages(owner, org_a):
    response = owner.get(f"/o/{org_a.slug}/settings/")
    assert response.status_code == 302 and response["Location"] == f"/o/{org_a.slug}/settings/people/"


def test_a_new_api_key_has_a_copy_button(owner, org_a):
    page = owner.post(
        f"/o/{org_a.slug}/settings/api-keys/", {"name": "CI", "kind": "test"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    raw = re.search(r'id="new-key-value" data-testid="new-key">(fastn_test_\w+)<', page).group(1)
    assert raw and 'data-copy-target="#new-key-value"' in page


def test_an_invitation_shows_its_link_while_email_goes_to_the_console(owner, org_a, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    page = owner.post(
        f"/o/{org_a.slug}/settings/people/invite", {"email": "new@alpha.test", "role": "developer"}
    ).content.decode()
    link = re.search(r'id="invite-link" data-testid="invite-link">([^<]+)<', page).group(1)
    assert "/invites/" in link and 'data-copy-target="#invite-link"' in page
    # The link works: the invitation's page, for the person invited.
    from django.test import Client

    assert Client().get(urlsplit(link).path).status_code == 200


def test_no_invitation_link_is_shown_when_email_is_really_sent(owner, org_a, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 1  # nothing listens: sending happens on commit, which this test never reaches
    page = owner.post(
        f"/o/{org_a.slug}/settings/people/invite", {"email": "other@alpha.test", "role": "developer"}
    ).content.decode()
    assert "Invitation sent to other@alpha.test." in page and "invite-link" not in page


def test_a_customer_added_without_a_tier_is_not_a_tier_in_use_on_billing(owner, org_a):
    form = owner.get(f"/o/{org_a.slug}/settings/customers/").content.decode()
    assert 'name="tier" value="standard"' not in form
    added = owner.post(
        f"/o/{org_a.slug}/settings/customers/", {"external_id": "acme-1", "name": "Acme", "region": "us", "tier": ""}
    )
    assert added.status_code == 200, added.content.decode()[:500]
    billing = owner.get(f"/o/{org_a.slug}/settings/billing/").content.decode()
    assert 'data-testid="no-tiers"' in billing and "undefined-tier" not in billing


def test_billing_never_says_no_tiers_beside_a_tier_customers_use(owner, org_a, api):
    api(org_a).post("/api/v1/customers", {"external_id": "std-1", "name": "Std", "tier": "standard"})
    billing = owner.get(f"/o/{org_a.slug}/settings/billing/").content.decode()
    assert 'data-testid="undefined-tier-standard"' in billing and 'data-testid="no-tiers"' not in billing


def test_roles_hide_agents_and_tools_that_nothing_uses_and_a_save_keeps_them(owner, org_a, in_org):
    page = owner.get(f"/o/{org_a.slug}/settings/roles/").content.decode()
    assert ">Connectors<" in page and ">Agents<" not in page and ">Tools<" not in page

    from apps.accounts.principals import Principal
    from apps.settings.models import CustomRole
    from apps.settings.services import role_create

    in_org(org_a)
    role_create(
        actor=Principal.system(organization=org_a.organization),
        slug="builder",
        name="Builder",
        permissions=["workflows.view", "agents.view", "tools.run"],
    )
    from django.db import connection

    connection.set_schema_to_public()
    saved = owner.post(
        f"/o/{org_a.slug}/settings/roles/builder", {"name": "Builder", "perm": ["workflows.view", "workflows.edit"]}
    )
    assert saved.status_code in (200, 302), saved.content.decode()[:500]
    in_org(org_a)
    assert set(CustomRole.objects.get(slug="builder").permissions) == {
        "workflows.view",
        "workflows.edit",
        "agents.view",
        "tools.run",
    }
