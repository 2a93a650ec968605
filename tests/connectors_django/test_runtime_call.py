"""`connector_call_for_run`, the function behind `fastn.connector` in
workflows: connection resolution, errors as the runtime sees them, traces
with the connector version, redaction, and concurrency across threads."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection as db
from django.db import transaction

from apps.connectors.models import CallTrace, Connection
from apps.connectors.services import ConnectorRunError, connector_call_for_run
from apps.settings.models import Customer
from tests.connectors_django.fake_provider import API_KEY, CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.usefixtures("private_network")


def run(slug="keyapp", action="whoami", params=None, customer_id=None, **kwargs):
    kwargs.setdefault("deadline", time.monotonic() + 10)
    kwargs.setdefault("execution_id", None)
    return connector_call_for_run(
        connector_slug=slug, action=action, params={} if params is None else params, customer_id=customer_id, **kwargs
    )


@pytest.fixture
def setup(api, org_a, provider, customer, in_org):
    """keyapp installed, cust-1 connected to it, cust-2 not; back in org A's schema."""
    api(org_a).post("/api/v1/connectors", provider.key_definition())
    customer(org_a, "cust-1")
    customer(org_a, "cust-2")
    response = api(org_a, customer="cust-1").post(
        "/api/v1/connections", {"connector": "keyapp", "credentials": {"api_key": API_KEY}}
    )
    assert response.status_code == 201, response.content
    in_org(org_a)
    return {c.external_id: c.pk for c in Customer.objects.all()}


@pytest.mark.django_db
def test_a_call_returns_the_parsed_body_and_writes_a_trace(setup):
    execution_id = uuid.uuid4()
    result = run(action="getThing", params={"id": 7}, customer_id=setup["cust-1"], execution_id=execution_id)
    assert result.value == {"id": 7, "query": {}}
    assert result.status == 200 and result.connector_version == 1
    assert API_KEY in result.secret_values
    trace = CallTrace.objects.get(pk=result.trace_id)
    assert trace.execution_id == execution_id and trace.origin == "run" and trace.ok
    assert (trace.connector_slug, trace.action, trace.method, trace.status) == ("keyapp", "getThing", "GET", 200)
    assert trace.url.endswith("/keyapi/things/7") and trace.customer_id == setup["cust-1"]
    assert trace.duration_ms >= 0 and trace.response_bytes > 0 and trace.attempts == 1
    assert trace.connector_version == 1


@pytest.mark.django_db
def test_no_connection_is_a_clear_error(setup):
    execution_id = uuid.uuid4()
    with pytest.raises(ConnectorRunError) as failure:
        run(customer_id=setup["cust-2"], execution_id=execution_id)
    error = failure.value.as_error_dict()
    assert error == {
        "message": "Customer cust-2 has no connection to keyapp.",
        "name": "ConnectorError",
        "code": "no_connection",
    }
    trace = CallTrace.objects.get(execution_id=execution_id)
    assert trace.error_code == "no_connection" and not trace.ok and trace.connection_id is None
    with pytest.raises(ConnectorRunError) as organization:
        run(customer_id=None)
    assert organization.value.message == "This organization has no connection to keyapp."


@pytest.mark.django_db
@pytest.mark.parametrize(
    "slug, action, params, code",
    [
        ("nothing", "whoami", {}, "unknown_connector"),
        ("keyapp", "nothing", {}, "unknown_action"),
        ("keyapp", "getThing", {"id": "seven"}, "invalid_params"),
        ("keyapp", "getThing", {}, "invalid_params"),
        ("keyapp", "whoami", ["not", "an", "object"], "invalid_params"),
    ],
)
def test_refused_calls_are_traced_with_their_code(setup, slug, action, params, code):
    with pytest.raises(ConnectorRunError) as failure:
        run(slug=slug, action=action, params=params, customer_id=setup["cust-1"])
    assert failure.value.code == code
    assert failure.value.as_error_dict()["name"] == "ConnectorError"
    assert CallTrace.objects.get(pk=failure.value.trace_id).error_code == code


@pytest.mark.django_db
def test_http_errors_carry_status_and_the_redacted_body(setup):
    with pytest.raises(ConnectorRunError) as failure:
        run(action="fail", customer_id=setup["cust-1"])
    error = failure.value.as_error_dict()
    assert error["code"] == "http_error" and error["status"] == 400
    assert error["body"] == {"message": "Bad request for key [REDACTED]", "code": "bad"}
    assert API_KEY not in error["message"] and "Bad request for key [REDACTED]" in error["message"]
    trace = CallTrace.objects.get(pk=failure.value.trace_id)
    assert trace.status == 400 and API_KEY not in trace.error


