"""The demo organization of `make run`: created once, then reused.

Each run prints the dashboard URL, the demo login and a fresh API key (keys
are shown only once, so the previous run's "make run" key is revoked).
"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.accounts.models import User
from apps.accounts.principals import Principal
from apps.core.models import Organization
from apps.core.services import organization_create
from apps.core.tenancy import organization_context
from apps.settings.models import ApiKey
from apps.settings.services import api_key_create, api_key_revoke

DEMO_NAME = "Demo"
DEMO_EMAIL = "demo@fastn.local"
DEMO_PASSWORD = "fastn-demo-password"
KEY_NAME = "make run"


class Command(BaseCommand):
    help = "Create the demo organization if needed and print how to sign in and call the API."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of text.")

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug="demo").first()
        if organization is None:
            organization = organization_create(
                name=DEMO_NAME, owner_email=DEMO_EMAIL, owner_password=DEMO_PASSWORD, plan_slug="pro"
            ).organization
        user = User.objects.get(email__iexact=DEMO_EMAIL)
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        with organization_context(organization):
            system = Principal.system(organization=organization, label="make run")
            for old in ApiKey.objects.filter(name=KEY_NAME, revoked_at__isnull=True):
                api_key_revoke(actor=system, key_id=str(old.id))
            _, raw = api_key_create(actor=system, name=KEY_NAME, kind="live")
        base = settings.FASTN_PUBLIC_URL.rstrip("/")
        info = {
            "dashboard": f"{base}/o/{organization.slug}/",
            "login": f"{base}/accounts/login/",
            "email": DEMO_EMAIL,
            "password": DEMO_PASSWORD,
            "account_id": str(organization.account_id),
            "api_key": raw,
            "api_docs": f"{base}/api/v1/docs",
        }
        if options["json"]:
            self.stdout.write(json.dumps(info))
            return
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Fastn is starting.",
                    f"  Dashboard:  {info['dashboard']}",
                    f"  Sign in:    {info['login']}  as {DEMO_EMAIL} / {DEMO_PASSWORD}",
                    f"  Account ID: {info['account_id']}",
                    f"  API key:    {raw}",
                    f"  API docs:   {info['api_docs']}",
                    "  Try it:",
                    f"    curl -H 'x-fastn-access-key: {raw}' -H 'x-fastn-account-id: {info['account_id']}' "
                    f"{base}/api/v1/customers",
                    "",
                ]
            )
        )
