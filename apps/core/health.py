"""Health of the stack: database, Redis and workers (one per tier queue)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from apps.core.redis import get_redis

logger = logging.getLogger(__name__)

TIER_QUEUES = ("instant", "standard", "long")


@dataclass
class Check:
    ok: bool
    detail: str

    def as_json(self) -> dict:
        return {"status": "ok" if self.ok else "error", "detail": self.detail}


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        logger.warning("Health: database check failed: %s", exc)
        return Check(False, f"database unreachable: {type(exc).__name__}")
    return Check(True, "reachable")


def check_redis(url: str | None = None) -> Check:
    try:
        get_redis(url).ping()
    except Exception as exc:  # noqa: BLE001
        logger.warning("Health: redis check failed: %s", exc)
        return Check(False, f"redis unreachable: {type(exc).__name__}")
    return Check(True, "reachable")


def check_workers(timeout: float | None = None) -> Check:
    """Ask workers which queues they consume; every tier queue needs one."""
    from fastn.celery import app

    timeout = settings.FASTN_HEALTH_WORKER_TIMEOUT if timeout is None else timeout
    try:
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception as exc:  # noqa: BLE001
        logger.warning("Health: worker check failed: %s", exc)
        return Check(False, f"workers unreachable: {type(exc).__name__}")
    served: dict[str, int] = {name: 0 for name in TIER_QUEUES}
    for queues in replies.values():
        for queue in queues or []:
            if queue.get("name") in served:
                served[queue["name"]] += 1
    missing = [name for name, count in served.items() if count == 0]
    detail = ", ".join(f"{name}: {count}" for name, count in served.items())
    if missing:
        return Check(False, f"no worker for queue(s) {', '.join(missing)} ({detail})")
    return Check(True, detail)


def health_report() -> tuple[bool, dict[str, Check]]:
    checks = {"database": check_database(), "redis": check_redis()}
    if checks["redis"].ok:
        checks["workers"] = check_workers()
    else:
        checks["workers"] = Check(False, "not checked: the broker (redis) is down")
    return all(c.ok for c in checks.values()), checks