@pytest.mark.django_db
def test_blocked_destination_is_a_transport_error(setup, settings):
    settings.FASTN_ALLOW_PRIVATE_NETWORK = False
    with pytest.raises(ConnectorRunError) as failure:
        run(customer_id=setup["cust-1"])
    assert failure.value.code == "transport_error"
    assert CallTrace.objects.get(pk=failure.value.trace_id).error_code == "transport_error"


@pytest.mark.django_db
def test_an_exhausted_deadline_stops_the_call(setup):
    with pytest.raises(ConnectorRunError) as failure:
        run(customer_id=setup["cust-1"], deadline=time.monotonic() - 1)
    assert failure.value.code == "transport_error" and failure.value.retryable


@pytest.mark.django_db
def test_run_secrets_are_redacted_from_traces(setup):
    secret = "run-secret-value-42"
    result = run(
        action="getThing", params={"id": 1, "token_hint": secret}, customer_id=setup["cust-1"], secrets=[secret]
    )
    trace = CallTrace.objects.get(pk=result.trace_id)
    assert secret not in trace.url and "[REDACTED]" in trace.url


@pytest.mark.django_db
def test_traces_record_the_version_called(setup, api, org_a, in_org):
    db.set_schema_to_public()
    api(org_a).patch("/api/v1/connectors/keyapp", {"description": "Changed"})
    in_org(org_a)
    result = run(customer_id=setup["cust-1"])
    assert result.connector_version == 2
    assert CallTrace.objects.get(pk=result.trace_id).connector_version == 2


@pytest.mark.django_db
def test_disabled_connectors_refuse_calls(setup, api, org_a, in_org):
    db.set_schema_to_public()
    api(org_a).patch("/api/v1/connectors/keyapp", {"enabled": False})
    in_org(org_a)
    with pytest.raises(ConnectorRunError) as failure:
        run(customer_id=setup["cust-1"])
    assert failure.value.code == "connector_disabled"


@pytest.mark.django_db
def test_pagination_returns_every_item(api, org_a, provider, customer, in_org, oauth_app):
    api(org_a).post("/api/v1/connectors", provider.definition())
    tokens = provider.issue_tokens()
    api(org_a).post(
        "/api/v1/connections?scope=organization",
        {"connector": "fakeapp", "credentials": {"access_token": tokens["access_token"]}},
    )
    in_org(org_a)
    result = run(slug="fakeapp", action="listItems", params={"_paginate": True})
    assert result.value == [{"id": 1}, {"id": 2}, {"id": 3}] and result.pages == 2 and not result.truncated
    first_page = run(slug="fakeapp", action="listItems")
    assert first_page.value == [{"id": 1}, {"id": 2}]


@pytest.mark.django_db
def test_connectors_without_auth_need_no_connection(api, org_a, provider, in_org):
    definition = provider.key_definition("open")
    definition["auth"] = {"type": "none"}
    definition["base_url"] = provider.url
    definition["actions"] = {"notFound": {"method": "GET", "path": "/nowhere"}}
    api(org_a).post("/api/v1/connectors", definition)
    in_org(org_a)
    with pytest.raises(ConnectorRunError) as failure:
        run(slug="open", action="notFound", customer_id=None)
    assert failure.value.code == "http_error" and failure.value.status == 404


@pytest.mark.django_db
def test_needs_reauth_refuses_and_error_recovers(setup):
    connection = Connection.objects.get()
    Connection.objects.filter(pk=connection.pk).update(status="needs_reauth", last_error="key revoked")
    with pytest.raises(ConnectorRunError) as failure:
        run(customer_id=setup["cust-1"])
    assert failure.value.code == "needs_reauth" and "key revoked" in failure.value.message
    Connection.objects.filter(pk=connection.pk).update(status="error", last_error="temporary")
    run(customer_id=setup["cust-1"])
    connection.refresh_from_db()
    assert connection.status == "connected" and connection.last_error == ""


