"""Templates on real Celery workers: each customer's webhook URL and schedule
run the workflow with `customer` set, `ctx.config` = their settings, and
their own connection's credentials reaching the third-party API."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import urlsplit

import pytest
import time_machine

from tests.widgets.conftest import FakeApi

pytestmark = [pytest.mark.workers]

CODE = """export default async function(ctx) {
  const echoed = await fastn.connector['keyapp'].echo({channel: ctx.config.channel, input: ctx.input});
  return {config: ctx.config, customer: ctx.customer && ctx.customer.id, key: echoed.key, records_processed: 2};
}
"""


@pytest.fixture
def fake():
    server = FakeApi()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _wait_for(predicate, timeout: float = 40.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _finished(client, execution_id: str) -> dict:
    def done():
        body = client.get(f"/api/v1/executions/{execution_id}").json()
        return body if body["status"] in ("completed", "failed", "timeout") else None

    return _wait_for(done, what=f"execution {execution_id}")


def _hook(url: str, body: dict):
    from django.test import Client

    return Client().post(urlsplit(url).path, data=body, content_type="application/json")


def _setup(org, embedding, fake, trigger: dict):
    side = embedding(org)
    side.connector(fake.definition("keyapp"))
    workflow = side.workflow(CODE)
    side.template(
        slug="relay",
        workflow=workflow,
        title="Relay",
        connectors=["keyapp"],
        config_schema={"type": "object", "properties": {"channel": {"type": "string"}}, "required": ["channel"]},
        trigger=trigger,
    )
    side.widget(integrations=[{"connector": "keyapp"}], templates=["relay"])
    return side


def _customer(side, name: str, *, enable: bool = True):
    customer = side.customer(name)
    client = side.embed(customer)
    made = client.post("/api/v1/embed/connections", {"connector": "keyapp", "credentials": {"api_key": f"key-{name}"}})
    assert made.status_code == 201, made.content
    activation = None
    if enable:
        response = client.post("/api/v1/embed/templates/relay/enable", {"config": {"channel": f"#{name}"}})
        assert response.status_code == 201, response.content
        activation = response.json()
    return customer, client, activation


def test_a_customers_webhook_runs_with_their_settings_and_their_own_key(
    celery_workers, live_org, embedding, fake, settings
):
    settings.FASTN_ALLOW_PRIVATE_NETWORK = True
    org = live_org()
    side = _setup(org, embedding, fake, {"type": "webhook", "config": {}})
    runs = {}
    for name in ("ann", "bob"):
        customer, client, activation = _customer(side, name)
        accepted = _hook(activation["url"], {"order": name})
        assert accepted.status_code == 202, accepted.content
        runs[name] = (client, activation, accepted.json()["execution_id"])
    for name, (_, _, execution_id) in runs.items():
        detail = _finished(side.client, execution_id)
        assert detail["status"] == "completed", detail
        assert detail["customer"] == name and detail["triggered_by"] == "webhook"
        assert detail["config"] == {"channel": f"#{name}"}
        assert detail["output"] == {
            "config": {"channel": f"#{name}"},
            "customer": name,
            # The credential came back in the API's answer: it never reaches the output.
            "key": "[REDACTED]",
            "records_processed": 2,
        }
    echoed = [(r["api_key"], r["body"]["channel"]) for r in fake.requests if r["path"].endswith("/echo")]
    assert sorted(echoed) == [("key-ann", "#ann"), ("key-bob", "#bob")]

    # Disabled: the URL refuses, nothing runs; enabled again: the same URL runs again.
    ann_client, ann_activation, _ = runs["ann"]
    assert ann_client.delete("/api/v1/embed/templates/relay").status_code == 204
    refused = _hook(ann_activation["url"], {"order": "late"})
    assert refused.status_code == 409, refused.content
    listed = side.client.get("/api/v1/executions", {"customer": "ann"}).json()["results"]
    assert len(listed) == 1
    assert ann_client.post("/api/v1/embed/templates/relay/enable", {}).status_code == 201
    again = _hook(ann_activation["url"], {"order": "again"})
    assert again.status_code == 202
    assert _finished(side.client, again.json()["execution_id"])["output"]["config"] == {"channel": "#ann"}


def test_a_scheduled_template_fires_for_each_enabled_customer_and_stops_when_disabled(
    celery_workers, live_org, embedding, fake, settings
):
    from apps.core.tenancy import organization_context
    from apps.triggers.services.scheduler import schedules_tick

    settings.FASTN_ALLOW_PRIVATE_NETWORK = True
    org = live_org()
    side = _setup(org, embedding, fake, {"type": "scheduler", "config": {"cron": "*/5 * * * *", "timezone": "UTC"}})
    clients = {}
    for name in ("cat", "dan"):
        _, clients[name], _ = _customer(side, name)
    _customer(side, "eve", enable=False)  # connected, never enabled

    def tick_at(moment: dt.datetime) -> int:
        with time_machine.travel(moment, tick=False), organization_context(org.organization):
            return schedules_tick()["fired"]

    def runs_of(name: str) -> list[dict]:
        return side.client.get("/api/v1/executions", {"customer": name}).json()["results"]

    now = dt.datetime.now(dt.UTC)
    slot = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=5 - now.minute % 5)
    assert tick_at(slot + dt.timedelta(seconds=1)) == 2
    for name in ("cat", "dan"):
        execution_id = _wait_for(lambda n=name: runs_of(n), what=f"{name}'s scheduled run")[0]["id"]
        detail = _finished(side.client, execution_id)
        assert detail["status"] == "completed" and detail["triggered_by"] == "scheduler"
        assert detail["output"]["config"] == {"channel": f"#{name}"} and detail["output"]["customer"] == name
    assert runs_of("eve") == []

    assert clients["dan"].delete("/api/v1/embed/templates/relay").status_code == 204
    assert tick_at(slot + dt.timedelta(minutes=5, seconds=1)) == 1
    _wait_for(lambda: len(runs_of("cat")) == 2, what="cat's second run")
    assert len(runs_of("dan")) == 1 and runs_of("eve") == []
    echoed = [(r["api_key"], r["body"]["channel"]) for r in fake.requests if r["path"].endswith("/echo")]
    assert sorted(echoed) == [("key-cat", "#cat"), ("key-cat", "#cat"), ("key-dan", "#dan")]
