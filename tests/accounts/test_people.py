"""People: invitations (accept, reuse, expiry), members, the last Owner,
teams, filters, general settings and email-domain sign-up."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from apps.accounts.models import EmailDomain, Invitation, Membership, Team, User
from apps.settings.models import AuditEvent
from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db


def invite(api, org, email, role="developer", **extra):
    response = api(org).post("/api/v1/invites", {"email": email, "role": role, **extra})
    assert response.status_code == 201, response.content
    return response.json()


def link_token(django_capture_on_commit_callbacks, api, org, email, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        invite(api, org, email, **kwargs)
    message = mail.outbox[-1]
    assert message.to == [email]
    return re.search(r"/invites/([\w-]+)", message.body).group(1)


def test_invite_emails_a_link_and_accepting_creates_a_verified_member(
    api, client, org_a, in_org, django_capture_on_commit_callbacks
):
    token = link_token(django_capture_on_commit_callbacks, api, org_a, "new.dev@alpha.test")
    assert "Alpha Corp" in mail.outbox[-1].subject
    page = client.get(f"/invites/{token}")
    assert page.status_code == 200 and "Join Alpha Corp" in page.content.decode()
    response = client.post(f"/invites/{token}", {"password1": "a-long-pass-123", "password2": "a-long-pass-123"})
    assert response.status_code == 302 and response["Location"] == f"/o/{org_a.slug}/"
    user = User.objects.get(email="new.dev@alpha.test")
    membership = Membership.objects.get(user=user, organization=org_a.organization)
    assert membership.role == "developer" and membership.status == "active"
    from allauth.account.models import EmailAddress

    assert EmailAddress.objects.get(user=user).verified
    assert client.get(f"/o/{org_a.slug}/").status_code == 200  # signed in
    in_org(org_a)
    assert AuditEvent.objects.filter(action="invitation.accept", actor_label="new.dev@alpha.test").exists()


def test_an_invitation_link_works_once(api, client, org_a, django_capture_on_commit_callbacks):
    token = link_token(django_capture_on_commit_callbacks, api, org_a, "once@alpha.test")
    form = {"password1": "a-long-pass-123", "password2": "a-long-pass-123"}
    assert client.post(f"/invites/{token}", form).status_code == 302
    client.logout()
    reused = client.post(f"/invites/{token}", form)
    assert reused.status_code == 410 and "accepted" in reused.content.decode()
    assert Membership.objects.filter(user__email="once@alpha.test").count() == 1
    from apps.accounts.exceptions import InvitationUnusable
    from apps.accounts.services import invitation_accept

    with pytest.raises(InvitationUnusable):
        invitation_accept(token=token, password="another-pass-456")


def test_an_expired_invitation_is_refused(api, client, org_a, django_capture_on_commit_callbacks):
    token = link_token(django_capture_on_commit_callbacks, api, org_a, "late@alpha.test")
    with time_machine.travel(timezone.now() + timedelta(hours=73), tick=False):
        response = client.post(f"/invites/{token}", {"password1": "a-long-pass-123", "password2": "a-long-pass-123"})
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert not User.objects.filter(email="late@alpha.test").exists()


def test_a_revoked_or_unknown_link_is_refused(api, client, org_a, django_capture_on_commit_callbacks):
    token = link_token(django_capture_on_commit_callbacks, api, org_a, "revoked@alpha.test")
    invitation = Invitation.objects.get(email="revoked@alpha.test")
    assert api(org_a).delete(f"/api/v1/invites/{invitation.public_id}").status_code == 204
    assert client.get(f"/invites/{token}").status_code == 410
    assert client.get("/invites/not-a-token").status_code == 404


def test_an_existing_user_accepts_after_signing_in_with_the_invited_email(
    api, client, org_a, org_b, django_capture_on_commit_callbacks
):
    token = link_token(django_capture_on_commit_callbacks, api, org_a, "owner@beta.test", role="viewer")
    assert client.get(f"/invites/{token}").status_code == 200
    assert client.post(f"/invites/{token}").status_code == 302  # not signed in → to login
    other = User.objects.create_user(email="someone@else.test", password="x")
    client.force_login(other)
    assert client.get(f"/invites/{token}").status_code == 403
    client.force_login(org_b.owner)
    assert client.post(f"/invites/{token}").status_code == 302
    assert Membership.objects.get(user=org_b.owner, organization=org_a.organization).role == "viewer"


def test_invite_input_is_checked(api, org_a):
    client = api(org_a)
    assert_error(client.post("/api/v1/invites", {"email": "not-an-email"}), 400, "invalid_input")
    assert_error(client.post("/api/v1/invites", {"email": "x@y.test", "role": "wizard"}), 400, "unknown_role")
    assert_error(client.post("/api/v1/invites", {"email": "owner@alpha.test"}), 409, "already_member")
    assert_error(client.post("/api/v1/invites", {"email": 5}), 400, "invalid_input")
    assert_error(client.post("/api/v1/invites", {"email": "x@y.test", "extra": 1}), 400, "invalid_input")
    assert_error(client.delete("/api/v1/invites/not-a-uuid"), 404, "invitation_not_found")


def test_the_last_owner_cannot_be_removed_demoted_or_suspended(api, org_a, role_key, in_org):
    client = api(org_a, key=role_key(org_a, "owner"))
    owner = Membership.objects.get(user=org_a.owner, organization=org_a.organization)
    assert_error(client.delete(f"/api/v1/members/{owner.public_id}"), 409, "last_owner")
    assert_error(client.patch(f"/api/v1/members/{owner.public_id}", {"role": "admin"}), 409, "last_owner")
    assert_error(client.patch(f"/api/v1/members/{owner.public_id}", {"status": "suspended"}), 409, "last_owner")
    in_org(org_a)
    assert AuditEvent.objects.filter(outcome="denied", action="member.remove", changes__reason="last owner").exists()
    # With a second owner, the first may step down.
    second = User.objects.create_user(email="second@alpha.test", password="x")
    Membership.objects.create(user=second, organization=org_a.organization, role="owner")
    assert client.patch(f"/api/v1/members/{owner.public_id}", {"role": "admin"}).status_code == 200


def test_members_of_another_organization_are_404(api, org_a, org_b):
    other = Membership.objects.get(user=org_b.owner, organization=org_b.organization)
    assert_error(api(org_a).get(f"/api/v1/members/{other.public_id}"), 404, "member_not_found")
    assert_error(api(org_a).delete(f"/api/v1/members/{other.public_id}"), 404, "member_not_found")


def test_teams_and_people_filters(api, client, org_a):
    alice = User.objects.create_user(email="alice@alpha.test", password="x")
    bob = User.objects.create_user(email="bob@alpha.test", password="x")
    a = Membership.objects.create(user=alice, organization=org_a.organization, role="developer")
    Membership.objects.create(user=bob, organization=org_a.organization, role="viewer", status="suspended")
    api_client = api(org_a)
    assert api_client.post("/api/v1/teams", {"name": "Platform"}).status_code == 201
    assert_error(api_client.post("/api/v1/teams", {"name": "Platform"}), 409, "team_exists")
    assert api_client.put(f"/api/v1/teams/platform/members/{a.public_id}").status_code == 200

    def emails(**params):
        return {m["email"] for m in api_client.get("/api/v1/members", params).json()["results"]}

    assert emails(role="developer") == {"alice@alpha.test"}
    assert emails(status="suspended") == {"bob@alpha.test"}
    assert emails(team="platform") == {"alice@alpha.test"}
    assert_error(api_client.get("/api/v1/members", {"status": "asleep"}), 400, "invalid_input")

    client.force_login(org_a.owner)
    rows = client.get(
        f"/o/{org_a.slug}/settings/people/", {"team": "platform"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="member-rows"
    ).content.decode()
    assert "alice@alpha.test" in rows and "bob@alpha.test" not in rows and "<table" not in rows
    assert Team.objects.get(slug="platform").members.count() == 1


def test_dashboard_invite_and_role_change(client, org_a, django_capture_on_commit_callbacks):
    client.force_login(org_a.owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/o/{org_a.slug}/settings/people/invite",
            {"email": "ui@alpha.test", "role": "operator", "team": ""},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200 and "Invitation sent to ui@alpha.test." in response.content.decode()
    assert mail.outbox[-1].to == ["ui@alpha.test"]
    carol = User.objects.create_user(email="carol@alpha.test", password="x")
    membership = Membership.objects.create(user=carol, organization=org_a.organization, role="viewer")
    response = client.post(
        f"/o/{org_a.slug}/settings/people/members/{membership.public_id}", {"role": "developer"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    membership.refresh_from_db()
    assert membership.role == "developer"


def test_general_settings(api, client, org_a, org_b, in_org):
    client_api = api(org_a)
    assert client_api.patch("/api/v1/organization", {"timezone": "Europe/Berlin"}).json()["timezone"] == "Europe/Berlin"
    assert_error(client_api.patch("/api/v1/organization", {"timezone": "Mars/Olympus"}), 400, "invalid_input")
    assert_error(client_api.patch("/api/v1/organization", {"name": ""}), 400, "invalid_input")
    assert_error(client_api.patch("/api/v1/organization", {"name": "Beta Corp"}), 400, "invalid_input")
    client.force_login(org_a.owner)
    response = client.post(
        f"/o/{org_a.slug}/settings/general/",
        {"name": "Alpha Corporation", "timezone": "Asia/Tokyo"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "Settings saved." in response.content.decode()
    org_a.organization.refresh_from_db()
    assert (org_a.organization.name, org_a.organization.timezone) == ("Alpha Corporation", "Asia/Tokyo")
    in_org(org_a)
    assert AuditEvent.objects.filter(action="organization.update").count() == 2


def test_email_domains_are_validated(api, org_a):
    client = api(org_a)
    assert client.post("/api/v1/email-domains", {"domain": "Alpha.Test", "auto_approve": True}).status_code == 201
    assert_error(client.post("/api/v1/email-domains", {"domain": "alpha.test"}), 409, "email_domain_exists")
    assert_error(client.post("/api/v1/email-domains", {"domain": "gmail.com"}), 400, "invalid_input")
    assert_error(client.post("/api/v1/email-domains", {"domain": "not a domain"}), 400, "invalid_input")
    assert_error(
        client.post("/api/v1/email-domains", {"domain": "x.test", "auto_approve": "yes"}), 400, "invalid_input"
    )
    assert client.patch("/api/v1/email-domains/alpha.test", {"auto_approve": False}).json()["auto_approve"] is False
    assert client.delete("/api/v1/email-domains/alpha.test").status_code == 204


@pytest.mark.parametrize("auto_approve, status", [(True, "active"), (False, "pending")])
def test_signup_with_a_listed_domain_joins_after_verification(client, org_a, settings, auto_approve, status):
    settings.ACCOUNT_ALLOW_REGISTRATION = False
    EmailDomain.objects.create(organization=org_a.organization, domain="alpha-staff.test", auto_approve=auto_approve)
    refused = client.post(
        "/accounts/signup/",
        {"email": "x@elsewhere.test", "password1": "a-long-pass-123", "password2": "a-long-pass-123"},
    )
    assert refused.status_code == 200 and "by invitation" in refused.content.decode()
    client.post(
        "/accounts/signup/",
        {"email": f"joe-{status}@alpha-staff.test", "password1": "a-long-pass-123", "password2": "a-long-pass-123"},
    )
    user = User.objects.get(email=f"joe-{status}@alpha-staff.test")
    assert not Membership.objects.filter(user=user).exists()  # not before the address is verified
    key = re.search(r"/accounts/confirm-email/([^/\s]+)/", mail.outbox[-1].body).group(1)
    client.post(f"/accounts/confirm-email/{key}/")
    membership = Membership.objects.get(user=user, organization=org_a.organization)
    assert (membership.role, membership.status) == ("viewer", status)
