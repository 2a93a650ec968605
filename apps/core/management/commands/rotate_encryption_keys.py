"""Re-encrypt every stored secret, connection credential and OAuth client
secret under the newest FASTN_ENCRYPTION_KEYS key."""

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.connectors.services import connections_rotate_encryption, oauth_apps_rotate_encryption
from apps.core.models import Organization
from apps.core.tenancy import organization_context
from apps.settings.services import secrets_rotate_encryption


class Command(BaseCommand):
    help = "Re-encrypt secrets and credentials of every organization with the newest key."

    def handle(self, *args, **options):
        total = 0
        for organization in Organization.objects.filter(is_template=False).order_by("pk"):
            with organization_context(organization), transaction.atomic():
                secrets = secrets_rotate_encryption()
                credentials = connections_rotate_encryption()
                apps = oauth_apps_rotate_encryption()
            total += secrets + credentials + apps
            self.stdout.write(
                f"{organization.slug}: {secrets} secrets, {credentials} connection credentials, "
                f"{apps} OAuth app secrets re-encrypted"
            )
        from apps.workflows.sandbox_db.roles import sandbox_rotate_encryption

        sandbox_passwords = sandbox_rotate_encryption()
        self.stdout.write(f"fastn.db: {sandbox_passwords} sandbox role passwords re-encrypted")
        total += sandbox_passwords
        self.stdout.write(self.style.SUCCESS(f"Done: {total} values re-encrypted."))
