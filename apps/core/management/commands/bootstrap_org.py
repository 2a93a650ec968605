"""Create an organization with its Owner, environments and API keys.

Prints one JSON object on stdout (see API.md). Exits 1 with a message on
stderr when the organization already exists or the input is invalid.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import FastnError
from apps.core.services import organization_create


class Command(BaseCommand):
    help = "Create an organization with its Owner, default environments and Test/Live API keys."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-password", default=None)
        parser.add_argument("--plan", default="free", choices=["free", "pro", "unlimited"])
        parser.add_argument("--timezone", default="UTC")

    def handle(self, *args, **options):
        try:
            created = organization_create(
                name=options["name"],
                owner_email=options["owner_email"],
                owner_password=options["owner_password"],
                plan_slug=options["plan"],
                timezone_name=options["timezone"],
            )
        except FastnError as exc:
            raise CommandError(exc.message, returncode=1) from exc
        org = created.organization
        self.stdout.write(
            json.dumps(
                {
                    "account_id": str(org.account_id),
                    "slug": org.slug,
                    "name": org.name,
                    "plan": org.plan.slug,
                    "owner_email": created.owner_email,
                    "owner_password": created.owner_password,
                    "api_keys": created.api_keys,
                }
            )
        )
