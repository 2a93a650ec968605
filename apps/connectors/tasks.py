"""Periodic upkeep of the connector layer (Celery beat, see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(name="connectors.purge_call_traces", ignore_result=True)
def purge_call_traces() -> int:
    """Drop call traces older than FASTN_CALL_TRACE_RETENTION_DAYS, and OAuth
    states older than a day, in every organization."""
    from apps.connectors.models import OAuthState
    from apps.connectors.services.traces import call_traces_purge
    from apps.core.models import Organization
    from apps.core.tenancy import organization_context

    now = timezone.now()
    cutoff = now - timedelta(days=settings.FASTN_CALL_TRACE_RETENTION_DAYS)
    total = 0
    for organization in Organization.objects.filter(is_template=False).order_by("pk"):
        with organization_context(organization):
            total += call_traces_purge(older_than=cutoff)
            OAuthState.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    logger.info("Purged %d connector call traces older than %s", total, cutoff.isoformat())
    return total
