"""Self-serve sign-up (allauth, e-mail verification) and the setup assistant's steps."""

from __future__ import annotations

import re

import pytest
from django.core import mail


@pytest.fixture
def open_signup(settings):
    settings.ACCOUNT_ALLOW_REGISTRATION = True
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"


def _sign_up(client, email: str, organization: str):
    return client.post(
        "/accounts/signup/",
        {
            "email": email,
            "password1": "a-Long-passphrase-42",
            "password2": "a-Long-passphrase-42",
            "organization": organization,
        },  # fmt: skip
    )


def test_sign_up_creates_the_organization_only_after_verification(client, db, open_signup):
    from apps.accounts.models import Membership
    from apps.core.models import Organization
    from apps.core.tenancy import organization_context
    from apps.onboarding.models import OnboardingState

    response = _sign_up(client, "founder@newco.test", "Newco Labs")
    assert response.status_code == 302
    assert not Organization.objects.filter(name="Newco Labs").exists()  # nothing before the address is proven
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s/]+/", mail.outbox[-1].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert client.post("/" + path).status_code == 302
    organization = Organization.objects.get(name="Newco Labs")
    membership = Membership.objects.get(organization=organization)
    assert membership.user.email == "founder@newco.test" and membership.role == "owner"
    with organization_context(organization):
        assert OnboardingState.objects.get().active
    home = client.get(f"/o/{organization.slug}/")
    assert home.status_code == 302 and home.url.endswith(f"/o/{organization.slug}/setup/")


def test_sign_up_asks_for_a_free_organization_name(client, db, open_signup, org_a):
    response = _sign_up(client, "someone@else.test", org_a.organization.name)
    assert response.status_code == 200 and "exists already" in response.content.decode()
    response = _sign_up(client, "someone@else.test", "")
    assert response.status_code == 200


def test_sign_up_is_closed_by_default(client, db, settings):
    from apps.accounts.models import User
    from apps.core.models import Organization

    settings.ACCOUNT_ALLOW_REGISTRATION = False
    _sign_up(client, "x@nowhere.test", "Nowhere")
    assert not User.objects.filter(email="x@nowhere.test").exists()
    assert not Organization.objects.filter(name="Nowhere").exists()


def test_organizations_made_otherwise_do_not_start_the_assistant(org_a, client, db):
    client.force_login(org_a.owner)
    assert client.get(f"/o/{org_a.slug}/").status_code == 200
    assert client.get(f"/o/{org_a.slug}/setup/").status_code == 302


def test_the_website_is_read_through_the_guarded_client(org_a, in_org, db, httpserver, settings):
    from apps.core.errors import InvalidInput
    from apps.onboarding.services import website_describe

    httpserver.expect_request("/").respond_with_data(
        '<html><head><title>Acme &amp; Co</title><meta name="description" content="Billing for plumbers.">'
        "</head></html>",
        content_type="text/html",
    )
    settings.FASTN_ALLOW_PRIVATE_NETWORK = True
    found = website_describe(url=httpserver.url_for("/"))
    assert found["title"] == "Acme & Co" and found["description"] == "Billing for plumbers."
    settings.FASTN_ALLOW_PRIVATE_NETWORK = False
    with pytest.raises(InvalidInput) as refused:
        website_describe(url=httpserver.url_for("/"))
    assert "website" in refused.value.details["fields"]
    with pytest.raises(InvalidInput):
        website_describe(url="http://169.254.169.254/latest/meta-data/")


def test_steps_save_skip_resume_and_reset(org_a, client, db, in_org):
    from apps.onboarding.models import OnboardingState

    in_org(org_a)
    OnboardingState.objects.create()
    client.force_login(org_a.owner)
    base = f"/o/{org_a.slug}/setup/"
    assert client.get(base).url.endswith(base + "1/")
    client.post(base + "1/", {"action": "save", "website": "https://acme.test", "description": "Plumbing"})
    client.post(base + "2/", {"action": "skip"})
    in_org(org_a)
    state = OnboardingState.objects.get()
    assert (state.step, state.done, state.skipped) == (3, [1], [2])
    assert client.get(base).url.endswith(base + "3/")  # resumes where it was left
    bad = client.post(base + "2/", {"action": "save", "use_cases": ["time-travel"]})
    assert bad.status_code == 200 and "Unknown use case" in bad.content.decode()
    client.post(base + "3/", {"action": "save", "connectors": ["stripe"]})
    client.post(base + "4/", {"action": "save", "workflows": ["welcome-new-customer"]})
    page = client.get(base + "5/").content.decode()
    assert "fastn_cs_" in page and "<fastn-hub" in page
    done = client.post(base + "5/", {"action": "save"})
    assert done.url.endswith(f"/o/{org_a.slug}/")
    in_org(org_a)
    from apps.connectors.models import Connector
    from apps.workflows.models import Workflow

    assert Connector.objects.filter(slug="stripe").exists()
    assert Workflow.objects.filter(slug="welcome-new-customer").exists()
    assert not OnboardingState.objects.get().active
    assert client.get(f"/o/{org_a.slug}/").status_code == 200
    reset = client.post(base + "reset")
    assert reset.status_code == 302
    in_org(org_a)
    state = OnboardingState.objects.get()
    assert state.active and state.step == 1 and state.answers == {}
    assert client.get(f"/o/{org_a.slug}/").status_code == 302
    assert "Reset Onboarding" in client.get(f"/o/{org_a.slug}/settings/general/").content.decode()


def test_a_viewer_cannot_run_the_assistant(org_a, client, db, in_org):
    from apps.onboarding.models import OnboardingState
    from tests.factories import MembershipFactory, UserFactory

    in_org(org_a)
    OnboardingState.objects.create()
    viewer = UserFactory(email="viewer-setup@alpha.test")
    MembershipFactory(user=viewer, organization=org_a.organization, role="viewer")
    client.force_login(viewer)
    assert client.get(f"/o/{org_a.slug}/setup/1/").status_code == 403
    assert client.post(f"/o/{org_a.slug}/setup/reset").status_code == 403
    assert client.get(f"/o/{org_a.slug}/").status_code == 200  # Home, not the assistant
