"""The beat's rollup task on a real Celery worker (committed data: no test transaction)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.workers


def test_the_beat_task_runs_on_a_real_worker(celery_workers, live_org, api):
    import time

    from django.db import connection

    from apps.billing.tasks import usage_rollup_all
    from apps.metering.models import UsageRollup

    org = live_org()
    for _ in range(2):
        assert api(org).get("/api/v1/customers").status_code == 200
    usage_rollup_all.apply_async(queue="standard")
    deadline = time.monotonic() + 30
    connection.set_tenant(org.organization)
    try:
        while time.monotonic() < deadline:
            row = UsageRollup.objects.filter(meter="api_calls", period="day", customer_external_id="").first()
            if row is not None:
                break
            time.sleep(0.2)
    finally:
        connection.set_schema_to_public()
    assert row is not None and row.used == 2
