"""The billing API: usage report, customer tiers, per-customer limits; input, permissions, isolation."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 10, 12, 0, 10, tzinfo=UTC)
DIMENSIONS = {
    "api_calls_per_minute",
    "api_calls_per_day",
    "events_per_minute",
    "events_per_day",
    "executions_per_day",
    "connections",
    "storage_bytes",
}


def _audits(in_org, org, action):
    from apps.settings.models import AuditEvent

    in_org(org)
    return list(AuditEvent.objects.filter(action=action).order_by("created_at"))


# --- GET /api/v1/usage -----------------------------------------------------------------------------


def test_usage_reports_every_dimension_with_limit_usage_and_enforcement(api, make_org, add_member):
    org = make_org(plan="free", timezone_name="Europe/Paris")
    add_member(org, "developer")
    with time_machine.travel(T0, tick=False):
        for _ in range(3):
            api(org).get("/api/v1/customers")
        body = api(org).get("/api/v1/usage").json()
    assert set(body["quotas"]) == DIMENSIONS
    assert body["plan"] == {"slug": "free", "name": "Free", "monthly_credits": 1000, "monthly_price_cents": 0}
    assert body["timezone"] == "Europe/Paris" and body["source"] == "live"
    minute = body["quotas"]["api_calls_per_minute"]
    assert minute == {
        "dimension": "api_calls_per_minute",
        "label": "API calls per minute",
        "limit": 20,
        "used": 3,
        "remaining": 17,
        "percent": 15,
        "exceeded": False,
        "at_limit": False,
        "enforcement": "hard_block",
        "source": "plan",
        "window": "minute",
        "resets_at": "2026-03-10T12:01:00Z",
        "resets_in_seconds": 50,
        "rejected": 0,
    }
    # Free's limits (DESIGN.md): events 500/day, 10/min; API calls 1000/day, 20/min.
    assert body["quotas"]["events_per_day"]["limit"] == 500
    assert body["quotas"]["events_per_minute"]["limit"] == 10
    assert body["quotas"]["api_calls_per_day"]["limit"] == 1000
    # Paris is UTC+1 in March before DST: its day started at 23:00 UTC.
    assert body["windows"]["day"] == {
        "start": "2026-03-09T23:00:00Z",
        "resets_at": "2026-03-10T23:00:00Z",
        "date": "2026-03-10",
    }
    assert body["quotas"]["connections"]["window"] == "total"
    assert body["quotas"]["connections"]["resets_at"] is None
    assert body["usage"] == {
        "api_calls": {"minute": 3, "day": 3},
        "events": {"minute": 0, "day": 0},
        "executions": {"day": 0},
        "integrations": 0,
        "storage_bytes": 0,
        "users": 2,
    }
    assert body["credits"] == {
        "unit": "execution",
        "monthly": 1000,
        "used": 0,
        "remaining": 1000,
        "percent": 0,
        "period_start": "2026-03-01",
        "period_end": "2026-04-01",
    }
    assert body["customers"] == [] and body["has_more"] is False


def test_usage_breaks_down_per_customer_with_their_limits(api, make_org, customer_in, system_actor, in_org):
    from apps.billing.services import customer_limits_set, customer_tier_create, quota_consume

    org = make_org()
    customer_in(org, "acme", tier="gold")
    customer_in(org, "globex")
    in_org(org)
    actor = system_actor(org)
    customer_tier_create(
        actor=actor,
        slug="gold",
        name="Gold",
        limits={"api_calls_per_day": 100, "events_per_day": 50},
        enforcement={"events_per_day": "soft"},
    )
    customer_limits_set(actor=actor, external_id="acme", limits={"events_per_day": 70}, enforcement={})
    with time_machine.travel(T0, tick=False):
        api(org, customer="acme").get("/api/v1/customers")
        in_org(org)
        quota_consume(organization=org.organization, meter="events", customer_external_id="globex", amount=1)
        quota_consume(organization=org.organization, meter="executions", customer_external_id="acme")
        quota_consume(organization=org.organization, meter="connections", customer_external_id="acme")
        quota_consume(organization=org.organization, meter="storage_bytes", customer_external_id="globex", amount=2048)
        body = api(org).get("/api/v1/usage").json()
    acme, globex = body["customers"]
    assert acme["external_id"] == "acme" and acme["tier"] == "gold" and acme["known"] is True
    assert acme["usage"] == {
        "api_calls": {"minute": 1, "day": 1},
        "events": {"minute": 0, "day": 0},
        "executions": {"day": 1},
        "integrations": 1,
        "storage_bytes": 0,
    }
    assert acme["quotas"]["api_calls_per_day"]["limit"] == 100
    assert acme["quotas"]["api_calls_per_day"]["source"] == "tier"
    assert acme["quotas"]["events_per_day"]["limit"] == 70
    # The customer's own limit keeps its tier's mode.
    assert acme["quotas"]["events_per_day"]["enforcement"] == "soft"
    assert acme["quotas"]["events_per_day"]["source"] == "customer"
    assert acme["quotas"]["api_calls_per_minute"]["limit"] is None
    assert globex["usage"]["events"]["day"] == 1 and globex["usage"]["storage_bytes"] == 2048
    assert body["usage"]["executions"]["day"] == 1 and body["usage"]["integrations"] == 1


def test_usage_pages_through_customers_and_filters_one(api, make_org, customer_in, in_org):
    from apps.billing.services import quota_consume

    org = make_org()
    for name in ("c1", "c2", "c3"):
        customer_in(org, name)
    in_org(org)
    for name in ("c3", "c1", "c2"):
        quota_consume(organization=org.organization, meter="executions", customer_external_id=name)
    first = api(org).get("/api/v1/usage?limit=2").json()
    assert [c["external_id"] for c in first["customers"]] == ["c1", "c2"]
    assert first["has_more"] is True and first["next_cursor"] == "c2"
    second = api(org).get(f"/api/v1/usage?limit=2&cursor={first['next_cursor']}").json()
    assert [c["external_id"] for c in second["customers"]] == ["c3"] and second["has_more"] is False
    only = api(org).get("/api/v1/usage?customer=c2").json()
    assert [c["external_id"] for c in only["customers"]] == ["c2"]


def test_usage_refuses_bad_parameters(api, make_org):
    org = make_org()
    assert_error(api(org).get("/api/v1/usage?limit=0"), 400, "invalid_input")
    assert_error(api(org).get("/api/v1/usage?limit=abc"), 400, "invalid_input")
    assert_error(api(org).get("/api/v1/usage?customer="), 400, "invalid_input")
    assert_error(api(org).get("/api/v1/usage?customer=nobody"), 404, "customer_not_found")


def test_usage_of_another_organizations_customer_is_404(api, make_org, customer_in):
    first, second = make_org(), make_org()
    customer_in(first, "only-in-first")
    assert_error(api(second).get("/api/v1/usage?customer=only-in-first"), 404, "customer_not_found")


def test_usage_needs_billing_view(api, make_org, role_key, in_org):
    org = make_org()
    for role in ("viewer", "developer", "operator", "admin"):
        assert api(org, key=role_key(org, role)).get("/api/v1/usage").status_code == 200
    denied = api(org, key=role_key(org, "end_user")).get("/api/v1/usage")
    assert_error(denied, 403, "permission_denied")
    (audit,) = _audits(in_org, org, "billing.view")
    assert audit.outcome == "denied"


def test_usage_needs_authentication(api, make_org):
    org = make_org()
    assert_error(api(org, key="fastn_live_nope").get("/api/v1/usage"), 401)
    assert_error(api(None, key=None, account=org.account_id).get("/api/v1/usage"), 401)


def test_usage_history_lists_rollups(api, make_org, in_org):
    from apps.billing.services import usage_rollup

    org = make_org()
    with time_machine.travel(T0, tick=False):
        for _ in range(2):
            api(org).get("/api/v1/customers")
        in_org(org)
        usage_rollup(organization=org.organization)
        days = api(org).get("/api/v1/usage/history?meter=api_calls").json()
        minutes = api(org).get("/api/v1/usage/history?meter=api_calls&period=minute").json()
    assert days["results"] == [{"window_start": "2026-03-10T00:00:00Z", "day": "2026-03-10", "used": 2, "rejected": 0}]
    assert minutes["results"][0]["window_start"] == "2026-03-10T12:00:00Z"
    assert_error(api(org).get("/api/v1/usage/history"), 400, "invalid_input")
    assert_error(api(org).get("/api/v1/usage/history?meter=api_calls&period=week"), 400, "invalid_input")
    assert_error(api(org).get("/api/v1/usage/history?meter=api_calls&since=yesterday"), 400, "invalid_input")


# --- Customer tiers --------------------------------------------------------------------------------


def test_owner_creates_reads_updates_and_deletes_a_tier(owner_api, api, make_org, in_org, customer_in):
    org = make_org()
    created = owner_api(org).post(
        "/api/v1/customer-tiers",
        {
            "slug": "gold",
            "name": "Gold",
            "limits": {"api_calls_per_minute": 100, "connections": None},
            "enforcement": {"api_calls_per_minute": "soft"},
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["slug"] == "gold" and body["customers"] == 0
    assert body["limits"] == {"api_calls_per_minute": 100, "connections": None}
    assert body["enforcement"] == {"api_calls_per_minute": "soft"}

    customer_in(org, "acme", tier="gold")
    listed = owner_api(org).get("/api/v1/customer-tiers").json()["results"]
    assert [(t["slug"], t["customers"]) for t in listed] == [("gold", 1)]

    patched = owner_api(org).patch(
        "/api/v1/customer-tiers/gold", {"name": "Gold+", "limits": {"api_calls_per_minute": 50, "events_per_day": 5}}
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Gold+"
    assert patched.json()["enforcement"] == {"api_calls_per_minute": "soft"}  # kept for a dimension still limited
    # A mode for a dimension without a limit is refused, not silently stored.
    bad = owner_api(org).patch("/api/v1/customer-tiers/gold", {"enforcement": {"connections": "soft"}})
    assert_error(bad, 400, "invalid_input")
    cleared = owner_api(org).patch("/api/v1/customer-tiers/gold", {"limits": {}})
    assert cleared.status_code == 200 and cleared.json()["enforcement"] == {}

    assert_error(owner_api(org).delete("/api/v1/customer-tiers/gold"), 409, "customer_tier_in_use")
    in_org(org)
    from apps.settings.models import Customer

    Customer.objects.filter(external_id="acme").update(tier="standard")
    assert owner_api(org).delete("/api/v1/customer-tiers/gold").status_code == 204
    assert_error(owner_api(org).get("/api/v1/customer-tiers/gold"), 404, "customer_tier_not_found")
    actions = [a.action for a in _audits(in_org, org, "customer_tier.create")]
    actions += [a.action for a in _audits(in_org, org, "customer_tier.update")]
    actions += [a.action for a in _audits(in_org, org, "customer_tier.delete")]
    assert actions == ["customer_tier.create", "customer_tier.update", "customer_tier.update", "customer_tier.delete"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"name": "No slug"}, "slug"),
        ({"slug": "x"}, "name"),
        ({"slug": "Bad Slug", "name": "X"}, "slug"),
        ({"slug": 5, "name": "X"}, "slug"),
        ({"slug": "x", "name": "X", "limits": []}, "limits"),
        ({"slug": "x", "name": "X", "limits": {"bananas_per_day": 1}}, "limits"),
        ({"slug": "x", "name": "X", "limits": {"events_per_day": -1}}, "limits"),
        ({"slug": "x", "name": "X", "limits": {"events_per_day": "10"}}, "limits"),
        ({"slug": "x", "name": "X", "limits": {"events_per_day": 1.5}}, "limits"),
        ({"slug": "x", "name": "X", "limits": {"events_per_day": True}}, "limits"),
        (
            {"slug": "x", "name": "X", "limits": {"events_per_day": 1}, "enforcement": {"events_per_day": "loud"}},
            "enforcement",
        ),
        ({"slug": "x", "name": "X", "enforcement": {"events_per_day": "soft"}}, "enforcement"),
        ({"slug": "x", "name": "X", "colour": "gold"}, "colour"),
    ],
)
def test_bad_tier_input_is_400_naming_the_field(owner_api, api, make_org, payload, field):
    org = make_org()
    error = assert_error(owner_api(org).post("/api/v1/customer-tiers", payload), 400)
    assert field in error["message"] or field in error["details"].get("fields", {})


def test_malformed_tier_json_is_400(owner_api, api, make_org):
    org = make_org()
    assert_error(owner_api(org).post("/api/v1/customer-tiers", raw=b'{"slug": '), 400, "malformed_json")
    assert_error(owner_api(org).post("/api/v1/customer-tiers", raw=b"[1]"), 400, "invalid_body")


def test_a_duplicate_tier_is_409(owner_api, api, make_org):
    org = make_org()
    assert owner_api(org).post("/api/v1/customer-tiers", {"slug": "gold", "name": "Gold"}).status_code == 201
    assert_error(
        owner_api(org).post("/api/v1/customer-tiers", {"slug": "gold", "name": "Gold"}), 409, "customer_tier_exists"
    )


def test_only_owners_change_billing(owner_api, api, make_org, role_key, in_org):
    org = make_org()
    owner_api(org).post("/api/v1/customer-tiers", {"slug": "gold", "name": "Gold"})
    admin = api(org, key=role_key(org, "admin"))
    assert admin.get("/api/v1/customer-tiers").status_code == 200
    assert_error(admin.post("/api/v1/customer-tiers", {"slug": "silver", "name": "Silver"}), 403, "permission_denied")
    assert_error(admin.patch("/api/v1/customer-tiers/gold", {"name": "G"}), 403)
    assert_error(admin.delete("/api/v1/customer-tiers/gold"), 403)
    assert_error(admin.put("/api/v1/customers/x/limits", {"limits": {}}), 403)
    denied = _audits(in_org, org, "billing.edit")
    assert len(denied) == 4 and {a.outcome for a in denied} == {"denied"}


def test_tiers_are_isolated_between_organizations(owner_api, api, make_org):
    first, second = make_org(), make_org()
    owner_api(first).post("/api/v1/customer-tiers", {"slug": "gold", "name": "Gold"})
    assert owner_api(second).get("/api/v1/customer-tiers").json()["results"] == []
    assert_error(owner_api(second).get("/api/v1/customer-tiers/gold"), 404)
    assert_error(owner_api(second).patch("/api/v1/customer-tiers/gold", {"name": "Mine"}), 404)
    assert_error(owner_api(second).delete("/api/v1/customer-tiers/gold"), 404)
    # The same slug can exist in both.
    assert owner_api(second).post("/api/v1/customer-tiers", {"slug": "gold", "name": "Gold"}).status_code == 201


# --- Per-customer limits -----------------------------------------------------------------------------


def test_owner_sets_reads_and_clears_a_customers_limits(owner_api, api, make_org, customer_in, in_org):
    org = make_org(plan="free")
    customer_in(org, "acme", tier="gold")
    owner_api(org).post(
        "/api/v1/customer-tiers", {"slug": "gold", "name": "Gold", "limits": {"api_calls_per_minute": 10}}
    )
    put = owner_api(org).put(
        "/api/v1/customers/acme/limits",
        {
            "limits": {"api_calls_per_minute": 15, "events_per_day": None},
            "enforcement": {"api_calls_per_minute": "notify"},
        },
    )
    assert put.status_code == 200, put.content
    body = put.json()
    assert body["limits"] == {"api_calls_per_minute": 15, "events_per_day": None}
    assert body["enforcement"] == {"api_calls_per_minute": "notify"}
    minute = body["dimensions"]["api_calls_per_minute"]
    assert minute["organization"] == {"limit": 20, "enforcement": "hard_block"}
    assert minute["tier"] == {"limit": 10, "enforcement": "hard_block"}
    assert minute["customer"] == {"limit": 15, "enforcement": "notify"}
    assert minute["effective"] == {"limit": 15, "enforcement": "notify", "source": "customer"}
    assert body["dimensions"]["events_per_day"]["effective"]["limit"] is None
    assert body["dimensions"]["connections"]["effective"] == {
        "limit": None,
        "enforcement": "hard_block",
        "source": "none",
    }

    # PUT replaces: dimensions left out follow the tier again.
    again = owner_api(org).put("/api/v1/customers/acme/limits", {"limits": {"events_per_day": 3}}).json()
    assert again["limits"] == {"events_per_day": 3}
    assert again["dimensions"]["api_calls_per_minute"]["effective"]["source"] == "tier"

    assert owner_api(org).delete("/api/v1/customers/acme/limits").status_code == 204
    assert owner_api(org).get("/api/v1/customers/acme/limits").json()["limits"] == {}
    assert [a.action for a in _audits(in_org, org, "customer_limits.update")] == ["customer_limits.update"] * 2
    assert len(_audits(in_org, org, "customer_limits.delete")) == 1


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"limits": 5},
        {"limits": {"api_calls_per_minute": -1}},
        {"limits": {"nope": 1}},
        {"limits": {"api_calls_per_minute": 1}, "enforcement": {"api_calls_per_minute": "maybe"}},
        {"limits": {}, "enforcement": {"api_calls_per_minute": "soft"}},
        {"limits": {}, "extra": 1},
    ],
)
def test_bad_customer_limits_are_400(owner_api, api, make_org, customer_in, payload):
    org = make_org()
    customer_in(org, "acme")
    assert_error(owner_api(org).put("/api/v1/customers/acme/limits", payload), 400)


def test_limits_of_an_unknown_or_foreign_customer_are_404(owner_api, api, make_org, customer_in):
    first, second = make_org(), make_org()
    customer_in(first, "acme")
    assert_error(owner_api(second).get("/api/v1/customers/acme/limits"), 404, "customer_not_found")
    assert_error(owner_api(second).put("/api/v1/customers/acme/limits", {"limits": {}}), 404, "customer_not_found")
    assert_error(owner_api(second).delete("/api/v1/customers/acme/limits"), 404, "customer_not_found")


def test_the_billing_endpoints_are_in_the_openapi_document(api):
    schema = api(None, key=None).get("/api/v1/schema?format=json").json()
    for path in (
        "/api/v1/usage",
        "/api/v1/usage/history",
        "/api/v1/customer-tiers",
        "/api/v1/customers/{external_id}/limits",
    ):
        assert path in schema["paths"], path