@pytest.mark.django_db
def test_illegal_status_transitions_are_refused(setup):
    from apps.connectors.exceptions import IllegalTransition
    from apps.connectors.services.status import connection_set_status

    connection = Connection.objects.get()
    connection_set_status(connection=connection, status="revoked")
    for target in ("connected", "needs_reauth", "error"):
        with pytest.raises(IllegalTransition):
            connection_set_status(connection=connection, status=target)
    other = Connection(status="needs_reauth")
    with pytest.raises(IllegalTransition):
        connection_set_status(connection=other, status="error")


# --- Concurrency: real threads, committed data -----------------------------------------


def _in_threads(org, count, work):
    barrier = threading.Barrier(count)

    def worker(index):
        db.set_tenant(org.organization)
        try:
            barrier.wait(timeout=10)
            return work(index)
        finally:
            db.close()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(worker, range(count)))


def _expire_token(org, connection_id):
    """Make the stored access token look expired (tokens sent expired are refreshed on arrival)."""
    from apps.connectors.credentials import credentials_decrypt, credentials_encrypt

    db.set_tenant(org.organization)
    connection = Connection.objects.get(pk=connection_id)
    credentials = {**credentials_decrypt(connection.credentials_ciphertext), "expires_at": int(time.time()) - 10}
    Connection.objects.filter(pk=connection_id).update(credentials_ciphertext=credentials_encrypt(credentials))
    db.set_schema_to_public()


def _oauth_connection(api, org, provider, **credentials_extra):
    client = api(org)
    assert client.post("/api/v1/connectors", provider.definition()).status_code == 201
    body = {"connector": "fakeapp", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert client.post("/api/v1/oauth-apps", body).status_code == 201
    assert client.post("/api/v1/customers", {"external_id": "c1", "name": "C1"}).status_code == 201
    tokens = provider.issue_tokens()
    credentials = {
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        **credentials_extra,
    }
    response = api(org, customer="c1").post(
        "/api/v1/connections", {"connector": "fakeapp", "credentials": credentials, "verify": False}
    )
    assert response.status_code == 201, response.content
    db.set_tenant(org.organization)
    customer_id = Customer.objects.get(external_id="c1").pk
    db.set_schema_to_public()
    return customer_id, response.json()["id"]


def test_concurrent_calls_with_an_expired_token_refresh_exactly_once(live_org, api, provider):
    org = live_org()
    customer_id, connection_id = _oauth_connection(api, org, provider)
    _expire_token(org, connection_id)
    provider.refresh_delay = 0.3  # a slow token endpoint widens any race

    def call(_index):
        return run(slug="fakeapp", action="getMe", customer_id=customer_id, execution_id=uuid.uuid4())

    results = _in_threads(org, 8, call)
    assert provider.counts["token:refresh_token"] == 1
    assert all(r.value["id"] == "user-1" for r in results)
    used = {h["Authorization"] for h in provider.seen_headers}
    assert len(used) == 1  # every call used the one refreshed token
    db.set_tenant(org.organization)
    assert Connection.objects.get(pk=connection_id).credentials_version == 2
    assert CallTrace.objects.filter(ok=True).count() == 8


def test_concurrent_401s_refresh_exactly_once(live_org, api, provider):
    org = live_org()
    customer_id, connection_id = _oauth_connection(api, org, provider)
    provider.invalidate_access_tokens()  # not expired on our side: the provider says 401
    provider.refresh_delay = 0.2

    def call(_index):
        return run(slug="fakeapp", action="getMe", customer_id=customer_id)

    results = _in_threads(org, 6, call)
    assert provider.counts["token:refresh_token"] == 1
    assert all(r.value["id"] == "user-1" for r in results)
    db.set_tenant(org.organization)
    assert CallTrace.objects.filter(status=401).count() == 6
    assert CallTrace.objects.filter(status=200).count() == 6


def test_concurrent_calls_of_one_run_each_write_a_trace(live_org, api, provider):
    org = live_org()
    customer_id, _ = _oauth_connection(api, org, provider)
    execution_id = uuid.uuid4()

    def call(index):
        return run(
            slug="fakeapp", action="echo", params={"n": index}, customer_id=customer_id, execution_id=execution_id
        )

    results = _in_threads(org, 5, call)
    assert sorted(r.value["received"]["n"] for r in results) == [0, 1, 2, 3, 4]
    db.set_tenant(org.organization)
    assert CallTrace.objects.filter(execution_id=execution_id, ok=True).count() == 5


def test_waiting_for_a_refresh_is_bounded_by_the_deadline(live_org, api, provider):
    org = live_org()
    customer_id, connection_id = _oauth_connection(api, org, provider)
    _expire_token(org, connection_id)
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock():
        db.set_tenant(org.organization)
        try:
            with transaction.atomic():
                Connection.objects.select_for_update().get(pk=connection_id)
                holding.set()
                release.wait(10)
        finally:
            db.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert holding.wait(10)
        db.set_tenant(org.organization)
        started = time.monotonic()
        with pytest.raises(ConnectorRunError) as failure:
            run(slug="fakeapp", action="getMe", customer_id=customer_id, deadline=time.monotonic() + 0.5)
        assert failure.value.code == "token_refresh_timeout" and failure.value.retryable
        assert time.monotonic() - started < 3
    finally:
        release.set()
        holder.join(10)
        db.set_schema_to_public()
    assert provider.counts["token:refresh_token"] == 0


@pytest.mark.django_db
def test_credentials_in_query_strings_stay_out_of_logs(api, org_a, provider, customer, in_org, caplog):
    import logging

    definition = provider.key_definition("querykey")
    definition["auth"] = {"type": "api_key", "in": "query", "name": "api_key"}
    definition["base_url"] = provider.url + "/keyapi"
    api(org_a).post("/api/v1/connectors", definition)
    customer(org_a, "cust-q")
    secret = "query-key-value-123456"
    api(org_a, customer="cust-q").post(
        "/api/v1/connections", {"connector": "querykey", "credentials": {"api_key": secret}, "verify": False}
    )
    in_org(org_a)
    customer_id = Customer.objects.get(external_id="cust-q").pk
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConnectorRunError) as failure:
        run(slug="querykey", action="whoami", customer_id=customer_id)
    assert failure.value.status == 401  # the fake provider wants the header: the call went out, with the key
    trace = CallTrace.objects.get(pk=failure.value.trace_id)
    assert "api_key=%5BREDACTED%5D" in trace.url or "api_key=[REDACTED]" in trace.url
    assert secret not in caplog.text and secret not in trace.url


