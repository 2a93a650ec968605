"""The demo organization of `make run`: created and seeded once, then reused.

Prints the dashboard URL, the demo login and the demo API key (the same key
at every start: see apps/demo/services.py).
"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.demo.services import demo_api_url, demo_ensure


class Command(BaseCommand):
    help = "Create and seed the demo organization if needed; print how to sign in and call the API."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of text.")

    def handle(self, *args, **options):
        demo = demo_ensure()
        base = settings.FASTN_PUBLIC_URL.rstrip("/")
        info = {
            "dashboard": f"{base}/o/{demo.organization.slug}/",
            "login": f"{base}/accounts/login/",
            "email": demo.email,
            "password": demo.password,
            "account_id": str(demo.organization.account_id),
            "api_key": demo.api_key,
            "api_docs": f"{base}/api/v1/docs",
            "demo_api": demo_api_url(),
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
                    f"  Sign in:    {info['login']}  as {demo.email} / {demo.password}",
                    f"  Account ID: {info['account_id']}",
                    f"  API key:    {demo.api_key}   (Live key of the demo organization; the same at every start)",
                    f"  API docs:   {info['api_docs']}",
                    f"  Demo CRM:   {info['demo_api']}   (the fake API the demo's connector calls)",
                    "  Try it:",
                    f"    curl -H 'x-fastn-access-key: {demo.api_key}' -H 'x-fastn-account-id: {info['account_id']}' "
                    f"{base}/api/v1/customers",
                    "",
                ]
            )
        )
