"""Reading the Traces filters from query parameters (`GET /api/v1/traces` and
Activity → Traces share it). Each mistake raises InvalidInput naming the
parameter; the dashboard shows it as a notice instead of a 400."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.dateparse import parse_datetime

from apps.connectors.selectors import TraceFilters, parse_uuid
from apps.core.errors import InvalidInput

TABS = {"": None, "all": None, "success": True, "error": False}
MAX_MS = 24 * 3600 * 1000


def _int(params: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput.for_field(name, f"Must be a whole number from {low} to {high}.") from None
    if not low <= value <= high:
        raise InvalidInput.for_field(name, f"Must be a whole number from {low} to {high}.")
    return value


def _time(params: Mapping[str, str], name: str, zone=None):
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    value = parse_datetime(raw.replace(" ", "T"))
    if value is None:
        raise InvalidInput.for_field(name, "Use a date and time such as 2026-01-31T09:30:00Z.")
    if value.tzinfo is None and zone is not None:
        value = value.replace(tzinfo=zone)
    return value


def trace_filters_from(params: Mapping[str, str], *, customer=None, zone=None) -> TraceFilters:
    """TraceFilters from `connector`, `action`, `workflow`, `execution_id`, `status`
    (a code such as 404, or 2xx…5xx), `min_ms`, `max_ms`, `since`, `until` and
    `ok` / `tab` (all, success, error). `customer` is resolved by the caller."""
    tab = (params.get("tab") or "").strip()
    if tab not in TABS and tab != "pending":
        raise InvalidInput.for_field("tab", "Must be all, success, error or pending.")
    ok = TABS.get(tab)
    raw_ok = (params.get("ok") or "").strip().lower()
    if raw_ok:
        if raw_ok not in ("true", "false", "1", "0"):
            raise InvalidInput.for_field("ok", "Use true or false.")
        ok = raw_ok in ("true", "1")
    status = status_class = None
    raw_status = (params.get("status") or "").strip().lower()
    if raw_status:
        if len(raw_status) == 3 and raw_status[0] in "12345" and raw_status[1:] == "xx":
            status_class = int(raw_status[0])
        else:
            status = _int(params, "status", 100, 599)
    execution_id = None
    if (params.get("execution_id") or "").strip():
        execution_id = parse_uuid(params["execution_id"].strip())
        if execution_id is None:
            raise InvalidInput.for_field("execution_id", "Must be a UUID.")
    min_ms, max_ms = _int(params, "min_ms", 0, MAX_MS), _int(params, "max_ms", 0, MAX_MS)
    if min_ms is not None and max_ms is not None and max_ms < min_ms:
        raise InvalidInput.for_field("max_ms", "Must not be below min_ms.")
    since, until = _time(params, "since", zone), _time(params, "until", zone)
    if since and until and until <= since:
        raise InvalidInput.for_field("until", "Must be after since.")
    for name, limit in (("connector", 63), ("action", 128), ("workflow", 100)):
        if len((params.get(name) or "").strip()) > limit:
            raise InvalidInput.for_field(name, f"At most {limit} characters.")
    return TraceFilters(
        connector=(params.get("connector") or "").strip(),
        action=(params.get("action") or "").strip(),
        workflow=(params.get("workflow") or "").strip(),
        execution_id=execution_id,
        customer=customer,
        ok=ok,
        status=status,
        status_class=status_class,
        min_ms=min_ms,
        max_ms=max_ms,
        since=since,
        until=until,
    )
