"""Quota dimensions, what meters them, and their time windows.

A *meter* is something that is counted: API calls, trigger events,
executions, connections, stored bytes. A *dimension* is one limit on a meter
over one window: API calls per minute and API calls per day are two
dimensions of the `api_calls` meter. Consuming a meter checks and counts all
of its dimensions at once.

Windows:
- `minute`: 60-second windows aligned on UTC minutes;
- `day`: the organization's calendar day, from its local midnight to the next
  (23 or 25 hours long on daylight-saving days);
- `total`: no window; the meter is a level that goes up and down
  (connections, storage bytes). Its notices use the day window.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apps.metering.dimensions import Dimension, Enforcement, Meter, Period


@dataclass(frozen=True)
class DimensionSpec:
    dimension: Dimension
    meter: Meter
    period: Period


DIMENSIONS: dict[str, DimensionSpec] = {
    spec.dimension.value: spec
    for spec in (
        DimensionSpec(Dimension.API_CALLS_PER_MINUTE, Meter.API_CALLS, Period.MINUTE),
        DimensionSpec(Dimension.API_CALLS_PER_DAY, Meter.API_CALLS, Period.DAY),
        DimensionSpec(Dimension.EVENTS_PER_MINUTE, Meter.EVENTS, Period.MINUTE),
        DimensionSpec(Dimension.EVENTS_PER_DAY, Meter.EVENTS, Period.DAY),
        DimensionSpec(Dimension.EXECUTIONS_PER_DAY, Meter.EXECUTIONS, Period.DAY),
        DimensionSpec(Dimension.CONNECTIONS, Meter.CONNECTIONS, Period.TOTAL),
        DimensionSpec(Dimension.STORAGE_BYTES, Meter.STORAGE_BYTES, Period.TOTAL),
    )
}
# Plain strings for the hot path: enum members compare and hash slower than str.
METER_VALUES = frozenset(Meter.values)
HARD_BLOCK = Enforcement.HARD_BLOCK.value
DIMENSION_PERIODS: dict[str, str] = {name: spec.period.value for name, spec in DIMENSIONS.items()}
# Display order: the order of the quota table in the dashboard and in /usage.
DIMENSION_ORDER: tuple[str, ...] = tuple(DIMENSIONS)

METER_DIMENSIONS: dict[str, tuple[str, ...]] = {
    meter.value: tuple(name for name, spec in DIMENSIONS.items() if spec.meter == meter) for meter in Meter
}
# Meters counted per window (they reset); the others are levels.
WINDOWED_METERS = frozenset(m for m, dims in METER_DIMENSIONS.items() if DIMENSIONS[dims[0]].period != Period.TOTAL)
LEVEL_METERS = frozenset(Meter.values) - WINDOWED_METERS


def meter_periods(meter: str) -> tuple[str, ...]:
    return tuple(DIMENSIONS[d].period.value for d in METER_DIMENSIONS[meter])


# --- Windows -------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One window of a period: a token naming it in counter keys, and its bounds (epoch seconds)."""

    period: str
    token: str
    start: float
    end: float | None  # None for `total`

    def seconds_left(self, now: float) -> int:
        """Whole seconds until the window resets (at least 1): a Retry-After."""
        if self.end is None:
            return 0
        return max(1, math.ceil(self.end - now))

    @property
    def start_datetime(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.start, dt.UTC)

    @property
    def end_datetime(self) -> dt.datetime | None:
        return dt.datetime.fromtimestamp(self.end, dt.UTC) if self.end is not None else None


TOTAL_WINDOW = Window(Period.TOTAL.value, "t", 0.0, None)


@functools.lru_cache(maxsize=512)
def zone(name: str) -> dt.tzinfo:
    """The organization's time zone; an unknown name falls back to UTC."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def minute_window(now: float) -> Window:
    index = int(now // 60)
    return Window(Period.MINUTE.value, f"m{index}", index * 60.0, index * 60.0 + 60.0)


@functools.lru_cache(maxsize=4096)
def _day_window(tz_name: str, minute_index: int) -> Window:
    # Every time zone's midnight falls on a whole minute, so the day window is
    # the same for every instant of one minute and can be cached by it.
    tz = zone(tz_name)
    local = dt.datetime.fromtimestamp(minute_index * 60, tz)
    return day_window_for_date(tz_name, local.date())


def day_window_for_date(tz_name: str, day: dt.date) -> Window:
    tz = zone(tz_name)
    start = dt.datetime.combine(day, dt.time(0), tz).timestamp()
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz).timestamp()
    return Window(Period.DAY.value, f"d{day:%Y%m%d}", start, end)


def day_window(now: float, tz_name: str) -> Window:
    return _day_window(tz_name, int(now // 60))


def window_for(period: str, now: float, tz_name: str) -> Window:
    if period == Period.MINUTE:
        return minute_window(now)
    if period == Period.DAY:
        return day_window(now, tz_name)
    return TOTAL_WINDOW


def local_date(now: float, tz_name: str) -> dt.date:
    return dt.datetime.fromtimestamp(now, zone(tz_name)).date()


def month_bounds(now: float, tz_name: str) -> tuple[dt.date, dt.date]:
    """First day of the organization's current calendar month, and of the next one."""
    today = local_date(now, tz_name)
    first = today.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following
