"""Activity's Celery tasks: the minute's rollups and alert evaluation (beat), notifications."""

from __future__ import annotations

from celery import shared_task

from apps.activity import minute


@shared_task(name="activity.minute", ignore_result=True)
def minute_all() -> dict[str, int]:
    """Every minute (CELERY_BEAT_SCHEDULE): roll up executions and calls, then evaluate alert rules."""
    return minute.minute_all()


@shared_task(
    name="activity.notify_alert_event",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=10,
    max_retries=3,
)
def notify_alert_event(event_id: str) -> int:
    """Send one fired/resolved event to its rule's channels (in the organization's schema)."""
    from apps.activity.services import alert_event_notify

    return len(alert_event_notify(event_id=event_id))
