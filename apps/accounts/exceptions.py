from apps.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class ObjectPermissionDenied(PermissionDenied):
    code = "object_permission_denied"


class MemberNotFound(NotFound):
    code = "member_not_found"


class LastOwner(Conflict):
    """Removing, suspending or demoting the organization's last Owner."""

    code = "last_owner"


class RoleNotGrantable(PermissionDenied):
    code = "role_not_grantable"


class UnknownRole(InvalidInput):
    code = "unknown_role"


class InvitationNotFound(NotFound):
    code = "invitation_not_found"


class InvitationUnusable(Conflict):
    """Expired, revoked or already accepted."""

    code = "invitation_unusable"


class InvitationEmailMismatch(PermissionDenied):
    code = "invitation_email_mismatch"


class AlreadyMember(Conflict):
    code = "already_member"


class TeamNotFound(NotFound):
    code = "team_not_found"


class TeamExists(Conflict):
    code = "team_exists"


class EmailDomainExists(Conflict):
    code = "email_domain_exists"


class EmailDomainNotFound(NotFound):
    code = "email_domain_not_found"


class InvalidToken(PermissionDenied):
    code = "invalid_token"
