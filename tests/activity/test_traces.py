"""Traces: detail with redacted headers and bodies, the filters of the API and of Activity → Traces."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

SECRET = "sk_live_abcdefghijklmnop"


@pytest.fixture
def calls(org_a, in_org, db, httpserver):
    """Four traces of a loopback API: a 200 (with secrets in both directions), a 404, a slow 500 and a 201."""
    from apps.connectors.services import ConnectorRunError, connector_call
    from tests.factories import ConnectionFactory, ConnectorFactory, CustomerFactory

    httpserver.expect_request("/v2/contacts", method="GET").respond_with_json(
        {"items": [{"id": 1}], "echo": SECRET}, headers={"set-cookie": "session=abc", "x-request-id": "r1"}
    )
    httpserver.expect_request("/v2/contacts/7", method="GET").respond_with_json({"error": "missing"}, status=404)

    def slow(request):
        time.sleep(0.3)
        from werkzeug.wrappers import Response

        return Response('{"error": "boom"}', status=500, content_type="application/json")

    httpserver.expect_request("/v2/contacts/8", method="GET").respond_with_handler(slow)
    httpserver.expect_request("/v2/contacts", method="POST").respond_with_json({"id": 9}, status=201)
    connector = ConnectorFactory(org=org_a, slug="crm-trace", base_url=httpserver.url_for("/v2"))
    customer = CustomerFactory(org=org_a, external_id="cust-trace")
    ConnectionFactory(org=org_a, connector=connector, customer=customer, credentials={"api_key": SECRET})
    in_org(org_a)
    results = []
    with override_settings(FASTN_ALLOW_PRIVATE_NETWORK=True):
        for action, params, workflow in (
            ("listContacts", {}, "sync"),
            ("getContact", {"id": 7}, "sync"),
            ("getContact", {"id": 8, "_retry": None}, "other"),
            ("createContact", {"name": "Ada", "token": SECRET}, "sync"),
        ):
            params = {k: v for k, v in params.items() if v is not None}
            try:
                results.append(connector_call(connector_slug="crm-trace", action=action, params=params,
                                              customer_id=customer.id, deadline=time.monotonic() + 20,
                                              workflow_slug=workflow, secrets=[SECRET]))  # fmt: skip
            except ConnectorRunError as exc:
                results.append(exc)
    return {"customer": customer}


def test_a_trace_keeps_the_exchange_with_credentials_redacted(calls, api, org_a):
    client = api(org_a)
    listed = client.get("/api/v1/traces?connector=crm-trace&action=listContacts").json()["results"]
    assert len(listed) == 1 and listed[0]["workflow"] == "sync" and listed[0]["status"] == 200
    assert "request" not in listed[0]
    detail = client.get(f"/api/v1/traces/{listed[0]['id']}").json()
    assert detail["request"]["headers"]["x-api-key"] == "[REDACTED]"
    assert detail["response"]["headers"]["set-cookie"] == "[REDACTED]"
    assert detail["response"]["headers"]["x-request-id"] == "r1"
    assert SECRET not in str(detail) and "[REDACTED]" in detail["response"]["body"]["text"]
    created = client.get("/api/v1/traces?connector=crm-trace&action=createContact").json()["results"][0]
    body = client.get(f"/api/v1/traces/{created['id']}").json()["request"]["body"]["text"]
    assert '"name": "Ada"' in body and SECRET not in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", 4),
        ("ok=true", 2),
        ("ok=false", 2),
        ("status=404", 1),
        ("status=5xx", 1),
        ("status=2xx", 2),
        ("workflow=other", 1),
        ("workflow=sync&ok=false", 1),
        ("min_ms=250", 1),
        ("max_ms=250", 3),
        ("customer=cust-trace", 4),
        ("action=getContact", 2),
        ("since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z", 0),
    ],
)
def test_the_api_filters(calls, api, org_a, query, expected):
    response = api(org_a).get(f"/api/v1/traces?connector=crm-trace&{query}")
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=abc", "status"), ("status=99", "status"), ("min_ms=-1", "min_ms"), ("min_ms=5&max_ms=1", "max_ms"),
     ("since=yesterday", "since"), ("ok=maybe", "ok"), ("execution_id=x", "execution_id"), ("cursor=zzz", "cursor")],
)  # fmt: skip
def test_bad_filters_are_400_naming_the_parameter(api, org_a, db, query, field):
    response = api(org_a).get(f"/api/v1/traces?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]["fields"]


def test_pages_follow_the_cursor(calls, api, org_a):
    client = api(org_a)
    first = client.get("/api/v1/traces?connector=crm-trace&limit=3").json()
    assert len(first["results"]) == 3 and first["has_more"]
    second = client.get(f"/api/v1/traces?connector=crm-trace&limit=3&cursor={first['next_cursor']}").json()
    assert len(second["results"]) == 1 and not second["has_more"]
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


def test_another_organization_sees_no_trace(calls, api, org_a, org_b):
    trace_id = api(org_a).get("/api/v1/traces?connector=crm-trace").json()["results"][0]["id"]
    assert api(org_b).get(f"/api/v1/traces/{trace_id}").status_code == 404
    assert api(org_b).get("/api/v1/traces?connector=crm-trace").json()["results"] == []


def test_the_traces_page_filters_and_shows_a_redacted_detail(calls, org_a, client, in_org):
    from apps.connectors.models import CallTrace

    client.force_login(org_a.owner)
    base = f"/o/{org_a.slug}/activity/traces/"
    page = client.get(base + "?connector=crm-trace&tab=error")
    assert page.status_code == 200
    html = page.content.decode()
    assert "crm-trace.getContact" in html and "crm-trace.listContacts" not in html
    html = client.get(base + "?connector=crm-trace&status=5xx&min_ms=200").content.decode()
    assert html.count("crm-trace.getContact</a>") == 1 and ">500<" in html
    html = client.get(base + "?status=banana").content.decode()
    assert "status: " in html  # the mistake is shown, the page still renders
    in_org(org_a)  # each request ends in the public schema
    trace = CallTrace.objects.get(connector_slug="crm-trace", action="listContacts")
    detail = client.get(f"{base}{trace.id}/").content.decode()
    assert "[REDACTED]" in detail and SECRET not in detail and "x-request-id" in detail
    assert client.get(f"{base}00000000-0000-0000-0000-000000000000/").status_code == 404


def test_pending_calls_are_listed_while_in_flight_and_gone_after(org_a, in_org, db):
    from apps.connectors.services.inflight import inflight_list, inflight_start

    in_org(org_a)
    call = inflight_start(connector_slug="crm", action="list", method="GET", deadline_epoch=time.time() + 30)
    listed = inflight_list(organization_id=org_a.organization.pk)
    assert [(c["connector"], c["action"]) for c in listed][:1] == [("crm", "list")]
    call.end()
    assert all(c["token"] != call.token for c in inflight_list(organization_id=org_a.organization.pk))
    stale = inflight_start(connector_slug="crm", action="old", method="GET", deadline_epoch=time.time() - 120)
    assert all(c["token"] != stale.token for c in inflight_list(organization_id=org_a.organization.pk))


def test_the_call_rollup_counts_calls_errors_and_latency(calls, org_a):
    from django.utils import timezone

    from apps.connectors.models import CallMinute
    from apps.connectors.rollups import call_rollup

    call_rollup(since=timezone.now() - timezone.timedelta(minutes=3))
    rows = CallMinute.objects.filter(connector_slug="crm-trace")
    assert sum(r.calls for r in rows) == 4 and sum(r.errors for r in rows) == 2
    assert {r.customer_external_id for r in rows} == {"cust-trace"}
    assert {r.workflow_slug for r in rows} == {"sync", "other"}
