"""Periodic clean-up: expired state, old idempotency records, execution retention."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.workflows.models import Execution, IdempotencyRecord, StateEntry

BATCH = 5_000


def state_delete_expired(*, now=None) -> int:
    now = now or timezone.now()
    deleted, _ = StateEntry.objects.filter(expires_at__lte=now).delete()
    return deleted


def idempotency_delete_old(*, now=None) -> int:
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - timedelta(hours=24)).delete()
    return deleted


def executions_delete_old(*, now=None) -> int:
    """Delete finished executions past the retention period, in batches."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.FASTN_EXECUTION_RETENTION_DAYS)
    total = 0
    while True:
        ids = list(
            Execution.objects.filter(created_at__lt=cutoff)
            .exclude(status__in=[Execution.Status.QUEUED, Execution.Status.RUNNING])
            .values_list("id", flat=True)[:BATCH]
        )
        if not ids:
            return total
        deleted, _ = Execution.objects.filter(id__in=ids).delete()
        total += deleted
