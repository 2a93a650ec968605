"""Reads of plans, usage, customer tiers and limits.

Usage comes live from the Redis counters; when Redis is away it comes from
the last rollups in PostgreSQL (at most a minute old), and says so
(`source: "rollup"`).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import redis
from django.db.models import Sum

from apps.billing import counters
from apps.billing.limits import CustomerLimits, build_customer_limits, organization_limit
from apps.billing.models import Plan
from apps.billing.quotas import (
    DIMENSION_ORDER,
    DIMENSIONS,
    METER_DIMENSIONS,
    Dimension,
    Meter,
    Period,
    Window,
    day_window,
    local_date,
    minute_window,
    month_bounds,
)

CREDIT_METER = Meter.EXECUTIONS  # one execution is one credit


def plan_get(*, slug: str) -> Plan | None:
    return Plan.objects.filter(slug=slug).first()


def plan_list() -> list[Plan]:
    return list(Plan.objects.all())


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


# --- Counters of the current windows ---------------------------------------------------------


@dataclass
class Snapshot:
    """Counters of the current minute and day, and the levels: (meter, period) → field → value."""

    values: dict[tuple[str, str], dict[str, int]]
    source: str  # "live" or "rollup"
    minute: Window
    day: Window

    def get(self, meter: str, period: str, field: str) -> int:
        return self.values.get((meter, period), {}).get(field, 0)

    def customers(self) -> set[str]:
        found: set[str] = set()
        for fields in self.values.values():
            for name in fields:
                # Refusals count too: a customer whose every call was refused is one to see.
                name = name.removeprefix(counters.REFUSED_PREFIX)
                if name.startswith(counters.CUSTOMER_FIELD_PREFIX):
                    found.add(name[len(counters.CUSTOMER_FIELD_PREFIX) :])
        return found


def _periods() -> list[tuple[str, str]]:
    pairs = []
    for meter in Meter.values:
        for dimension in METER_DIMENSIONS[meter]:
            pairs.append((meter, DIMENSIONS[dimension].period.value))
    return pairs


def usage_snapshot(*, organization, now: float | None = None) -> Snapshot:
    now = time.time() if now is None else now
    minute, day = minute_window(now), day_window(now, organization.timezone)
    tokens = {Period.MINUTE.value: minute.token, Period.DAY.value: day.token, Period.TOTAL.value: "t"}
    pairs = _periods()
    try:
        hashes = counters.read_hashes([counters.hash_key(organization.pk, m, tokens[p]) for m, p in pairs])
        return Snapshot(dict(zip(pairs, hashes, strict=True)), "live", minute, day)
    except (redis.RedisError, OSError):
        return Snapshot(_rollup_values(minute, day), "rollup", minute, day)


def _rollup_values(minute: Window, day: Window) -> dict[tuple[str, str], dict[str, int]]:
    from apps.metering.models import UsageLevel, UsageRollup

    values: dict[tuple[str, str], dict[str, int]] = {}

    def field_for(customer: str) -> str:
        return counters.customer_field(customer) if customer else counters.ORG_FIELD

    windows = UsageRollup.objects.filter(window_start__in=[minute.start_datetime, day.start_datetime]).values_list(
        "meter", "period", "window_start", "customer_external_id", "used", "rejected"
    )
    for meter, period, start, customer, used, rejected in windows:
        expected = minute.start_datetime if period == Period.MINUTE else day.start_datetime
        if start != expected:
            continue
        bucket = values.setdefault((meter, period), {})
        bucket[field_for(customer)] = used
        if rejected:
            bucket[counters.REFUSED_PREFIX + field_for(customer)] = rejected
    for meter, customer, value in UsageLevel.objects.values_list("meter", "customer_external_id", "value"):
        values.setdefault((meter, Period.TOTAL.value), {})[field_for(customer)] = value
    return values


# --- Limits ------------------------------------------------------------------------------------


def customer_limits_many(external_ids: list[str]) -> dict[str, CustomerLimits]:
    """Effective limits of several customers in three queries (unknown ids are left out)."""
    from apps.metering.models import CustomerLimit, CustomerTier
    from apps.settings.selectors import customer_list

    customers = list(customer_list().filter(external_id__in=external_ids).only("id", "external_id", "tier"))
    tiers = {t.slug: t for t in CustomerTier.objects.filter(slug__in={c.tier for c in customers})}
    overrides: dict[Any, list] = {}
    for row in CustomerLimit.objects.filter(customer__in=customers):
        overrides.setdefault(row.customer_id, []).append(row)
    return {
        c.external_id: build_customer_limits(
            external_id=c.external_id, tier_slug=c.tier, tier=tiers.get(c.tier), overrides=overrides.get(c.id, [])
        )
        for c in customers
    }


def _window_for(snapshot: Snapshot, period: str) -> Window | None:
    return {Period.MINUTE.value: snapshot.minute, Period.DAY.value: snapshot.day}.get(period)


def _quota_entry(
    snapshot: Snapshot, dimension: str, field: str, limit: int | None, mode: str, source: str, now: float
) -> dict[str, Any]:
    spec = DIMENSIONS[dimension]
    used = snapshot.get(spec.meter, spec.period, field)
    window = _window_for(snapshot, spec.period)
    return {
        "dimension": dimension,
        "label": Dimension(dimension).label,
        "limit": limit,
        "used": used,
        "remaining": None if limit is None else max(0, limit - used),
        "percent": None if not limit else min(100, round(100 * used / limit)),
        "exceeded": limit is not None and used > limit,
        "at_limit": limit is not None and used >= limit,
        "enforcement": mode,
        "source": source,
        "window": spec.period.value,
        "resets_at": iso(window.end_datetime) if window else None,
        "resets_in_seconds": window.seconds_left(now) if window else None,
        "rejected": snapshot.get(spec.meter, spec.period, counters.REFUSED_PREFIX + field),
    }


def _usage_breakdown(snapshot: Snapshot, field: str) -> dict[str, Any]:
    minute, day, total = Period.MINUTE.value, Period.DAY.value, Period.TOTAL.value
    return {
        "api_calls": {
            "minute": snapshot.get(Meter.API_CALLS, minute, field),
            "day": snapshot.get(Meter.API_CALLS, day, field),
        },
        "events": {
            "minute": snapshot.get(Meter.EVENTS, minute, field),
            "day": snapshot.get(Meter.EVENTS, day, field),
        },
        "executions": {"day": snapshot.get(Meter.EXECUTIONS, day, field)},
        "integrations": snapshot.get(Meter.CONNECTIONS, total, field),
        "storage_bytes": snapshot.get(Meter.STORAGE_BYTES, total, field),
    }


# --- The report ----------------------------------------------------------------------------------


def member_count(organization) -> int:
    from apps.accounts.models import Membership

    return Membership.objects.filter(organization=organization, status=Membership.Status.ACTIVE).count()


def credits_summary(*, organization, snapshot: Snapshot | None = None, now: float | None = None) -> dict[str, Any]:
    """The plan's monthly credits: one execution is one credit, counted per calendar month
    of the organization's time zone (past days from rollups, today from the counters)."""
    from apps.metering.models import UsageRollup

    now = time.time() if now is None else now
    first, following = month_bounds(now, organization.timezone)
    today = local_date(now, organization.timezone)
    past = (
        UsageRollup.objects.filter(
            meter=CREDIT_METER, period=Period.DAY, customer_external_id="", day__gte=first, day__lt=today
        ).aggregate(total=Sum("used"))["total"]
        or 0
    )
    if snapshot is None:
        snapshot = usage_snapshot(organization=organization, now=now)
    used = past + snapshot.get(CREDIT_METER, Period.DAY.value, counters.ORG_FIELD)
    monthly = organization.plan.monthly_credits
    return {
        "unit": "execution",
        "monthly": monthly,
        "used": used,
        "remaining": None if monthly is None else max(0, monthly - used),
        "percent": None if not monthly else min(100, round(100 * used / monthly)),
        "period_start": first.isoformat(),
        "period_end": following.isoformat(),
    }


