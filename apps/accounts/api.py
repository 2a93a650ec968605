"""API of people and access: who am I, members, invitations, teams, the
organization's general settings and its email-domain rules."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.accounts import selectors, services
from apps.accounts.models import Membership
from apps.accounts.roles import Resource
from apps.core.api import TenantAPIView, choice_param, validated
from apps.core.serializers import StrictBooleanField, StrictCharField, StrictChoiceField, StrictSerializer

# --- Me ----------------------------------------------------------------------------------


class MeOut(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    role = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())
    organization = serializers.DictField()
    user = serializers.DictField(allow_null=True)
    api_key = serializers.DictField(allow_null=True)
    authentication = serializers.CharField()


class MeView(TenantAPIView):
    """Who the caller is in this organization. Any authenticated caller may ask."""

    permission_resource = None

    @extend_schema(summary="The calling principal: kind, role and permissions", responses=MeOut)
    def get(self, request):
        principal = self.principal
        user = principal.user
        key = principal.api_key
        body = {
            "kind": principal.kind,
            "label": principal.label,
            "role": principal.role,
            "permissions": sorted(principal.permissions),
            "organization": {
                "account_id": str(principal.organization.account_id),
                "slug": principal.organization.slug,
                "name": principal.organization.name,
            },
            "user": {"id": str(user.public_id), "email": user.email, "name": user.name} if user else None,
            "api_key": {"id": str(key.id), "kind": key.kind, "prefix": key.prefix} if key else None,
            "authentication": principal.extra.get("auth") or ("api_key" if key else "session"),
        }
        return Response(body)


# --- Members ------------------------------------------------------------------------------


class MemberOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")
    role = serializers.CharField()
    status = serializers.CharField()
    teams = serializers.SerializerMethodField()
    joined_at = serializers.DateTimeField(source="created_at")
    last_login = serializers.DateTimeField(source="user.last_login", allow_null=True)

    def get_teams(self, membership) -> list[str]:
        return [team.slug for team in membership.teams.all()]


class MemberUpdateIn(StrictSerializer):
    role = StrictCharField(max_length=64, required=False)
    status = StrictChoiceField(choices=[Membership.Status.ACTIVE, Membership.Status.SUSPENDED], required=False)


class MemberListView(TenantAPIView):
    permission_resource = Resource.MEMBERS

    @extend_schema(
        summary="List the organization's members",
        parameters=[
            OpenApiParameter("role", str),
            OpenApiParameter("status", str, enum=Membership.Status.values),
            OpenApiParameter("team", str),
            OpenApiParameter("search", str),
        ],
        responses=MemberOut(many=True),
    )
    def get(self, request):
        params = request.query_params
        status_filter = choice_param(params, "status", Membership.Status.values)
        members = selectors.member_list(
            organization=self.principal.organization,
            role=params.get("role", ""),
            status=status_filter,
            team=params.get("team", ""),
            search=params.get("search", ""),
        )[:1000]
        return Response({"results": MemberOut(members, many=True).data, "next_cursor": None, "has_more": False})


class MemberDetailView(TenantAPIView):
    permission_resource = Resource.MEMBERS

    @extend_schema(summary="Get a member", responses=MemberOut)
    def get(self, request, member_id: str):
        return Response(
            MemberOut(selectors.member_get(organization=self.principal.organization, member_id=member_id)).data
        )

    @extend_schema(summary="Change a member's role or status", request=MemberUpdateIn, responses=MemberOut)
    def patch(self, request, member_id: str):
        data = validated(MemberUpdateIn, request.data)
        membership = services.member_update(actor=self.principal, member_id=member_id, **data)
        return Response(MemberOut(membership).data)

    @extend_schema(summary="Remove a member from the organization", responses={204: None})
    def delete(self, request, member_id: str):
        services.member_remove(actor=self.principal, member_id=member_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Invitations ---------------------------------------------------------------------------


class InvitationOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    email = serializers.EmailField()
    role = serializers.CharField()
    team = serializers.CharField(source="team.slug", allow_null=True, default=None)
    invited_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    status = serializers.SerializerMethodField()

    def get_status(self, invitation) -> str:
        from django.utils import timezone

        return invitation.status_at(timezone.now())


class InvitationCreateIn(StrictSerializer):
    email = StrictCharField(max_length=254)
    role = StrictCharField(max_length=64, required=False, default="viewer")
    team = StrictCharField(max_length=64, required=False, allow_blank=True, default="")


class InvitationListView(TenantAPIView):
    permission_resource = Resource.MEMBERS

    @extend_schema(
        summary="List invitations (open ones unless include_closed)",
        parameters=[OpenApiParameter("include_closed", bool)],
        responses=InvitationOut(many=True),
    )
    def get(self, request):
        include_closed = request.query_params.get("include_closed") in ("1", "true", "yes")
        invitations = selectors.invitation_list(
            organization=self.principal.organization, include_closed=include_closed
        )[:500]
        return Response({"results": InvitationOut(invitations, many=True).data, "next_cursor": None, "has_more": False})

    @extend_schema(
        summary="Invite someone by email (an expiring, single-use link is emailed)",
        request=InvitationCreateIn,
        responses={201: InvitationOut},
    )
    def post(self, request):
        data = validated(InvitationCreateIn, request.data)
        invitation, _ = services.invitation_create(
            actor=self.principal, email=data["email"], role=data["role"], team_slug=data["team"] or None
        )
        return Response(InvitationOut(invitation).data, status=status.HTTP_201_CREATED)


class InvitationDetailView(TenantAPIView):
    permission_resource = Resource.MEMBERS

    @extend_schema(summary="Revoke an invitation", responses={204: None})
    def delete(self, request, invitation_id: str):
        services.invitation_revoke(actor=self.principal, invitation_id=invitation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Teams ----------------------------------------------------------------------------------


class TeamOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    members = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_members(self, team) -> list[str]:
        return [str(m.public_id) for m in team.members.all()]


class TeamCreateIn(StrictSerializer):
    name = StrictCharField(max_length=100)
    slug = StrictCharField(max_length=64, required=False, default="")
    description = StrictCharField(max_length=255, required=False, allow_blank=True, default="")


class TeamUpdateIn(StrictSerializer):
    name = StrictCharField(max_length=100, required=False)
    description = StrictCharField(max_length=255, required=False, allow_blank=True)


class TeamListView(TenantAPIView):
    permission_resource = Resource.MEMBERS

    @extend_schema(summary="List teams", responses=TeamOut(many=True))
    def get(self, request):
        teams = selectors.team_list(organization=self.principal.organization).prefetch_related("members")
        return Response({"results": TeamOut(teams, many=True).data, "next_cursor": None, "has_more": False})

    @extend_schema(summary="Create a team", request=TeamCreateIn, responses={201: TeamOut})
    def post(self, request):
        data = validated(TeamCreateIn, request.data)
        team = services.team_create(actor=self.principal, **data)
        return Response(TeamOut(team).data, status=status.HTTP_201_CREATED)


class TeamDetailView(TenantAPIView):
    permission_resource = Resource.MEMBERS

    @extend_schema(summary="Get a team", responses=TeamOut)
    def get(self, request, slug: str):
        return Response(TeamOut(selectors.team_get(organization=self.principal.organization, slug=slug)).data)

    @extend_schema(summary="Rename or describe a team", request=TeamUpdateIn, responses=TeamOut)
    def patch(self, request, slug: str):
        data = validated(TeamUpdateIn, request.data)
        return Response(TeamOut(services.team_update(actor=self.principal, slug=slug, **data)).data)

    @extend_schema(summary="Delete a team (its members stay in the organization)", responses={204: None})
    def delete(self, request, slug: str):
        services.team_delete(actor=self.principal, slug=slug)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamMemberView(TenantAPIView):
    permission_resource = Resource.MEMBERS
    permission_actions = {"PUT": "edit", "DELETE": "edit"}

    @extend_schema(summary="Add a member to a team", request=None, responses=TeamOut)
    def put(self, request, slug: str, member_id: str):
        return Response(TeamOut(services.team_member_add(actor=self.principal, slug=slug, member_id=member_id)).data)

    @extend_schema(summary="Take a member out of a team", responses=TeamOut)
    def delete(self, request, slug: str, member_id: str):
        return Response(TeamOut(services.team_member_remove(actor=self.principal, slug=slug, member_id=member_id)).data)


# --- General settings ------------------------------------------------------------------------


class OrganizationOut(serializers.Serializer):
    account_id = serializers.UUIDField()
    slug = serializers.CharField()
    name = serializers.CharField()
    timezone = serializers.CharField()
    plan = serializers.CharField(source="plan.slug")
    created_at = serializers.DateTimeField()


class OrganizationUpdateIn(StrictSerializer):
    name = StrictCharField(max_length=200, required=False)
    timezone = StrictCharField(max_length=64, required=False)


class OrganizationView(TenantAPIView):
    permission_resource = Resource.ORGANIZATION

    @extend_schema(summary="The organization's general settings", responses=OrganizationOut)
    def get(self, request):
        return Response(OrganizationOut(self.principal.organization).data)

    @extend_schema(
        summary="Change the organization's name or time zone", request=OrganizationUpdateIn, responses=OrganizationOut
    )
    def patch(self, request):
        data = validated(OrganizationUpdateIn, request.data)
        organization = services.organization_update(
            actor=self.principal, name=data.get("name"), timezone_name=data.get("timezone")
        )
        return Response(OrganizationOut(organization).data)


class EmailDomainOut(serializers.Serializer):
    domain = serializers.CharField()
    auto_approve = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class EmailDomainCreateIn(StrictSerializer):
    domain = StrictCharField(max_length=253)
    auto_approve = StrictBooleanField(required=False, default=False)


class EmailDomainUpdateIn(StrictSerializer):
    auto_approve = StrictBooleanField()


class EmailDomainListView(TenantAPIView):
    permission_resource = Resource.ORGANIZATION
    permission_actions = {"POST": "edit"}

    @extend_schema(summary="Email domains whose people may join", responses=EmailDomainOut(many=True))
    def get(self, request):
        rules = selectors.email_domain_list(organization=self.principal.organization)
        return Response({"results": EmailDomainOut(rules, many=True).data, "next_cursor": None, "has_more": False})

    @extend_schema(
        summary="Let people of an email domain join", request=EmailDomainCreateIn, responses={201: EmailDomainOut}
    )
    def post(self, request):
        data = validated(EmailDomainCreateIn, request.data)
        rule = services.email_domain_add(actor=self.principal, **data)
        return Response(EmailDomainOut(rule).data, status=status.HTTP_201_CREATED)


class EmailDomainDetailView(TenantAPIView):
    permission_resource = Resource.ORGANIZATION
    permission_actions = {"DELETE": "edit"}

    @extend_schema(summary="Turn auto-approve on or off", request=EmailDomainUpdateIn, responses=EmailDomainOut)
    def patch(self, request, domain: str):
        data = validated(EmailDomainUpdateIn, request.data)
        return Response(EmailDomainOut(services.email_domain_update(actor=self.principal, domain=domain, **data)).data)

    @extend_schema(summary="Stop letting an email domain join", responses={204: None})
    def delete(self, request, domain: str):
        services.email_domain_remove(actor=self.principal, domain=domain)
        return Response(status=status.HTTP_204_NO_CONTENT)
