"""Billing's Celery tasks: the minute's rollup (beat) and quota notice emails."""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from apps.billing import services


@shared_task(name="billing.usage_rollup_all", ignore_result=True)
def usage_rollup_all() -> dict[str, int]:
    """Every minute (CELERY_BEAT_SCHEDULE): counters → PostgreSQL, for every organization."""
    return services.usage_rollup_all()


@shared_task(
    name="billing.send_quota_notice",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=5,
)
def send_quota_notice(notice_id: str) -> bool:
    """Email one Notify notice; runs in the schema of the organization that queued it."""
    return services.quota_notice_send(organization=connection.tenant, notice_id=notice_id)
