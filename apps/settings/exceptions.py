from apps.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class CustomerExists(Conflict):
    code = "customer_exists"


class CustomerNotFound(NotFound):
    code = "customer_not_found"


class SecretExists(Conflict):
    code = "secret_exists"


class SecretNotFound(NotFound):
    code = "secret_not_found"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class EnvironmentNotFound(NotFound):
    code = "environment_not_found"


class EnvironmentExists(Conflict):
    code = "environment_exists"


class RoleNotGrantable(PermissionDenied):
    code = "role_not_grantable"


class UnknownRole(InvalidInput):
    code = "unknown_role"


class RoleNotFound(NotFound):
    code = "role_not_found"


class RoleExists(Conflict):
    code = "role_exists"


class RoleInUse(Conflict):
    code = "role_in_use"


class SystemRoleImmutable(PermissionDenied):
    code = "system_role_immutable"


class EnvironmentProtected(Conflict):
    code = "environment_protected"


class EnvironmentNotAllowed(PermissionDenied):
    """A Test key tried to deploy to, or run in, a production environment."""

    code = "environment_not_allowed"
