"""Connector calls in flight: the Pending tab of Activity → Traces.

A trace row is written when a call ends (one INSERT per call, never an
UPDATE), so a call still waiting for its provider — a slow API, a retry
after 429 — is kept in Redis while it lasts: one pipelined round trip when
it starts (HSET + PEXPIRE) and one when it ends (HDEL), per organization in
one hash. Entries carry their deadline; a worker killed mid-call leaves one
behind, which readers drop once its deadline has passed.

Redis being away never affects the call: registration is skipped (logged
once a minute) and the Pending tab shows what it can.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from apps.core.redis import get_redis, key
from apps.core.tenancy import current_organization

logger = logging.getLogger(__name__)

# The hash lives this long after the last call started (calls end long before).
HASH_TTL_MS = 6 * 3600 * 1000
# An entry this long past its deadline belongs to a process that died.
STALE_AFTER_SECONDS = 60
_quiet_until = 0.0


def _hash_key(organization_id: int) -> str:
    return key("inflight-calls", organization_id)


def _warn(message: str) -> None:
    global _quiet_until
    now = time.monotonic()
    if now >= _quiet_until:
        _quiet_until = now + 60
        logger.warning(message, exc_info=True)


@dataclass
class InflightCall:
    token: str
    organization_id: int | None

    def end(self) -> None:
        if self.organization_id is None:
            return
        try:
            get_redis().hdel(_hash_key(self.organization_id), self.token)
        except Exception:  # noqa: BLE001 - the entry expires by its deadline
            _warn("Could not clear an in-flight connector call in Redis.")


def inflight_start(
    *,
    connector_slug: str,
    action: str,
    method: str,
    deadline_epoch: float,
    execution_id: Any = None,
    customer_id: Any = None,
    workflow_slug: str = "",
) -> InflightCall:
    organization = current_organization()
    token = uuid.uuid4().hex
    if organization is None:
        return InflightCall(token, None)
    entry = {
        "connector": connector_slug,
        "action": action,
        "method": method,
        "started_at": time.time(),
        "deadline": deadline_epoch,
        "execution_id": str(execution_id) if execution_id else None,
        "customer_id": str(customer_id) if customer_id else None,
        "workflow": workflow_slug,
    }
    name = _hash_key(organization.pk)
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.hset(name, token, json.dumps(entry))
        pipe.pexpire(name, HASH_TTL_MS)
        pipe.execute()
    except Exception:  # noqa: BLE001 - the call goes on without its Pending entry
        _warn("Could not record an in-flight connector call in Redis.")
        return InflightCall(token, None)
    return InflightCall(token, organization.pk)


def inflight_list(*, organization_id: int, now: float | None = None) -> list[dict[str, Any]]:
    """The organization's calls in flight, newest first; dead entries are removed."""
    now = time.time() if now is None else now
    name = _hash_key(organization_id)
    try:
        raw = get_redis().hgetall(name)
    except Exception:  # noqa: BLE001
        _warn("Could not read in-flight connector calls from Redis.")
        return []
    calls, stale = [], []
    for token, value in raw.items():
        try:
            entry = json.loads(value)
        except ValueError:
            stale.append(token)
            continue
        if float(entry.get("deadline") or 0) + STALE_AFTER_SECONDS < now:
            stale.append(token)
            continue
        entry["token"] = token.decode() if isinstance(token, bytes) else token
        entry["elapsed_ms"] = int((now - float(entry.get("started_at") or now)) * 1000)
        calls.append(entry)
    if stale:
        try:
            get_redis().hdel(name, *stale)
        except Exception:  # noqa: BLE001
            _warn("Could not drop stale in-flight connector calls from Redis.")
    calls.sort(key=lambda entry: entry.get("started_at") or 0, reverse=True)
    return calls
