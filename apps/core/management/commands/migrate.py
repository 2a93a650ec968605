"""`migrate`: django-tenants' migrate_schemas, then the template schema.

After the public schema and every organization's schema are migrated, make
sure the template organization exists, so new organizations are cloned from
it instead of being migrated one by one, then run the database-wide set-up
the apps above core registered (apps.core.lifecycle.register_migrated: the
`fastn.db` hardening of apps/workflows/sandbox_db/hardening.py).
"""

from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

from apps.core import lifecycle


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        if options.get("fake") or options.get("plan") or options.get("check_unapplied"):
            return
        if options.get("app_label") or options.get("schema_name"):
            return
        from apps.core.services import template_ensure

        template_ensure()
        self._after_migrate(options.get("database") or "default", int(options.get("verbosity", 1)))

    def _after_migrate(self, alias: str, verbosity: int) -> None:
        lifecycle.migrated(self, alias, verbosity)
