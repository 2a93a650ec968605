"""The minute's work for every organization: rollups, then alert rules.

For each organization, in its schema: the owning apps recompute their
per-minute rollups for the last FASTN_ROLLUP_LOOKBACK_MINUTES minutes
(`apps.workflows.rollups`, `apps.connectors.rollups`: one aggregate each
over an indexed time range), then the alert rules are evaluated on them. An
organization with no traffic costs two index probes and one empty query for
rules. One organization's failure is logged and does not stop the others.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.activity.services import alerts_evaluate
from apps.connectors import rollups as call_rollups
from apps.core.models import Organization
from apps.core.tenancy import organization_context
from apps.workflows import rollups as execution_rollups

logger = logging.getLogger(__name__)


def minute_one(*, now=None) -> dict[str, int]:
    """The current organization's minute: rollups, then its alert rules."""
    now = now or timezone.now()
    since = now - timedelta(minutes=settings.FASTN_ROLLUP_LOOKBACK_MINUTES)
    execution_rollups.execution_rollup(since=since, until=now)
    call_rollups.call_rollup(since=since, until=now)
    if now.minute == 0:  # once an hour is enough for retention
        execution_rollups.execution_rollup_prune(now=now)
        call_rollups.call_rollup_prune(now=now)
    evaluation = alerts_evaluate(now=now)
    return {"rules": evaluation.rules, "fired": evaluation.fired, "resolved": evaluation.resolved}


def minute_all(*, now=None) -> dict[str, int]:
    now = now or timezone.now()
    started = time.monotonic()
    stats = {"organizations": 0, "rules": 0, "fired": 0, "resolved": 0, "failed": 0}
    for organization in Organization.objects.filter(is_template=False).only("id", "schema_name", "slug"):
        try:
            with organization_context(organization):
                result = minute_one(now=now)
        except Exception:  # noqa: BLE001 - one organization must not stop the others
            logger.exception("The minute's rollups or alerts failed for %s", organization.slug)
            stats["failed"] += 1
            continue
        stats["organizations"] += 1
        for name in ("rules", "fired", "resolved"):
            stats[name] += result[name]
    stats["ms"] = int((time.monotonic() - started) * 1000)
    return stats
