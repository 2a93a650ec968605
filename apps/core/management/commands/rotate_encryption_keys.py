"""Re-encrypt every value the apps keep encrypted (secrets, connection
credentials, OAuth client secrets, fastn.db role passwords …) under the newest
FASTN_ENCRYPTION_KEYS key. What there is to re-encrypt, each app registers in
apps.core.rotation."""

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.core.models import Organization
from apps.core.rotation import database_wide_rotations, organization_rotations
from apps.core.tenancy import organization_context


class Command(BaseCommand):
    help = "Re-encrypt secrets and credentials of every organization with the newest key."

    def handle(self, *args, **options):
        total = 0
        rotations = organization_rotations()
        for organization in Organization.objects.filter(is_template=False).order_by("pk"):
            with organization_context(organization), transaction.atomic():
                counts = [(rotation.label, rotation.rotate()) for rotation in rotations]
            total += sum(count for _, count in counts)
            done = ", ".join(f"{count} {label}" for label, count in counts)
            self.stdout.write(f"{organization.slug}: {done} re-encrypted")
        for rotation in database_wide_rotations():
            count = rotation.rotate()
            self.stdout.write(f"{rotation.where}: {count} {rotation.label} re-encrypted")
            total += count
        self.stdout.write(self.style.SUCCESS(f"Done: {total} values re-encrypted."))
