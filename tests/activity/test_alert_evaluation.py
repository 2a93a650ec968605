"""Alert evaluation from the per-minute rollups: metrics, hysteresis, scopes, mute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.core import latency

NOW = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)


@pytest.fixture
def org(org_a, in_org, db):
    in_org(org_a)
    return org_a


def _minute(offset: int) -> datetime:
    return NOW.replace(second=0) - timedelta(minutes=offset)


def _executions(offset: int, *, total: int, failed: int = 0, workflow: str = "sync", environment: str = "production",
                customer: str = "", durations=()):  # fmt: skip
    from apps.workflows.models import ExecutionMinute

    buckets = latency.empty()
    for duration in durations:
        buckets[latency.bucket_of(duration)] += 1
    ExecutionMinute.objects.update_or_create(
        minute=_minute(offset), workflow_slug=workflow, environment=environment, customer_external_id=customer,
        tier="standard",
        defaults={"total": total, "completed": total - failed, "failed": failed, "timeout": 0,
                  "duration_sum_ms": float(sum(durations)), "duration_buckets": buckets},
    )  # fmt: skip


def _rule(**fields):
    from apps.accounts.principals import Principal
    from apps.activity.services import alert_rule_create
    from apps.core.tenancy import current_organization

    data = {"name": "r", "metric": "failure_count", "window_seconds": 300, "operator": ">=", "threshold": 3,
            **fields}  # fmt: skip
    system = Principal.system(organization=current_organization(), label="test")
    return alert_rule_create(actor=system, data=data)[0]


def _evaluate(minutes_later: int = 0):
    from apps.activity.services import alerts_evaluate

    return alerts_evaluate(now=NOW + timedelta(minutes=minutes_later))


def _kinds(rule):
    return list(rule.events.order_by("created_at", "id").values_list("kind", flat=True))


def test_hysteresis_a_value_flapping_around_the_threshold_fires_once(org):
    from apps.activity.models import AlertRule

    rule = _rule(window_seconds=60)  # failure_count >= 3 over one minute; healthy below 2.7, twice in a row
    _executions(0, total=5, failed=3)
    _evaluate()
    _executions(-1, total=5, failed=2)
    _evaluate(1)  # healthy once
    _executions(-2, total=5, failed=3)
    _evaluate(2)  # bad again: the streak restarts, no second "fired"
    _executions(-3, total=5, failed=2)
    _evaluate(3)
    assert AlertRule.objects.get(pk=rule.pk).state == "firing"
    _executions(-4, total=5, failed=1)
    _evaluate(4)
    assert AlertRule.objects.get(pk=rule.pk).state == "ok"
    assert _kinds(rule) == ["fired", "resolved"]


def test_a_value_just_under_the_threshold_but_inside_the_band_does_not_resolve(org):
    from apps.activity.models import AlertRule

    rule = _rule(metric="error_rate", operator=">", threshold=50, window_seconds=60, resolve_after=1)
    _executions(0, total=10, failed=6)
    _evaluate()
    _executions(-1, total=100, failed=48)  # 48 %: under 50 but above the 45 % resolve threshold
    _evaluate(1)
    assert AlertRule.objects.get(pk=rule.pk).state == "firing"
    _executions(-2, total=100, failed=40)
    _evaluate(2)
    assert AlertRule.objects.get(pk=rule.pk).state == "ok"


def test_each_metric_is_measured_over_its_window_and_scope(org):
    from apps.activity.models import AlertRule

    _executions(0, total=4, failed=1, durations=[100, 100, 100, 5000])
    _executions(1, total=4, failed=1, durations=[100, 100, 100, 100])
    _executions(2, total=100, failed=100, workflow="other")  # other workflow: out of scope
    _executions(9, total=100, failed=100)  # out of the 5-minute window
    rules = {
        metric: _rule(metric=metric, threshold=0, operator=">", scope={"workflow": "sync"})
        for metric in ("failure_count", "error_rate", "latency_avg", "latency_p99", "throughput")
    }
    _evaluate()
    values = {metric: AlertRule.objects.get(pk=rule.pk).last_value for metric, rule in rules.items()}
    assert values["failure_count"] == 2
    assert values["error_rate"] == 25.0
    assert values["latency_avg"] == pytest.approx((700 + 5000) / 8)
    assert 5000 <= values["latency_p99"] <= 7500  # inside the 5000 ms sample's bucket
    assert values["throughput"] == pytest.approx(8 / 5)


def test_no_traffic_is_no_data_for_rates_and_latencies(org):
    from apps.activity.models import AlertRule

    rate = _rule(metric="error_rate", operator=">", threshold=1)
    count = _rule(metric="failure_count", operator=">=", threshold=1)
    _evaluate()
    assert AlertRule.objects.get(pk=rate.pk).last_value is None
    assert AlertRule.objects.get(pk=count.pk).last_value == 0


def test_connector_rules_read_the_call_rollups(org):
    from apps.activity.models import AlertRule
    from apps.connectors.models import CallMinute

    buckets = latency.empty()
    buckets[latency.bucket_of(2500)] = 10
    CallMinute.objects.create(minute=_minute(0), connector_slug="hubspot", calls=10, errors=5,
                              duration_sum_ms=25000, duration_buckets=buckets)  # fmt: skip
    CallMinute.objects.create(minute=_minute(0), connector_slug="slack", calls=10, errors=0,
                              duration_sum_ms=100, duration_buckets=latency.empty())  # fmt: skip
    rate = _rule(metric="error_rate", operator=">", threshold=20, scope={"connector": "hubspot"})
    slow = _rule(metric="latency_p95", operator=">", threshold=2000, scope={"connector": "hubspot"})
    fine = _rule(metric="error_rate", operator=">", threshold=20, scope={"connector": "slack"})
    _evaluate()
    assert AlertRule.objects.get(pk=rate.pk).state == "firing"
    assert AlertRule.objects.get(pk=slow.pk).state == "firing"
    assert AlertRule.objects.get(pk=fine.pk).state == "ok"


def test_a_muted_rule_records_its_events_without_sending(org):
    from apps.activity.models import AlertEvent

    rule = _rule(threshold=1, channels=[{"type": "email", "to": "ops@example.com"}],
                 muted_until=(NOW + timedelta(hours=1)).isoformat())  # fmt: skip
    _executions(0, total=2, failed=2)
    outcome = _evaluate()
    assert outcome.fired == 1
    event = AlertEvent.objects.get(rule=rule)
    assert event.muted is True and event.deliveries == []


def test_disabled_rules_are_not_evaluated(org):
    from apps.activity.models import AlertRule

    rule = _rule(threshold=1, enabled=False)
    _executions(0, total=2, failed=2)
    assert _evaluate().rules == 0
    assert AlertRule.objects.get(pk=rule.pk).state == "ok"


def test_the_rollup_counts_finished_executions_by_minute(org):
    from apps.workflows.models import ExecutionMinute
    from apps.workflows.rollups import execution_rollup
    from tests.factories import ExecutionFactory, WorkflowFactory

    workflow = WorkflowFactory(org=org, publish=True)
    ExecutionFactory(org=org, workflow=workflow, status="completed", duration_ms=40.0)
    ExecutionFactory(org=org, workflow=workflow, status="failed", duration_ms=900.0)
    ExecutionFactory(org=org, workflow=workflow, status="running")
    from django.utils import timezone

    execution_rollup(since=timezone.now() - timedelta(minutes=3))
    rows = list(ExecutionMinute.objects.filter(workflow_slug=workflow.slug))
    assert sum(r.total for r in rows) == 2 and sum(r.failed for r in rows) == 1
    assert sum(sum(r.duration_buckets) for r in rows) == 2
    execution_rollup(since=timezone.now() - timedelta(minutes=3))  # idempotent
    assert sum(r.total for r in ExecutionMinute.objects.filter(workflow_slug=workflow.slug)) == 2
