"""GET /metrics: access rules, the Prometheus text format, multi-process merging."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT


def _families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


@override_settings(FASTN_METRICS_TOKEN="", FASTN_METRICS_ALLOWED_NETWORKS=["127.0.0.0/8"])
def test_loopback_scrape_parses_and_carries_every_family(client, db):
    from apps.core import metrics

    metrics.execution_finished(tier="instant", status="failed", duration_ms=1200)
    metrics.connector_call_observed(connector="hubspot", status=502, ok=False, duration_ms=340)
    metrics.quota_rejected(dimension="api_calls_per_minute")
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    families = _families(response.content.decode())
    assert {"fastn_executions", "fastn_execution_duration_seconds", "fastn_connector_call_duration_seconds",
            "fastn_quota_rejections", "fastn_queue_depth", "fastn_intake_backlog"} <= set(families)  # fmt: skip
    executions = {(s.labels.get("tier"), s.labels.get("status")): s.value for s in families["fastn_executions"].samples
                  if s.name == "fastn_executions_total"}  # fmt: skip
    assert executions[("instant", "failed")] >= 1
    assert {s.labels["tier"] for s in families["fastn_queue_depth"].samples} == {"instant", "standard", "long"}
    buckets = [s for s in families["fastn_connector_call_duration_seconds"].samples if s.name.endswith("_bucket")]
    assert any(s.labels.get("connector") == "hubspot" and s.labels.get("outcome") == "http_error" for s in buckets)


@override_settings(FASTN_METRICS_TOKEN="", FASTN_METRICS_ALLOWED_NETWORKS=["127.0.0.0/8"])
def test_other_networks_are_refused_without_a_token(client, db):
    response = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 403 and "FASTN_METRICS_TOKEN" in response.json()["error"]["message"]


@override_settings(FASTN_METRICS_TOKEN="s3cret-token", FASTN_METRICS_ALLOWED_NETWORKS=["127.0.0.0/8"])
def test_a_token_is_required_when_set_even_from_loopback(client, db):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", REMOTE_ADDR="10.0.0.1").status_code == 401
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token", REMOTE_ADDR="10.0.0.1")
    assert ok.status_code == 200 and "fastn_queue_depth" in ok.content.decode()
    assert client.post("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 405


def test_the_intake_backlog_sums_what_relays_published(org_a, in_org, db):
    from apps.triggers.metrics import intake_backlog_read, intake_backlog_record
    from apps.triggers.models import Event

    in_org(org_a)
    Event.objects.create(type="webhook", status="received")
    Event.objects.create(type="webhook", status="queued")
    Event.objects.create(type="webhook", status="executed")
    assert intake_backlog_record() == 2
    assert intake_backlog_read()[0][1] >= 2


WRITER = """
import os, sys
sys.path.insert(0, {root!r})
os.environ["DJANGO_SETTINGS_MODULE"] = "fastn.settings.test"
from apps.core import metrics
metrics.execution_finished(tier="standard", status="completed", duration_ms=50)
metrics.execution_finished(tier="standard", status="completed", duration_ms=70)
"""


def test_samples_of_several_processes_are_merged(tmp_path, db, settings):
    """Two processes (as gunicorn workers or Celery children would) write; one scrape sums them."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", WRITER.format(root=str(ROOT))], env=env, check=True, cwd=ROOT)
    assert len(list(tmp_path.glob("*.db"))) >= 2
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
    try:
        from apps.core import metrics

        text = metrics.render().decode()
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
    families = _families(text)
    wanted = {"tier": "standard", "status": "completed"}
    total = [
        s.value
        for s in families["fastn_executions"].samples
        if s.name == "fastn_executions_total" and s.labels == wanted
    ]
    assert total == [4.0]
    count = [s.value for s in families["fastn_execution_duration_seconds"].samples
             if s.name.endswith("_count") and s.labels.get("tier") == "standard"]  # fmt: skip
    assert count == [4.0]


@pytest.mark.parametrize("path", ["/metrics/", "/metrics.txt"])
def test_no_other_path_serves_metrics(client, db, path):
    assert client.get(path, REMOTE_ADDR="127.0.0.1").status_code == 404
