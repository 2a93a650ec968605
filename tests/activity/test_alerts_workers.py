"""Alert evaluation on real Celery workers, against a webhook receiver on loopback.

A failing workflow runs on the standard worker; the minute's beat task
(`activity.minute`) runs on the standard worker too, rolls the failures up
and fires a failure-count rule; the notification task POSTs the signed body
to the receiver. Recovery (the failures leave the window) resolves it; a
muted rule fires but sends nothing.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

pytestmark = pytest.mark.workers

FAILING = "export default async (ctx) => { throw new Error('upstream said no') }"


def _wait(check, seconds: float = 45.0, what: str = "condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_failing_workflow_fires_a_signed_webhook_and_recovery_resolves_it(celery_workers, live_org, api, httpserver):
    from django.db import connection

    from apps.activity.minute import minute_one
    from apps.activity.models import AlertEvent, AlertRule
    from apps.activity.tasks import minute_all
    from apps.connectors.signatures import verify_signature
    from apps.workflows.models import Execution

    org = live_org()
    client = api(org)
    created = client.post("/api/v1/workflows", {"name": "Flaky sync", "code": FAILING, "tier": "standard"})
    assert created.status_code == 201, created.content
    assert client.post("/api/v1/workflows/flaky-sync/publish", {}).status_code == 201
    assert client.post("/api/v1/workflows/flaky-sync/deploy", {"version": 1}).status_code == 200

    httpserver.expect_request("/alerts", method="POST").respond_with_data("ok")
    rule = client.post(
        "/api/v1/alerts",
        {
            "name": "Flaky sync fails",
            "metric": "failure_count",
            "scope": {"workflow": "flaky-sync", "environment": "production"},
            "window_seconds": 300,
            "operator": ">=",
            "threshold": 2,
            "channels": [{"type": "webhook", "url": httpserver.url_for("/alerts")}],
        },
    )
    assert rule.status_code == 201, rule.content
    body = rule.json()
    assert body["state"] == "ok"
    secret = body["signing_secret"]
    muted = client.post(
        "/api/v1/alerts",
        {
            "name": "Muted twin",
            "metric": "failure_count",
            "scope": {"workflow": "flaky-sync"},
            "window_seconds": 300,
            "operator": ">=",
            "threshold": 1,
            "channels": [{"type": "webhook", "url": httpserver.url_for("/alerts")}],
        },
    ).json()
    assert client.post(f"/api/v1/alerts/{muted['id']}/mute", {"seconds": 3600}).status_code == 200

    for _ in range(2):
        assert client.post("/api/v1/workflows/flaky-sync/run", {"n": 1}).status_code == 202
    connection.set_tenant(org.organization)
    try:
        _wait(lambda: Execution.objects.filter(status="failed").count() == 2, what="two failed executions")
    finally:
        connection.set_schema_to_public()

    minute_all.apply_async(queue="standard")  # what beat sends every minute
    assert _wait(lambda: len(httpserver.log) >= 1, what="the webhook") is True
    time.sleep(1.0)  # the muted rule's event (if it were sent) would arrive by now
    assert len(httpserver.log) == 1, "the muted rule sent a notification"
    request, _ = httpserver.log[0]
    raw = request.get_data()
    verify_signature({"scheme": "stripe", "header": "x-fastn-signature"}, secret, dict(request.headers), raw)
    payload = json.loads(raw)
    assert set(payload) == {"alert", "state", "value", "threshold", "scope", "at"}
    assert payload["state"] == "firing" and payload["value"] == 2.0 and payload["threshold"] == 2.0
    assert payload["alert"]["id"] == body["id"]
    assert payload["scope"] == {"workflow": "flaky-sync", "environment": "production"}

    assert client.get(f"/api/v1/alerts/{body['id']}").json()["state"] == "firing"
    events = client.get(f"/api/v1/alerts/{body['id']}/events").json()["results"]
    assert [(e["kind"], e["value"]) for e in events] == [("fired", 2.0)]
    muted_events = client.get(f"/api/v1/alerts/{muted['id']}/events").json()["results"]
    assert [(e["kind"], e["muted"], e["deliveries"]) for e in muted_events] == [("fired", True, [])]

    # Ten minutes on, the failures have left the window: two healthy evaluations resolve it.
    connection.set_tenant(org.organization)
    try:
        later = Execution.objects.order_by("-finished_at").first().finished_at + timedelta(minutes=10)
        minute_one(now=later)
        assert AlertRule.objects.get(pk=body["id"]).state == "firing"  # hysteresis: one healthy minute is not enough
        minute_one(now=later + timedelta(minutes=1))
        assert AlertRule.objects.get(pk=body["id"]).state == "ok"
        assert list(
            AlertEvent.objects.filter(rule_id=body["id"]).order_by("created_at").values_list("kind", "value")
        ) == [
            ("fired", 2.0),
            ("resolved", 0.0),
        ]
    finally:
        connection.set_schema_to_public()
    _wait(lambda: len(httpserver.log) >= 2, what="the resolved webhook")
    resolved = json.loads(httpserver.log[1][0].get_data())
    assert resolved["state"] == "resolved" and resolved["value"] == 0.0
    assert len(httpserver.log) == 2
