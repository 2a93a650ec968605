"""Workflows' part in the lifecycle of organizations, customers and the
database: fastn.db schemas and roles (apps.core.lifecycle, apps.core.rotation).

The sandbox package is imported when a step runs, not when the app is ready:
it is heavy, and most processes never need these steps.
"""

from __future__ import annotations


def organization_sandboxes_drop(organization) -> None:
    """Every fastn.db schema and role of the organization's customers."""
    from apps.workflows.sandbox_db import sandbox_drop_organization

    sandbox_drop_organization(organization.pk)


def customer_sandbox_drop(organization_id: int, customer_id, database: str) -> None:
    """The customer's fastn.db schema and role go with it."""
    from apps.workflows.sandbox_db import SandboxScope, sandbox_drop

    sandbox_drop(SandboxScope(organization_id=organization_id, schema_suffix=customer_id.hex, database=database))


def sandbox_setup_after_migrate(command, alias: str, verbosity: int) -> None:
    """The database-wide set-up fastn.db sandboxes rely on (sandbox_db/hardening.py)."""
    from apps.workflows.sandbox_db import SandboxDbError, sandbox_database_setup

    try:
        report = sandbox_database_setup(alias)
    except SandboxDbError as exc:
        # fastn.db refuses to run until this succeeds (it retries on first use).
        command.stderr.write(command.style.WARNING(f"fastn.db set-up skipped: {exc.message}"))
        return
    if report.ran and verbosity >= 1:
        command.stdout.write(
            f"fastn.db set-up: {len(report.revoked_relations)} catalog relations and "
            f"{len(report.revoked_functions)} functions revoked from PUBLIC."
        )


def sandbox_passwords_rotate() -> int:
    """Re-encrypt the sandbox roles' passwords under the newest key."""
    from apps.workflows.sandbox_db.roles import sandbox_rotate_encryption

    return sandbox_rotate_encryption()
