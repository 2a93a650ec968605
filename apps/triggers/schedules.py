"""When schedules fire: 5-field cron in a time zone, or a fixed interval.

Cron expressions are read in the schedule's wall-clock time, and daylight
saving changes are handled the way people expect from cron:

- a wall-clock time that does not exist that day (the hour skipped in
  spring) fires at the moment the clocks jump, once: `0 2 * * *` runs at
  03:00 CEST on the last Sunday of March in Europe/Berlin, and a `*/15`
  schedule runs at 01:45 CET, 03:00 CEST, 03:15 CEST…;
- a wall-clock time that happens twice (the hour repeated in autumn) fires
  once, at its first occurrence — except for schedules that run every hour
  (hour field `*`), which keep their rhythm in elapsed time and fire in both.

Everything here is pure (no database) and returns aware UTC datetimes.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import croniter

# How far around a candidate a DST change can move a wall-clock time.
_FOLD_MARGIN = timedelta(hours=3)
_MAX_CANDIDATES = 5000


class ScheduleError(ValueError):
    """An expression, zone or interval that cannot be a schedule (names the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def zone_for(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name or name not in _zone_names():
        raise ScheduleError("timezone", f"{name!r} is not an IANA time zone name such as Europe/Berlin.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - listed but unloadable
        raise ScheduleError("timezone", f"{name!r} is not an IANA time zone name.") from exc


_ZONES: frozenset[str] | None = None


def _zone_names() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES


def validate_cron(expression: str) -> str:
    if not isinstance(expression, str) or not expression.strip():
        raise ScheduleError("cron", "Must be a cron expression such as '*/5 * * * *'.")
    normalised = " ".join(expression.split())
    if len(normalised.split(" ")) != 5:
        raise ScheduleError("cron", "Use the 5 fields minute, hour, day of month, month and day of week.")
    if not croniter.is_valid(normalised):
        raise ScheduleError("cron", f"{expression!r} is not a valid cron expression.")
    try:
        croniter(normalised, datetime(2026, 1, 1)).get_next(datetime)
    except Exception as exc:  # noqa: BLE001 - croniter raises several kinds for impossible dates
        raise ScheduleError("cron", f"{expression!r} never fires: {exc}") from exc
    return normalised


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: `cron` + `timezone`, or `interval_seconds` from `anchor`."""

    cron: str | None = None
    timezone: str = "UTC"
    interval_seconds: int | None = None
    anchor: datetime | None = None  # interval schedules count from here

    def next_after(self, moment: datetime) -> datetime:
        """The first nominal fire time strictly after `moment` (aware)."""
        if self.interval_seconds:
            return _interval_next(self.anchor or moment, self.interval_seconds, moment)
        return cron_next(self.cron or "", zone_for(self.timezone), moment)

    def upcoming(self, moment: datetime, count: int = 5) -> list[datetime]:
        times, current = [], moment
        for _ in range(count):
            current = self.next_after(current)
            times.append(current)
        return times

    def latest_at_or_before(self, moment: datetime, since: datetime) -> datetime | None:
        """The last nominal time in (since, moment]: the run a catch-up fires for."""
        latest, current = None, since
        for _ in range(100_000):
            following = self.next_after(current)
            if following > moment:
                return latest
            latest = current = following
        return latest


def _interval_next(anchor: datetime, interval: int, moment: datetime) -> datetime:
    elapsed = (moment - anchor).total_seconds()
    steps = math.floor(elapsed / interval) + 1 if elapsed >= 0 else 0
    candidate = anchor + timedelta(seconds=steps * interval)
    while candidate <= moment:
        candidate += timedelta(seconds=interval)
    return candidate.astimezone(UTC)


def _instants(naive: datetime, zone: ZoneInfo, every_hour: bool) -> list[datetime]:
    """The UTC instants at which the wall-clock time `naive` fires in `zone`."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    first_utc, second_utc = first.astimezone(UTC), second.astimezone(UTC)
    exists_first = first_utc.astimezone(zone).replace(tzinfo=None) == naive
    exists_second = second_utc.astimezone(zone).replace(tzinfo=None) == naive
    if not exists_first and not exists_second:
        return [_gap_end(naive, zone, min(first_utc, second_utc), max(first_utc, second_utc))]
    if first_utc == second_utc:
        return [first_utc]
    # Ambiguous: the repeated hour.
    return [first_utc, second_utc] if every_hour else [first_utc]


def _gap_end(naive: datetime, zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first instant whose wall-clock time is at or after `naive`: when the clocks jumped."""
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return (
        high.replace(microsecond=0) if high.microsecond == 0 else (high + timedelta(seconds=1)).replace(microsecond=0)
    )


def cron_next(expression: str, zone: ZoneInfo, moment: datetime) -> datetime:
    """The first fire time of a 5-field cron expression in `zone` strictly after `moment`."""
    moment = moment.astimezone(UTC)
    every_hour = expression.split(" ")[1] == "*"
    local = moment.astimezone(zone).replace(tzinfo=None)
    iterator = croniter(expression, local - _FOLD_MARGIN)
    best: datetime | None = None
    for _ in range(_MAX_CANDIDATES):
        candidate = iterator.get_next(datetime)
        if best is not None and candidate > best.astimezone(zone).replace(tzinfo=None) + _FOLD_MARGIN:
            return best
        for instant in _instants(candidate, zone, every_hour):
            if instant > moment and (best is None or instant < best):
                best = instant
    if best is None:
        raise ScheduleError("cron", "The expression does not fire in the foreseeable future.")
    return best


def jitter_offset(trigger_id: object, scheduled_for: datetime, jitter_seconds: int) -> int:
    """A stable offset in [0, jitter_seconds] for one run: the same run always
    gets the same delay, different triggers spread out."""
    if jitter_seconds <= 0:
        return 0
    digest = hashlib.sha256(f"{trigger_id}:{scheduled_for.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (jitter_seconds + 1)
