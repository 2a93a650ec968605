"""The intake backlog for /metrics: accepted events not yet running.

Counting unsettled events across every organization's schema at each scrape
would cost a query per organization; instead the relay (every few seconds, in
each organization it visits) counts its own — on the `event_unsettled`
partial index, capped — and leaves the number in one Redis hash. The scrape
sums the fresh entries. An organization with nothing pending holds no entry.
"""

from __future__ import annotations

import logging
import time

from apps.core.redis import get_redis, key
from apps.core.tenancy import current_organization
from apps.triggers.models import Event

logger = logging.getLogger(__name__)

COUNT_CAP = 100_000
FRESH_SECONDS = 300


def _hash() -> str:
    return key("metrics", "intake-backlog")


def intake_backlog_record() -> int:
    """Count the current organization's received and queued events and publish the number."""
    organization = current_organization()
    if organization is None:
        return 0
    pending = Event.objects.filter(status__in=[Event.Status.RECEIVED, Event.Status.QUEUED]).values("pk")
    count = pending[:COUNT_CAP].count()
    try:
        if count:
            get_redis().hset(_hash(), str(organization.pk), f"{count}:{int(time.time())}")
        else:
            get_redis().hdel(_hash(), str(organization.pk))
    except Exception:  # noqa: BLE001 - a metric must not stop the relay
        logger.debug("Could not publish the intake backlog.", exc_info=True)
    return count


def intake_backlog_read():
    """[((), total)] for the gauge: the sum of entries younger than FRESH_SECONDS."""
    now = time.time()
    total = 0
    for value in get_redis().hvals(_hash()):
        count, _, at = value.decode().partition(":")
        if at and now - int(at) <= FRESH_SECONDS:
            total += int(count)
    return [((), total)]
