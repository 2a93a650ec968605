from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from apps.accounts.models import Membership, User
from apps.core.models import Organization


def membership_for(*, user: User, organization: Organization) -> Membership | None:
    if not user.is_authenticated or not user.is_active:
        return None
    return (
        Membership.objects.filter(user=user, organization=organization, status=Membership.Status.ACTIVE)
        .only("id", "role")
        .first()
    )


def organizations_for_user(*, user: User) -> QuerySet[Organization]:
    return (
        Organization.objects.filter(
            memberships__user=user, memberships__status=Membership.Status.ACTIVE, is_template=False
        )
        .order_by("name")
        .distinct()
    )


def user_by_email(*, email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip()).first()


def member_list(*, organization: Organization, role: str = "", status: str = "", team: str = "", search: str = ""):
    """Memberships of an organization with their users and teams, filtered."""
    from apps.accounts.models import Team

    queryset = (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .prefetch_related(Prefetch("teams", queryset=Team.objects.order_by("name")))
        .order_by("user__email")
    )
    if role:
        queryset = queryset.filter(role=role)
    if status:
        queryset = queryset.filter(status=status)
    if team:
        queryset = queryset.filter(teams__slug=team)
    if search:
        queryset = queryset.filter(Q(user__email__icontains=search) | Q(user__name__icontains=search))
    return queryset.distinct()


def member_get(*, organization: Organization, member_id: str) -> Membership:
    from apps.accounts.services import _member

    return _member(organization, member_id)


def invitation_list(*, organization: Organization, include_closed: bool = False):
    from django.utils import timezone

    from apps.accounts.models import Invitation

    queryset = Invitation.objects.filter(organization=organization).select_related("team").order_by("-created_at")
    if not include_closed:
        queryset = queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
    return queryset


def team_list(*, organization: Organization):
    from django.db.models import Count

    from apps.accounts.models import Team

    return Team.objects.filter(organization=organization).annotate(member_count=Count("members")).order_by("name")


def team_get(*, organization: Organization, slug: str):
    from apps.accounts.services import _team

    return _team(organization, slug)


def email_domain_list(*, organization: Organization):
    from apps.accounts.models import EmailDomain

    return EmailDomain.objects.filter(organization=organization).order_by("domain")


def role_holders(*, organization: Organization, slug: str) -> dict[str, int]:
    """How many members and open invitations hold a role (API keys are counted by settings)."""
    from django.utils import timezone

    from apps.accounts.models import Invitation

    return {
        "members": Membership.objects.filter(organization=organization, role=slug).count(),
        "invitations": Invitation.objects.filter(
            organization=organization,
            role=slug,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).count(),
    }


def role_member_counts(*, organization: Organization) -> dict[str, int]:
    from django.db.models import Count

    rows = Membership.objects.filter(organization=organization).values("role").annotate(n=Count("id"))
    return {row["role"]: row["n"] for row in rows}
