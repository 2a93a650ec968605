from apps.core.errors import Conflict, InvalidInput


class OrganizationExists(Conflict):
    code = "organization_exists"


class InvalidOrganizationName(InvalidInput):
    code = "invalid_organization_name"
