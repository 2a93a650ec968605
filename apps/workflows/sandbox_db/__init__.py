"""`fastn.db`: the SQL database workflow code gets.

Each (organization, customer) — or the organization alone, for runs without
a customer — has a PostgreSQL schema of its own, used through a LOGIN role of
its own that owns nothing else. Workflow SQL runs on a connection logged in
as that role, so nothing it can say (RESET ROLE, SET ROLE, set_config, a DO
block) reaches the platform's tables or another customer's schema; catalogs
that would name other schemas, roles or queries are revoked from PUBLIC, and
a statement policy refuses what the contract does not offer. See README.md
beside this file for the design, the limits and the value mapping.

    scope = SandboxScope(organization_id=org.pk, schema_suffix=customer.uuid.hex)
    rows = sandbox_query(scope, "SELECT * FROM contacts WHERE id = $1", [7], deadline=deadline)
    sandbox_execute(scope, "DELETE FROM contacts", [], deadline=deadline)  # {"rowCount": n}
"""

from .calls import sandbox_execute, sandbox_query
from .exceptions import SandboxDbError
from .hardening import database_setup as sandbox_database_setup
from .pool import get_pool as sandbox_pool
from .roles import (
    sandbox_drop,
    sandbox_drop_all,
    sandbox_drop_organization,
    sandbox_prune_orphan_roles,
    sandbox_storage_by_organization,
    sandbox_storage_bytes,
)
from .scope import SandboxScope

__all__ = [
    "SandboxDbError",
    "SandboxScope",
    "sandbox_database_setup",
    "sandbox_drop",
    "sandbox_drop_all",
    "sandbox_drop_organization",
    "sandbox_execute",
    "sandbox_pool",
    "sandbox_prune_orphan_roles",
    "sandbox_query",
    "sandbox_storage_by_organization",
    "sandbox_storage_bytes",
]
