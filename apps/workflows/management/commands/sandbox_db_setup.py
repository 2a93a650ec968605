"""Run (or re-run) the database-wide set-up of `fastn.db` sandboxes.

It also runs at the end of `migrate` and on the first `fastn.db` call of each
process; this command shows what it revoked, and `--prune-roles` drops
sandbox roles left in the cluster by databases that no longer exist.
"""

from django.core.management.base import BaseCommand, CommandError

from apps.workflows.sandbox_db import SandboxDbError, sandbox_database_setup, sandbox_prune_orphan_roles


class Command(BaseCommand):
    help = "Revoke from PUBLIC what fastn.db sandbox roles must not use, and create the sandbox registry."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="Django database alias.")
        parser.add_argument("--force", action="store_true", help="Run even if the set-up is recorded as current.")
        parser.add_argument(
            "--prune-roles", action="store_true", help="Drop fdb_ roles that nothing in the cluster uses any more."
        )

    def handle(self, *args, **options):
        try:
            report = sandbox_database_setup(options["database"], force=options["force"])
        except SandboxDbError as exc:
            raise CommandError(exc.message) from exc
        if not report.ran:
            self.stdout.write("fastn.db set-up is current (use --force to run it again).")
        else:
            for name in report.revoked_relations:
                self.stdout.write(f"revoked SELECT on {name}")
            for name in report.revoked_functions:
                self.stdout.write(f"revoked EXECUTE on {name}")
            for name in report.other:
                self.stdout.write(f"revoked {name}")
            self.stdout.write(
                self.style.SUCCESS(
                    f"Done: {len(report.revoked_relations)} relations and "
                    f"{len(report.revoked_functions)} functions revoked from PUBLIC."
                )
            )
        if options["prune_roles"]:
            dropped = sandbox_prune_orphan_roles(options["database"])
            self.stdout.write(f"Dropped {len(dropped)} orphaned sandbox roles.")
