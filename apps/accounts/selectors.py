from __future__ import annotations

from django.db.models import QuerySet

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
