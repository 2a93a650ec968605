from django.urls import path

from apps.accounts import api

urlpatterns = [
    path("me", api.MeView.as_view(), name="me"),
    path("members", api.MemberListView.as_view(), name="members"),
    path("members/<str:member_id>", api.MemberDetailView.as_view(), name="member"),
    path("invites", api.InvitationListView.as_view(), name="invites"),
    path("invites/<str:invitation_id>", api.InvitationDetailView.as_view(), name="invite"),
    path("teams", api.TeamListView.as_view(), name="teams"),
    path("teams/<str:slug>", api.TeamDetailView.as_view(), name="team"),
    path("teams/<str:slug>/members/<str:member_id>", api.TeamMemberView.as_view(), name="team-member"),
    path("organization", api.OrganizationView.as_view(), name="organization"),
    path("email-domains", api.EmailDomainListView.as_view(), name="email-domains"),
    path("email-domains/<str:domain>", api.EmailDomainDetailView.as_view(), name="email-domain"),
]