@pytest.mark.django_db
def test_undecryptable_credentials_are_a_clear_error(setup, settings):
    from cryptography.fernet import Fernet

    settings.FASTN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key is gone
    with pytest.raises(ConnectorRunError) as failure:
        run(customer_id=setup["cust-1"])
    assert failure.value.code == "connection_misconfigured"
    assert "decrypted" in failure.value.message


@pytest.mark.django_db
def test_rotating_encryption_keys_re_encrypts_credentials_and_app_secrets(setup, api, org_a, in_org, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from apps.connectors.models import OAuthApp

    db.set_schema_to_public()
    api(org_a).post("/api/v1/oauth-apps", {"connector": "hubspot", "client_id": "hub", "client_secret": "hub-secret-1"})
    in_org(org_a)
    before = Connection.objects.get().credentials_ciphertext
    app_before = OAuthApp.objects.get().client_secret_ciphertext
    new_key = Fernet.generate_key().decode()
    settings.FASTN_ENCRYPTION_KEYS = [new_key, *settings.FASTN_ENCRYPTION_KEYS]
    db.set_schema_to_public()
    call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    in_org(org_a)
    assert Connection.objects.get().credentials_ciphertext != before
    assert OAuthApp.objects.get().client_secret_ciphertext != app_before
    settings.FASTN_ENCRYPTION_KEYS = [new_key]  # the old key dropped: everything still opens
    assert run(customer_id=setup["cust-1"]).value == {"account": "acme"}
    from apps.connectors.services.oauth_apps import oauth_client_for

    assert oauth_client_for(connector_slug="hubspot").client_secret == "hub-secret-1"


@pytest.mark.django_db
def test_old_traces_are_purged(setup, org_a, in_org):
    from datetime import timedelta

    from django.utils import timezone

    from apps.connectors.tasks import purge_call_traces

    run(customer_id=setup["cust-1"])
    old = run(customer_id=setup["cust-1"])
    CallTrace.objects.filter(pk=old.trace_id).update(created_at=timezone.now() - timedelta(days=40))
    kept = CallTrace.objects.count() - 1
    db.set_schema_to_public()
    assert purge_call_traces() >= 1
    in_org(org_a)
    assert CallTrace.objects.count() == kept and not CallTrace.objects.filter(pk=old.trace_id).exists()
