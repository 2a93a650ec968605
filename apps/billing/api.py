"""Billing API: usage, customer tiers, and per-customer limits.

Reading needs `billing.view`; every change needs `billing.edit` (Owners).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.accounts.roles import Resource
from apps.billing import selectors, services
from apps.billing.quotas import Meter, Period
from apps.core.api import TenantAPIView, validated
from apps.core.errors import InvalidInput
from apps.core.pagination import parse_limit
from apps.core.serializers import JSONObjectField, StrictCharField, StrictSerializer

EDIT_ONLY = {"POST": "edit", "PUT": "edit", "PATCH": "edit", "DELETE": "edit"}


class BillingAPIView(TenantAPIView):
    permission_resource = Resource.BILLING
    permission_actions = EDIT_ONLY


# --- Usage ------------------------------------------------------------------------------------


class UsageView(BillingAPIView):
    """Not counted as an API call and never blocked: a client over its
    quota can always see why (like GitHub's /rate_limit)."""

    quota_exempt = True

    @extend_schema(
        summary="Current counters and limits per quota dimension, with a breakdown per customer",
        description=(
            "`quotas` holds, per dimension, the organization's limit (from its plan), `used` in the current "
            "window (minute, the organization's local day, or the current level), `remaining`, `enforcement` "
            "(`hard_block`, `soft`, `notify`), `exceeded` and `resets_at`. `usage` breaks usage down into API "
            "calls, events, executions, integrations (connections), storage bytes and users (members). "
            "`customers` repeats this per customer with the customer's limits (tier, then its own). "
            "`source` is `live` (Redis counters) or `rollup` (PostgreSQL, when Redis is unavailable). "
            "This call is not counted against the API-call quota."
        ),
        parameters=[
            OpenApiParameter("customer", str, description="Only this customer (external id)."),
            OpenApiParameter("cursor", str, description="The next_cursor of the previous page of customers."),
            OpenApiParameter("limit", int, description="Customers per page (1–500, default 100)."),
        ],
        responses={200: OpenApiResponse(description="The usage report.")},
    )
    def get(self, request):
        params = request.query_params
        customer = params.get("customer")
        if customer is not None and not customer.strip():
            raise InvalidInput.for_field("customer", "Give a customer's external id.")
        report = selectors.usage_report(
            organization=self.principal.organization,
            customer_external_id=customer.strip() if customer else None,
            limit=parse_limit(params.get("limit"), default=100),
            cursor=params.get("cursor") or None,
        )
        return Response(report)


def _parse_time(name: str, raw: str | None, default: dt.datetime) -> dt.datetime:
    if not raw:
        return default
    value = parse_datetime(raw)
    if value is None:
        raise InvalidInput.for_field(name, "Use an ISO 8601 date-time, e.g. 2026-01-31T00:00:00Z.")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


class UsageHistoryView(BillingAPIView):
    @extend_schema(
        summary="Rolled-up usage of one meter over time",
        parameters=[
            OpenApiParameter("meter", str, enum=Meter.values, required=True),
            OpenApiParameter("period", str, enum=[Period.DAY.value, Period.MINUTE.value], description="Default day."),
            OpenApiParameter("customer", str, description="A customer's external id; default the organization."),
            OpenApiParameter("since", str, description="ISO time; default 30 days (day) or 1 hour (minute) ago."),
            OpenApiParameter("until", str, description="ISO time; default now."),
        ],
        responses={200: OpenApiResponse(description="`{meter, period, customer, results: [...]}`")},
    )
    def get(self, request):
        params = request.query_params
        meter = params.get("meter", "")
        if meter not in Meter.values:
            raise InvalidInput.for_field("meter", f"One of {', '.join(Meter.values)}.")
        period = params.get("period") or Period.DAY.value
        if period not in (Period.DAY, Period.MINUTE):
            raise InvalidInput.for_field("period", "One of day, minute.")
        now = timezone.now()
        span = dt.timedelta(days=30) if period == Period.DAY else dt.timedelta(hours=1)
        until = _parse_time("until", params.get("until"), now)
        since = _parse_time("since", params.get("since"), until - span)
        customer = (params.get("customer") or "").strip()
        rows = selectors.usage_history(
            meter=meter, period=period, customer_external_id=customer, since=since, until=until
        )
        return Response({"meter": meter, "period": period, "customer": customer or None, "results": rows})


# --- Customer tiers ------------------------------------------------------------------------------


class TierOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    limits = serializers.JSONField()
    enforcement = serializers.JSONField(source="enforcements")
    customers = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_customers(self, tier) -> int:
        return self.context.get("counts", {}).get(tier.slug, 0)


class TierCreateIn(StrictSerializer):
    slug = StrictCharField(max_length=64)
    name = StrictCharField(max_length=100)
    description = StrictCharField(max_length=500, required=False, default="", allow_blank=True)
    limits = JSONObjectField(required=False, default=dict)
    enforcement = JSONObjectField(required=False, default=dict)


class TierUpdateIn(StrictSerializer):
    name = StrictCharField(max_length=100, required=False)
    description = StrictCharField(max_length=500, required=False, allow_blank=True)
    limits = JSONObjectField(required=False)
    enforcement = JSONObjectField(required=False)


class CustomerTierListView(BillingAPIView):
    @extend_schema(summary="List customer tiers", responses=TierOut(many=True))
    def get(self, request):
        tiers = selectors.customer_tier_list()
        data = TierOut(tiers, many=True, context={"counts": selectors.customer_tier_counts()}).data
        return Response({"results": data, "next_cursor": None, "has_more": False})

    @extend_schema(
        summary="Create a customer tier",
        description="`limits`: dimension → integer or null (no limit); `enforcement`: dimension → "
        "`hard_block`, `soft` or `notify` (default hard_block). Owners only.",
        request=TierCreateIn,
        responses={201: TierOut},
    )
    def post(self, request):
        data = validated(TierCreateIn, request.data)
        tier = services.customer_tier_create(actor=self.principal, **data)
        return Response(TierOut(tier).data, status=status.HTTP_201_CREATED)


class CustomerTierDetailView(BillingAPIView):
    @extend_schema(summary="Get a customer tier", responses=TierOut)
    def get(self, request, slug: str):
        tier = services.customer_tier_get(slug=slug)
        return Response(TierOut(tier, context={"counts": selectors.customer_tier_counts()}).data)

    @extend_schema(summary="Update a customer tier", request=TierUpdateIn, responses=TierOut)
    def patch(self, request, slug: str):
        data = validated(TierUpdateIn, request.data)
        tier = services.customer_tier_update(actor=self.principal, slug=slug, **data)
        return Response(TierOut(tier, context={"counts": selectors.customer_tier_counts()}).data)

    @extend_schema(summary="Delete a customer tier (refused while customers are in it)", responses={204: None})
    def delete(self, request, slug: str):
        services.customer_tier_delete(actor=self.principal, slug=slug)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Per-customer limits ---------------------------------------------------------------------------


class CustomerLimitsIn(StrictSerializer):
    limits = JSONObjectField()
    enforcement = JSONObjectField(required=False, default=dict)


class CustomerLimitsView(BillingAPIView):
    @extend_schema(
        summary="A customer's limits: the plan's, its tier's, its own and the effective ones",
        responses={200: OpenApiResponse(description="Per dimension: organization, tier, customer, effective.")},
    )
    def get(self, request, external_id: str):
        return Response(
            selectors.customer_limits_detail(organization=self.principal.organization, external_id=external_id)
        )

    @extend_schema(
        summary="Set a customer's own limits (replaces them)",
        description="`limits`: dimension → integer, or null for no limit; dimensions left out follow the "
        "customer's tier. `enforcement`: dimension → mode, for dimensions in `limits`. Owners only.",
        request=CustomerLimitsIn,
        responses={200: OpenApiResponse(description="The customer's limits, as GET returns them.")},
    )
    def put(self, request, external_id: str):
        data = validated(CustomerLimitsIn, request.data)
        services.customer_limits_set(actor=self.principal, external_id=external_id, **data)
        return Response(
            selectors.customer_limits_detail(organization=self.principal.organization, external_id=external_id)
        )

    @extend_schema(summary="Remove a customer's own limits (its tier's apply again)", responses={204: None})
    def delete(self, request, external_id: str):
        services.customer_limits_clear(actor=self.principal, external_id=external_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
