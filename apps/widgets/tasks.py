"""Celery tasks of widgets. Thin: beat runs them."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="widgets.purge_sessions", ignore_result=True)
def purge_sessions() -> None:
    """Delete customer sessions that ended longer ago than the retention (public schema)."""
    from apps.widgets.services.sessions import customer_sessions_purge

    deleted = customer_sessions_purge()
    if deleted:
        logger.info("Purged %d ended customer sessions", deleted)