def usage_report(
    *,
    organization,
    customer_external_id: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """`GET /api/v1/usage`: counters and limits per dimension, for the
    organization and per customer, with the usage breakdown and credits.

    Customers are those with counters in the current windows (or levels),
    ordered by external id, `limit` at a time after `cursor`; or only the one
    named by `customer_external_id` (404 when there is no such customer).
    """
    from apps.settings.selectors import customer_get

    now = time.time() if now is None else now
    snapshot = usage_snapshot(organization=organization, now=now)
    plan = organization.plan
    quotas = {}
    for dimension in DIMENSION_ORDER:
        limit_value, mode = organization_limit(organization, dimension)
        quotas[dimension] = _quota_entry(snapshot, dimension, counters.ORG_FIELD, limit_value, mode, "plan", now)
    usage = _usage_breakdown(snapshot, counters.ORG_FIELD)
    usage["users"] = member_count(organization)

    if customer_external_id is not None:
        customer_get(external_id=customer_external_id)
        ids = [customer_external_id]
        next_cursor = None
    else:
        candidates = sorted(c for c in snapshot.customers() if cursor is None or c > cursor)
        ids = candidates[:limit]
        next_cursor = ids[-1] if len(candidates) > limit else None
    known = customer_limits_many(ids)
    customers = []
    for external_id in ids:
        limits = known.get(external_id)
        field = counters.customer_field(external_id)
        entry_quotas = {}
        for dimension in DIMENSION_ORDER:
            limit_value, mode = limits.get(dimension) if limits else (None, "hard_block")
            source = (limits.sources.get(dimension) if limits else None) or "none"
            entry_quotas[dimension] = _quota_entry(snapshot, dimension, field, limit_value, mode, source, now)
        customers.append(
            {
                "external_id": external_id,
                "known": limits is not None,
                "tier": limits.tier if limits else None,
                "quotas": entry_quotas,
                "usage": _usage_breakdown(snapshot, field),
            }
        )
    return {
        "plan": {
            "slug": plan.slug,
            "name": plan.name,
            "monthly_credits": plan.monthly_credits,
            "monthly_price_cents": plan.monthly_price_cents,
        },
        "timezone": organization.timezone,
        "source": snapshot.source,
        "generated_at": iso(dt.datetime.fromtimestamp(now, dt.UTC)),
        "windows": {
            "minute": {"start": iso(snapshot.minute.start_datetime), "resets_at": iso(snapshot.minute.end_datetime)},
            "day": {
                "start": iso(snapshot.day.start_datetime),
                "resets_at": iso(snapshot.day.end_datetime),
                "date": local_date(now, organization.timezone).isoformat(),
            },
        },
        "quotas": quotas,
        "usage": usage,
        "credits": credits_summary(organization=organization, snapshot=snapshot, now=now),
        "customers": customers,
        "next_cursor": next_cursor,
        "has_more": next_cursor is not None,
    }


def usage_history(
    *, meter: str, period: str, customer_external_id: str = "", since: dt.datetime, until: dt.datetime
) -> list[dict[str, Any]]:
    """Rolled-up usage of one meter, oldest first, for the organization or one customer."""
    from apps.metering.models import UsageRollup

    rows = UsageRollup.objects.filter(
        meter=meter,
        period=period,
        customer_external_id=customer_external_id,
        window_start__gte=since,
        window_start__lt=until,
    ).order_by("window_start")[:2000]
    return [
        {"window_start": iso(r.window_start), "day": r.day.isoformat(), "used": r.used, "rejected": r.rejected}
        for r in rows
    ]


def customer_tier_list() -> list:
    from apps.metering.models import CustomerTier

    return list(CustomerTier.objects.order_by("slug"))


def customer_tier_counts() -> dict[str, int]:
    """How many customers each tier slug has."""
    from django.db.models import Count

    from apps.settings.selectors import customer_list

    return dict(customer_list().values_list("tier").annotate(n=Count("id")).values_list("tier", "n"))


def customer_limits_detail(*, organization, external_id: str) -> dict[str, Any]:
    """Per dimension: the plan's limit, the tier's, the customer's own, and the effective one."""
    from apps.metering.models import CustomerLimit, CustomerTier
    from apps.settings.selectors import customer_get

    customer = customer_get(external_id=external_id)
    tier = CustomerTier.objects.filter(slug=customer.tier).first()
    own = {row.dimension: row for row in CustomerLimit.objects.filter(customer=customer)}
    effective = build_customer_limits(
        external_id=external_id, tier_slug=customer.tier, tier=tier, overrides=list(own.values())
    )
    dimensions = {}
    for dimension in DIMENSION_ORDER:
        plan_limit, plan_mode = organization_limit(organization, dimension)
        row = own.get(dimension)
        limit_value, mode = effective.get(dimension)
        dimensions[dimension] = {
            "dimension": dimension,
            "label": Dimension(dimension).label,
            "organization": {"limit": plan_limit, "enforcement": plan_mode},
            "tier": (
                {"limit": tier.limits[dimension], "enforcement": tier.enforcements.get(dimension, "hard_block")}
                if tier is not None and dimension in tier.limits
                else None
            ),
            "customer": ({"limit": row.limit, "enforcement": row.enforcement or None} if row is not None else None),
            "effective": {
                "limit": limit_value,
                "enforcement": mode,
                "source": effective.sources.get(dimension, "none"),
            },
        }
    return {
        "customer": external_id,
        "tier": customer.tier,
        "tier_defined": tier is not None,
        "limits": {d: row.limit for d, row in own.items()},
        "enforcement": {d: row.enforcement for d, row in own.items() if row.enforcement},
        "dimensions": dimensions,
    }


def customers_with_limits() -> list[dict[str, Any]]:
    """Customers that have limits of their own, with them (dashboard list)."""
    from apps.metering.models import CustomerLimit

    grouped: dict[str, dict[str, Any]] = {}
    rows = CustomerLimit.objects.select_related("customer").order_by("customer__external_id", "dimension")
    for row in rows[:2000]:
        entry = grouped.setdefault(
            row.customer.external_id,
            {
                "external_id": row.customer.external_id,
                "name": row.customer.name,
                "tier": row.customer.tier,
                "limits": [],
            },
        )
        entry["limits"].append(
            {
                "dimension": row.dimension,
                "label": Dimension(row.dimension).label,
                "limit": row.limit,
                "enforcement": row.enforcement or None,
            }
        )
    return list(grouped.values())


def daily_history(*, organization, days: int = 14, now: float | None = None) -> list[dict[str, Any]]:
    """The organization's last `days` local days: API calls, events and executions per day."""
    from apps.metering.models import UsageRollup

    now = time.time() if now is None else now
    today = local_date(now, organization.timezone)
    first = today - dt.timedelta(days=days - 1)
    table = {
        first + dt.timedelta(days=i): {m: 0 for m in (Meter.API_CALLS, Meter.EVENTS, Meter.EXECUTIONS)}
        for i in range(days)
    }
    rows = UsageRollup.objects.filter(
        period=Period.DAY, customer_external_id="", day__gte=first, day__lte=today
    ).values_list("day", "meter", "used")
    for day, meter, used in rows:
        if day in table and meter in table[day]:
            table[day][meter] = used
    return [
        {"day": day, **{str(k): v for k, v in values.items()}} for day, values in sorted(table.items(), reverse=True)
    ]
