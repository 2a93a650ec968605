"""The demo organization of `make run`: created and seeded once, then reused.

Seeded once, on the first start: a customer (Acme Corp), the Demo CRM
connector (an API-key connector pointing at apps/demo/fake_api.py, which
`make run` serves on loopback), Acme's connection to it, an Instant workflow
that lists Acme's CRM contacts, deployed to production with a webhook
trigger, and three runs of it (queued: the workers run them as they start).

At every start: the owner's password is set back to the printed one, the
connector's base URL follows the fake API's address, and the demo API key
is printed again. The key is a Live key (Test keys cannot deploy to
production, and the README's calls deploy); keys are stored hashed, so the
raw key is kept encrypted beside the demo record. It is created again only
when it was revoked or can no longer be decrypted (FASTN_ENCRYPTION_KEYS
changed).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.principals import Principal
from apps.connectors import selectors as connector_selectors
from apps.connectors import services as connector_services
from apps.core import crypto
from apps.core.errors import FastnError
from apps.core.models import Organization
from apps.core.services import organization_create
from apps.core.tenancy import organization_context
from apps.demo import fake_api
from apps.demo.models import DemoOrganization
from apps.settings import selectors as settings_selectors
from apps.settings import services as settings_services
from apps.settings.models import ApiKey
from apps.triggers.services.events import trigger_fire
from apps.triggers.services.triggers import trigger_create
from apps.workflows import services as workflow_services

log = logging.getLogger(__name__)

NAME = "Demo"
SLUG = "demo"
EMAIL = "demo@fastn.local"
PASSWORD = "fastn-demo-password"
KEY_NAME = "Demo key (make run)"
LEGACY_KEY_NAME = "make run"
CUSTOMER_ID = "acme-corp"
CUSTOMER_NAME = "Acme Corp"
CONNECTOR_SLUG = "demo-crm"
WORKFLOW_SLUG = "list-crm-contacts"
SEEDED_RUNS = 3
WORKFLOW_CODE = """\
// Lists the customer's contacts in Demo CRM (a fake API that `make run` serves).
// Try it: Test with {"q": "ada"}, or POST to the webhook trigger's URL.
export default async function (ctx) {
  const { contacts } = await fastn.connector['demo-crm'].listContacts({ q: ctx.input?.q ?? '' });
  console.log(`${contacts.length} contacts for ${ctx.customer?.name ?? 'the organization'}`);
  return {
    customer: ctx.customer?.external_id ?? null,
    count: contacts.length,
    names: contacts.map((c) => c.name),
  };
}
"""


@dataclass(frozen=True)
class Demo:
    organization: Organization
    api_key: str
    email: str = EMAIL
    password: str = PASSWORD


def demo_api_url() -> str:
    return f"http://{settings.FASTN_DEMO_API_BIND}"


def connector_definition(base_url: str) -> dict:
    return {
        "slug": CONNECTOR_SLUG,
        "name": "Demo CRM",
        "description": "A small fake CRM that `make run` serves on loopback, for trying Fastn.",
        "categories": ["CRM"],
        "base_url": base_url,
        "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
        "verify": "me",
        "actions": {
            "me": {"method": "GET", "path": "/me"},
            "listContacts": {"method": "GET", "path": "/contacts"},
            "getContact": {"method": "GET", "path": "/contacts/{id}"},
            "createContact": {"method": "POST", "path": "/contacts"},
        },
    }


def demo_ensure() -> Demo:
    """Create (once) and seed (once) the demo organization; return it and its key."""
    organization = Organization.objects.filter(slug=SLUG).first()
    if organization is None:
        organization = organization_create(
            name=NAME, owner_email=EMAIL, owner_password=PASSWORD, plan_slug="pro"
        ).organization
    record, _ = DemoOrganization.objects.get_or_create(organization=organization)
    user = User.objects.get(email__iexact=EMAIL)
    if not user.check_password(PASSWORD):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    with organization_context(organization):
        system = Principal.system(organization=organization, label="make run")
        raw = _demo_key(record, system)
        if record.seeded_at is None:
            _seed(system)
            record.seeded_at = timezone.now()
            record.save(update_fields=["seeded_at", "updated_at"])
        _follow_fake_api(system)
    return Demo(organization=organization, api_key=raw)


def _demo_key(record: DemoOrganization, system: Principal) -> str:
    """The stored demo key when it still works; a new one otherwise."""
    if record.api_key_ciphertext and record.api_key_id:
        active = ApiKey.objects.filter(id=record.api_key_id, revoked_at__isnull=True).exists()
        if active:
            try:
                return crypto.decrypt(record.api_key_ciphertext)
            except crypto.DecryptionFailed:
                log.warning("The demo API key cannot be decrypted with FASTN_ENCRYPTION_KEYS: creating a new one.")
        else:
            log.info("The demo API key was revoked: creating a new one.")
    # Keys an earlier `make run` printed (a new one at every start, named
    # "make run") go when the demo gets its stable key.
    for legacy in ApiKey.objects.filter(name=LEGACY_KEY_NAME, revoked_at__isnull=True):
        settings_services.api_key_revoke(actor=system, key_id=str(legacy.id))
    key, raw = settings_services.api_key_create(actor=system, name=KEY_NAME, kind="live")
    record.api_key_id = key.id
    record.api_key_ciphertext = crypto.encrypt(raw)
    record.save(update_fields=["api_key_id", "api_key_ciphertext", "updated_at"])
    return raw


def demo_rotate_encryption() -> int:
    """Re-encrypt the stored demo keys under the newest encryption key."""
    count = 0
    for record in DemoOrganization.objects.exclude(api_key_ciphertext=""):
        record.api_key_ciphertext = crypto.rotate(record.api_key_ciphertext)
        record.save(update_fields=["api_key_ciphertext", "updated_at"])
        count += 1
    return count


def _seed(system: Principal) -> None:
    with transaction.atomic():
        customer = settings_selectors.customer_list().filter(external_id=CUSTOMER_ID).first()
        if customer is None:
            # No tier: a tier is a set of limits defined under Billing.
            customer = settings_services.customer_create(
                actor=system, external_id=CUSTOMER_ID, name=CUSTOMER_NAME, tier=""
            )
        if not connector_selectors.connector_list().filter(slug=CONNECTOR_SLUG).exists():
            connector_services.connector_create(actor=system, definition=connector_definition(demo_api_url()))
        # Checked like any connection: the fake API starts with the stack,
        # after this, so it is served here for the check.
        with _fake_api_served():
            try:
                with transaction.atomic():
                    connector_services.connection_create(
                        actor=system,
                        connector_slug=CONNECTOR_SLUG,
                        customer=customer,
                        credentials={"api_key": fake_api.API_KEY},
                    )
            except FastnError as exc:  # loopback not allowed here, or the address taken by something else
                log.warning("Demo CRM connection saved unchecked: %s", exc.message)
                connector_services.connection_create(
                    actor=system,
                    connector_slug=CONNECTOR_SLUG,
                    customer=customer,
                    credentials={"api_key": fake_api.API_KEY},
                    verify=False,
                )
        workflow = workflow_services.workflow_create(
            actor=system,
            name="List CRM contacts",
            slug=WORKFLOW_SLUG,
            description="Reads the customer's contacts from Demo CRM through its connection.",
            code=WORKFLOW_CODE,
            tier="instant",
            # The seeded runs may reach a worker before the fake API listens.
            retry_policy={"enabled": True, "max_attempts": 3, "initial_interval_ms": 2000},
        )
        version = workflow_services.workflow_publish(actor=system, workflow=workflow, note="Seeded by make run")
        workflow_services.workflow_deploy(
            actor=system, workflow=workflow, version_number=version.number, environment_slug="production"
        )
        trigger = trigger_create(
            actor=system,
            type="webhook",
            name="Contacts webhook",
            workflow=WORKFLOW_SLUG,
            config={},
            customer=CUSTOMER_ID,
        ).trigger
    for query in ("", "ada", "grace")[:SEEDED_RUNS]:
        trigger_fire(trigger=trigger, payload={"q": query})


@contextlib.contextmanager
def _fake_api_served():
    """Serve the fake API at its address for a moment, unless something (a
    running stack's demo_api) already listens there."""
    host, _, port = settings.FASTN_DEMO_API_BIND.rpartition(":")
    try:
        server = fake_api.make_server(host or "127.0.0.1", int(port))
    except OSError:
        yield  # the address is taken: the running stack serves it
        return
    thread = threading.Thread(target=server.serve_forever, name="demo-api-seed", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _follow_fake_api(system: Principal) -> None:
    """Point the Demo CRM connector at the fake API's current address."""
    connector = connector_selectors.connector_list().filter(slug=CONNECTOR_SLUG).first()
    if connector is None:
        return  # deleted by the user: leave it so
    url = demo_api_url()
    if connector.definition.get("base_url") != url:
        connector_services.connector_update(
            actor=system, slug=CONNECTOR_SLUG, patch={"base_url": url}, note="make run: the fake API's address"
        )
