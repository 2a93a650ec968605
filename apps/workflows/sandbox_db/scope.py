"""Whose database a `fastn.db` call uses, and the names derived from it."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

_SUFFIX = re.compile(r"^(org|[0-9a-f]{32})$")
ORG_SUFFIX = "org"
# Every sandbox role and schema starts with this; nothing else may.
NAME_PREFIX = "fdb_"


@dataclass(frozen=True)
class SandboxScope:
    """One isolated database area: an organization's, or one of its customers'.

    `schema_suffix` is "org" for runs without a customer, else the Customer's
    UUID as 32 lower-case hex digits. `database` is the Django alias whose
    server holds the data (data residency maps a customer's region to one).
    """

    organization_id: int
    schema_suffix: str
    database: str = "default"

    def __post_init__(self) -> None:
        if not isinstance(self.organization_id, int) or isinstance(self.organization_id, bool):
            raise ValueError("organization_id must be an integer primary key.")
        if self.organization_id <= 0:
            raise ValueError("organization_id must be positive.")
        if not isinstance(self.schema_suffix, str) or not _SUFFIX.match(self.schema_suffix):
            raise ValueError('schema_suffix must be "org" or a customer UUID as 32 lower-case hex digits.')
        if not isinstance(self.database, str) or not self.database:
            raise ValueError("database must be a Django database alias.")

    @classmethod
    def for_customer(cls, organization_id: int, customer_uuid, database: str = "default") -> SandboxScope:
        """The scope of a customer (`customer_uuid` a uuid.UUID or None for the organization)."""
        suffix = ORG_SUFFIX if customer_uuid is None else customer_uuid.hex
        return cls(organization_id=organization_id, schema_suffix=suffix, database=database)


def sandbox_name(scope: SandboxScope, salt: bytes) -> str:
    """The role name, which is also the schema name: `fdb_<org pk>_<24 hex>`.

    The hex part is an HMAC of the scope under a random salt kept in this
    database (`fastn_sandbox.meta`), so names are deterministic for a database
    yet neither reveal a customer id nor can be computed by anyone who cannot
    read that table; a different database (another test run, another region)
    has another salt, so cluster-wide role names never collide. At most
    4 + 19 + 1 + 24 = 48 characters.
    """
    digest = hmac.new(salt, f"{scope.organization_id}:{scope.schema_suffix}".encode(), hashlib.sha256).hexdigest()
    return f"{NAME_PREFIX}{scope.organization_id}_{digest[:24]}"
