"""The demo organization of `make run`: seeded once, its key printed again at
every start and never rotated (kept encrypted, since keys are stored hashed),
and the fake Demo CRM its connector calls."""

import json
import threading
import urllib.request

import pytest
from django.db import connection

from apps.demo import fake_api, services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fake_api_address(settings):
    """As under make run: the fake API on a loopback port of its own, which
    connector calls may reach."""
    from tests.conftest import free_port

    settings.FASTN_DEMO_API_BIND = f"127.0.0.1:{free_port()}"
    settings.FASTN_ALLOW_PRIVATE_NETWORK = True


def _in_demo(demo):
    connection.set_tenant(demo.organization)


def test_the_demo_is_seeded_once_and_keeps_its_key_across_starts(api):
    first = services.demo_ensure()
    second = services.demo_ensure()
    assert first.api_key == second.api_key and first.api_key.startswith("fastn_live_")

    _in_demo(first)
    from apps.connectors.models import Connection, Connector
    from apps.settings.models import ApiKey, AuditEvent, Customer
    from apps.triggers.models import Event, Trigger
    from apps.workflows.models import Deployment, Workflow

    assert list(Customer.objects.values_list("external_id", flat=True)) == ["acme-corp"]
    assert Connector.objects.get(slug="demo-crm").definition["base_url"] == services.demo_api_url()
    # Checked at seeding against the fake API, served for the moment.
    assert Connection.objects.get(customer__external_id="acme-corp").last_verified_at is not None
    assert Customer.objects.get().tier == ""
    assert Workflow.objects.get(slug="list-crm-contacts").tier == "instant"
    assert Deployment.objects.filter(workflow__slug="list-crm-contacts", environment__slug="production").exists()
    assert Trigger.objects.filter(type="webhook", customer__external_id="acme-corp").count() == 1
    assert Event.objects.count() == services.SEEDED_RUNS
    assert ApiKey.objects.filter(name=services.KEY_NAME, revoked_at__isnull=True).count() == 1
    assert AuditEvent.objects.filter(action="api_key.revoke").count() == 0

    # The printed key works against the API, as the README's calls use it.
    response = api(account=str(first.organization.account_id), key=first.api_key).get("/api/v1/customers")
    assert response.status_code == 200


def test_a_revoked_demo_key_is_replaced_and_the_stored_key_is_encrypted(settings):
    demo = services.demo_ensure()
    from apps.demo.models import DemoOrganization

    record = DemoOrganization.objects.get(organization=demo.organization)
    assert demo.api_key not in record.api_key_ciphertext

    _in_demo(demo)
    from apps.accounts.principals import Principal
    from apps.settings.services import api_key_revoke

    api_key_revoke(actor=Principal.system(organization=demo.organization), key_id=str(record.api_key_id))
    connection.set_schema_to_public()
    again = services.demo_ensure()
    assert again.api_key != demo.api_key

    # Rotation: a new key in front; the stored key still opens and is re-encrypted.
    settings.FASTN_ENCRYPTION_KEYS = ["bmV3LWtleS1mb3ItdGhlLWRlbW8tdGVzdC0wMDAwMDA=", *settings.FASTN_ENCRYPTION_KEYS]
    before = DemoOrganization.objects.get(organization=demo.organization).api_key_ciphertext
    assert services.demo_rotate_encryption() == 1
    after = DemoOrganization.objects.get(organization=demo.organization).api_key_ciphertext
    assert after != before and services.demo_ensure().api_key == again.api_key


def test_keys_an_earlier_make_run_printed_are_revoked_once():
    from apps.core.services import organization_create

    organization = organization_create(
        name=services.NAME, owner_email=services.EMAIL, owner_password=services.PASSWORD
    ).organization
    connection.set_tenant(organization)
    from apps.accounts.principals import Principal
    from apps.settings.models import ApiKey
    from apps.settings.services import api_key_create

    old, _ = api_key_create(actor=Principal.system(organization=organization), name="make run", kind="live")
    connection.set_schema_to_public()
    demo = services.demo_ensure()
    _in_demo(demo)
    assert ApiKey.objects.get(id=old.id).revoked_at is not None
    assert ApiKey.objects.filter(name=services.KEY_NAME, revoked_at__isnull=True).count() == 1


def test_the_connector_follows_the_fake_apis_address(settings):
    services.demo_ensure()
    settings.FASTN_DEMO_API_BIND = "127.0.0.1:45999"
    demo = services.demo_ensure()
    _in_demo(demo)
    from apps.connectors.models import Connector

    assert Connector.objects.get(slug="demo-crm").definition["base_url"] == "http://127.0.0.1:45999"


def test_the_fake_crm_asks_for_its_key_and_answers_json():
    server = fake_api.make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:

        def call(path, *, key=fake_api.API_KEY, body=None):
            request = urllib.request.Request(base + path, data=body, headers={"X-Api-Key": key} if key else {})
            if body is not None:
                request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read())

        assert call("/contacts", key=None)[0] == 401
        assert call("/contacts", key="wrong")[0] == 401
        status, body = call("/contacts?q=ada")
        assert status == 200 and [c["name"] for c in body["contacts"]] == ["Ada Lovelace"]
        assert call("/contacts/2")[1]["name"] == "Grace Hopper"
        assert call("/contacts/99")[0] == 404
        assert call("/contacts", body=b"{not json")[0] == 400
        assert call("/contacts", body=b'{"email": "x@y"}')[0] == 400
        status, created = call("/contacts", body=b'{"name": "Edsger", "email": "e@acme.example"}')
        assert status == 201 and call(f"/contacts/{created['id']}")[1]["name"] == "Edsger"
    finally:
        server.shutdown()
        server.server_close()
