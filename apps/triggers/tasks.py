"""Celery tasks of triggers. Thin: beat runs them; each walks every organization.

One organization's failure is logged and does not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import shared_task

from apps.core.models import Organization
from apps.core.tenancy import organization_context

logger = logging.getLogger(__name__)


def _each_organization(label: str, work: Callable[[], dict]) -> None:
    for organization in Organization.objects.filter(is_template=False).only("id", "schema_name", "slug"):
        try:
            with organization_context(organization):
                counts = work()
        except Exception:  # noqa: BLE001 - one organization must not stop the others
            logger.exception("%s of %s failed", label, organization.slug)
            continue
        if any(counts.values()):
            logger.info("%s %s: %s", label, organization.slug, counts)


@shared_task(name="triggers.relay_events", ignore_result=True)
def relay_events() -> None:
    """Organizations with unsettled events (apps.core.ticks): dispatch events whose
    execution never left; settle finished ones."""
    from apps.core.ticks import tick_visit
    from apps.triggers.services.events import events_relay, relay_next_due

    tick_visit(kind="relay", work=events_relay, next_due=relay_next_due, label="Event relay")


@shared_task(name="triggers.tick_schedules", ignore_result=True)
def tick_schedules() -> None:
    """Organizations with a schedule due (apps.core.ticks): fire it (claims make
    concurrent ticks harmless)."""
    from apps.core.ticks import tick_visit
    from apps.triggers.services.scheduler import schedules_next_due, schedules_tick

    tick_visit(kind="schedule", work=schedules_tick, next_due=schedules_next_due, label="Scheduler tick")


@shared_task(name="triggers.poll_app_events", ignore_result=True)
def poll_app_events() -> None:
    """Poll connectors whose events come by polling."""
    from apps.triggers.services.app_events import polls_run

    _each_organization("Polling", polls_run)
