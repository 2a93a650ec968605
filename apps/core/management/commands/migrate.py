"""`migrate`: django-tenants' migrate_schemas, then the template schema.

After the public schema and every organization's schema are migrated, make
sure the template organization exists, so new organizations are cloned from
it instead of being migrated one by one, and that the database-wide set-up
`fastn.db` sandboxes rely on is in place (apps/workflows/sandbox_db/hardening.py).
"""

from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        if options.get("fake") or options.get("plan") or options.get("check_unapplied"):
            return
        if options.get("app_label") or options.get("schema_name"):
            return
        from apps.core.services import template_ensure

        template_ensure()
        self._sandbox_db_setup(options.get("database") or "default", int(options.get("verbosity", 1)))

    def _sandbox_db_setup(self, alias: str, verbosity: int) -> None:
        from apps.workflows.sandbox_db import SandboxDbError, sandbox_database_setup

        try:
            report = sandbox_database_setup(alias)
        except SandboxDbError as exc:
            # fastn.db refuses to run until this succeeds (it retries on first use).
            self.stderr.write(self.style.WARNING(f"fastn.db set-up skipped: {exc.message}"))
            return
        if report.ran and verbosity >= 1:
            self.stdout.write(
                f"fastn.db set-up: {len(report.revoked_relations)} catalog relations and "
                f"{len(report.revoked_functions)} functions revoked from PUBLIC."
            )
