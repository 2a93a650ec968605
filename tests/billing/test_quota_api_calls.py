"""API calls are metered and limited: every authenticated call is one API call."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def test_on_free_the_21st_call_in_a_minute_gets_429_with_the_seconds_until_the_minute_ends(api, make_org):
    org = make_org(plan="free")
    client = api(org)
    with time_machine.travel(dt.datetime(2026, 3, 10, 15, 30, 15, 250_000, tzinfo=UTC), tick=False):
        for _ in range(20):
            assert client.get("/api/v1/customers").status_code == 200
        response = client.get("/api/v1/customers")
    error = assert_error(response, 429, "quota_exceeded")
    assert response["Retry-After"] == "45"  # 15:30:15.25 → 15:31:00, rounded up
    assert error["details"]["dimension"] == "api_calls_per_minute"
    assert error["details"]["limit"] == 20
    assert error["details"]["used"] == 20
    assert error["details"]["scope"] == "organization"
    assert error["details"]["resets_at"] == "2026-03-10T15:31:00Z"
    assert "20" in error["message"] and "45 seconds" in error["message"]


def test_calls_are_allowed_again_when_the_minute_resets(api, make_org):
    org = make_org(plan="free")
    client = api(org)
    with time_machine.travel(dt.datetime(2026, 3, 10, 15, 30, 59, tzinfo=UTC), tick=False) as traveller:
        for _ in range(20):
            client.get("/api/v1/customers")
        blocked = client.get("/api/v1/customers")
        assert blocked.status_code == 429 and blocked["Retry-After"] == "1"
        traveller.move_to(dt.datetime(2026, 3, 10, 15, 31, 0, tzinfo=UTC))
        assert client.get("/api/v1/customers").status_code == 200


def test_admitted_calls_carry_rate_limit_headers(api, make_org):
    org = make_org(plan="free")
    with time_machine.travel(dt.datetime(2026, 3, 10, 15, 30, 40, tzinfo=UTC), tick=False):
        response = api(org).get("/api/v1/customers")
    assert response.status_code == 200
    assert response["X-RateLimit-Limit"] == "20"
    assert response["X-RateLimit-Remaining"] == "19"
    assert response["X-RateLimit-Reset"] == "20"
    assert response["X-RateLimit-Dimension"] == "api_calls_per_minute"
    assert "X-Fastn-Quota-Soft" not in response


def test_refused_calls_are_not_counted_but_recorded_as_refused(api, quota_org, redis_counter):
    org = quota_org({"api_calls_per_minute": 2})
    client = api(org)
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        statuses = [client.get("/api/v1/customers").status_code for _ in range(5)]
        usage = client.get("/api/v1/usage").json()
    assert statuses == [200, 200, 429, 429, 429]
    minute = int(dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC).timestamp() // 60)
    assert redis_counter(org, "api_calls", f"m{minute}") == 2
    assert redis_counter(org, "api_calls", f"m{minute}", "r:o") == 3
    assert usage["quotas"]["api_calls_per_minute"]["used"] == 2
    assert usage["quotas"]["api_calls_per_minute"]["rejected"] == 3
    assert usage["quotas"]["api_calls_per_day"]["used"] == 2


def test_every_authenticated_call_counts_whatever_its_outcome(api, quota_org, role_key):
    org = quota_org({"api_calls_per_minute": 1000})
    viewer = api(org, key=role_key(org, "viewer"))
    client = api(org)
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        assert viewer.post("/api/v1/secrets", {"name": "A", "value": "b"}).status_code == 403
        assert client.get("/api/v1/customers/nobody").status_code == 404
        assert client.post("/api/v1/customers", {"bad": 1}).status_code == 400
        assert client.post("/api/v1/customers", raw=b"{").status_code == 400
        assert client.get("/api/v1/customers").status_code == 200
        usage = client.get("/api/v1/usage").json()
    assert usage["quotas"]["api_calls_per_minute"]["used"] == 5


def test_unauthenticated_calls_and_the_usage_endpoint_are_not_counted(api, quota_org):
    org = quota_org({"api_calls_per_minute": 1})
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        assert api(org, key="fastn_live_wrong").get("/api/v1/customers").status_code == 401
        assert api(None, key=None, account=org.account_id).get("/api/v1/customers").status_code == 401
        assert api(org).get("/api/v1/health").status_code in (200, 503)
        for _ in range(3):
            assert api(org).get("/api/v1/usage").status_code == 200
        assert api(org).get("/api/v1/customers").status_code == 200
        blocked = api(org).get("/api/v1/customers")
        # A blocked client can still see why.
        usage = api(org).get("/api/v1/usage")
    assert blocked.status_code == 429
    assert usage.status_code == 200
    assert usage.json()["quotas"]["api_calls_per_minute"]["used"] == 1


def test_the_daily_limit_blocks_until_the_organizations_midnight(api, quota_org):
    org = quota_org({"api_calls_per_day": 3}, timezone_name="America/New_York")
    client = api(org)
    # 23:59:30 in New York (EST, UTC-5) is 04:59:30 UTC the next day.
    with time_machine.travel(dt.datetime(2026, 1, 15, 4, 59, 30, tzinfo=UTC), tick=False) as traveller:
        for _ in range(3):
            assert client.get("/api/v1/customers").status_code == 200
        blocked = client.get("/api/v1/customers")
        error = assert_error(blocked, 429, "quota_exceeded")
        assert blocked["Retry-After"] == "30"
        assert error["details"]["dimension"] == "api_calls_per_day"
        assert error["details"]["resets_at"] == "2026-01-15T05:00:00Z"
        # UTC midnight passed hours ago: it is not the organization's midnight.
        traveller.move_to(dt.datetime(2026, 1, 15, 4, 59, 59, tzinfo=UTC))
        assert client.get("/api/v1/customers").status_code == 429
        traveller.move_to(dt.datetime(2026, 1, 15, 5, 0, 0, tzinfo=UTC))
        assert client.get("/api/v1/customers").status_code == 200
        usage = client.get("/api/v1/usage").json()
    assert usage["windows"]["day"]["date"] == "2026-01-15"
    assert usage["windows"]["day"]["start"] == "2026-01-15T05:00:00Z"
    assert usage["quotas"]["api_calls_per_day"]["used"] == 1


def test_a_day_limit_block_waits_for_the_day_not_the_minute(api, quota_org):
    org = quota_org({"api_calls_per_minute": 2, "api_calls_per_day": 2}, timezone_name="Asia/Kolkata")
    client = api(org)
    # 10:00:00 UTC is 15:30 in Kolkata (UTC+5:30): 8.5 hours to local midnight.
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, 0, 0, tzinfo=UTC), tick=False):
        client.get("/api/v1/customers")
        client.get("/api/v1/customers")
        blocked = client.get("/api/v1/customers")
    error = assert_error(blocked, 429)
    assert error["details"]["dimension"] == "api_calls_per_day"
    assert blocked["Retry-After"] == str(int(8.5 * 3600))


def test_organizations_are_counted_apart(api, quota_org):
    first = quota_org({"api_calls_per_minute": 2})
    second = quota_org({"api_calls_per_minute": 2})
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        for _ in range(2):
            api(first).get("/api/v1/customers")
        assert api(first).get("/api/v1/customers").status_code == 429
        assert api(second).get("/api/v1/customers").status_code == 200
        assert api(second).get("/api/v1/usage").json()["quotas"]["api_calls_per_minute"]["used"] == 1


def test_a_plan_change_applies_to_the_next_call(api, quota_org, make_plan):
    org = quota_org({"api_calls_per_minute": 1})
    client = api(org)
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        assert client.get("/api/v1/customers").status_code == 200
        assert client.get("/api/v1/customers").status_code == 429
        org.organization.plan = make_plan({"api_calls_per_minute": 5})
        org.organization.save(update_fields=["plan"])
        assert client.get("/api/v1/customers").status_code == 200


# --- Soft and Notify ---------------------------------------------------------------------------


def test_soft_lets_calls_through_and_flags_them_in_a_header_and_in_usage(api, quota_org):
    org = quota_org({"api_calls_per_minute": 2}, enforcement="soft")
    client = api(org)
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        responses = [client.get("/api/v1/customers") for _ in range(4)]
        usage = client.get("/api/v1/usage").json()
    assert [r.status_code for r in responses] == [200, 200, 200, 200]
    assert [r.get("X-Fastn-Quota-Soft") for r in responses] == [
        None,
        None,
        "api_calls_per_minute",
        "api_calls_per_minute",
    ]
    assert responses[-1]["X-RateLimit-Remaining"] == "0"
    quota = usage["quotas"]["api_calls_per_minute"]
    assert quota["used"] == 4 and quota["exceeded"] is True and quota["enforcement"] == "soft"
    assert quota["rejected"] == 0


def test_soft_crossing_is_recorded_once_per_window_without_email(api, quota_org, in_org, mailoutbox):
    from apps.metering.models import QuotaNotice

    org = quota_org({"api_calls_per_minute": 1}, enforcement="soft")
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        for _ in range(3):
            api(org).get("/api/v1/customers")
    in_org(org)
    notices = list(QuotaNotice.objects.all())
    assert [(n.kind, n.dimension, n.enforcement, n.limit, n.used) for n in notices] == [
        ("limit_reached", "api_calls_per_minute", "soft", 1, 2)
    ]
    assert mailoutbox == []


@pytest.fixture
def eager_tasks():
    """Celery tasks run inline, so that their emails land in this process's outbox."""
    from fastn.celery import app

    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(task_always_eager=previous[0], task_eager_propagates=previous[1])


def test_notify_lets_calls_through_and_emails_owners_and_admins_once_per_window(
    api, quota_org, add_member, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    org = quota_org(
        {"api_calls_per_minute": 2, "api_calls_per_day": 1000}, enforcements={"api_calls_per_minute": "notify"}
    )
    admin = add_member(org, "admin")
    add_member(org, "developer")
    client = api(org)
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            responses = [client.get("/api/v1/customers") for _ in range(6)]
        assert [r.status_code for r in responses] == [200] * 6
        assert responses[-1]["X-Fastn-Quota-Notify"] == "api_calls_per_minute"
        assert "X-Fastn-Quota-Soft" not in responses[-1]
        assert len(mailoutbox) == 1
        message = mailoutbox[0]
        assert sorted(message.to) == sorted([org.owner.email, admin.email])
        assert "API calls per minute" in message.subject and "(2)" in message.subject
        assert f"/o/{org.slug}/settings/billing/" in message.body

        # The next window notifies again, once.
        traveller.move_to(dt.datetime(2026, 3, 10, 9, 1, 5, tzinfo=UTC))
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(5):
                assert client.get("/api/v1/customers").status_code == 200
        assert len(mailoutbox) == 2


def test_a_notice_is_emailed_once_even_if_sent_twice(quota_org, in_org, mailoutbox):
    from apps.billing.services import quota_notice_send
    from apps.metering.models import QuotaNotice

    org = quota_org({"api_calls_per_minute": 1})
    in_org(org)
    notice = QuotaNotice.objects.create(
        kind="limit_reached",
        dimension="api_calls_per_minute",
        window_start=dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
        enforcement="notify",
        limit=1,
        used=2,
    )
    assert quota_notice_send(organization=org.organization, notice_id=str(notice.id)) is True
    assert quota_notice_send(organization=org.organization, notice_id=str(notice.id)) is False
    assert len(mailoutbox) == 1
    notice.refresh_from_db()
    assert notice.emailed_at is not None and notice.recipients == [org.owner.email]


def test_the_rollup_sends_notices_whose_email_task_was_lost(quota_org, in_org, mailoutbox, eager_tasks):
    from apps.billing.services import usage_rollup_all
    from apps.metering.models import QuotaNotice

    org = quota_org({"api_calls_per_minute": 1})
    in_org(org)
    notice = QuotaNotice.objects.create(
        kind="limit_reached",
        dimension="api_calls_per_minute",
        window_start=dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
        enforcement="notify",
        limit=1,
        used=2,
    )
    QuotaNotice.objects.filter(pk=notice.pk).update(created_at=dt.datetime.now(UTC) - dt.timedelta(minutes=5))
    usage_rollup_all()
    assert len(mailoutbox) == 1


# --- Customers --------------------------------------------------------------------------------------


def test_calls_for_a_customer_count_for_the_customer_and_the_organization(api, quota_org, customer_in):
    org = quota_org({"api_calls_per_minute": 100})
    customer_in(org, "cust-1")
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        for _ in range(3):
            api(org, customer="cust-1").get("/api/v1/customers")
        api(org).get("/api/v1/customers")
        usage = api(org).get("/api/v1/usage").json()
    assert usage["quotas"]["api_calls_per_minute"]["used"] == 4
    (customer,) = usage["customers"]
    assert customer["external_id"] == "cust-1" and customer["known"] is True
    assert customer["usage"]["api_calls"] == {"minute": 3, "day": 3}
    assert customer["quotas"]["api_calls_per_minute"]["limit"] is None


def test_a_customer_tier_limits_its_customers_and_only_them(api, quota_org, customer_in, system_actor, in_org):
    from apps.billing.services import customer_tier_create

    org = quota_org({"api_calls_per_minute": 100})
    customer_in(org, "small-1", tier="small")
    customer_in(org, "small-2", tier="small")
    customer_in(org, "big", tier="standard")
    in_org(org)
    customer_tier_create(
        actor=system_actor(org), slug="small", name="Small", limits={"api_calls_per_minute": 2}, enforcement={}
    )
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        assert [api(org, customer="small-1").get("/api/v1/customers").status_code for _ in range(3)] == [200, 200, 429]
        blocked = api(org, customer="small-1").get("/api/v1/customers")
        assert api(org, customer="small-2").get("/api/v1/customers").status_code == 200
        assert [api(org, customer="big").get("/api/v1/customers").status_code for _ in range(5)] == [200] * 5
    error = assert_error(blocked, 429, "quota_exceeded")
    assert error["details"]["scope"] == "customer"
    assert error["details"]["customer"] == "small-1"
    assert error["details"]["limit"] == 2 and error["details"]["used"] == 2
    assert "small-1" in error["message"]


def test_a_per_customer_override_replaces_its_tier_limit(api, quota_org, customer_in, system_actor, in_org):
    from apps.billing.services import customer_limits_set, customer_tier_create

    org = quota_org({"api_calls_per_minute": 100})
    customer_in(org, "vip", tier="small")
    customer_in(org, "regular", tier="small")
    in_org(org)
    customer_tier_create(
        actor=system_actor(org), slug="small", name="Small", limits={"api_calls_per_minute": 2}, enforcement={}
    )
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        for _ in range(2):
            api(org, customer="vip").get("/api/v1/customers")
        assert api(org, customer="vip").get("/api/v1/customers").status_code == 429
        # The owner raises this one customer's limit: it applies at once.
        in_org(org)  # each request leaves the connection in the public schema
        customer_limits_set(
            actor=system_actor(org), external_id="vip", limits={"api_calls_per_minute": 5}, enforcement={}
        )
        statuses = [api(org, customer="vip").get("/api/v1/customers").status_code for _ in range(4)]
        assert [api(org, customer="regular").get("/api/v1/customers").status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]
    assert statuses == [200, 200, 200, 429]


def test_an_override_can_lift_a_limit_or_change_its_mode(api, quota_org, customer_in, system_actor, in_org):
    from apps.billing.services import customer_limits_set, customer_tier_create

    org = quota_org({"api_calls_per_minute": 100})
    customer_in(org, "free-pass", tier="small")
    customer_in(org, "soft-one", tier="small")
    in_org(org)
    actor = system_actor(org)
    customer_tier_create(actor=actor, slug="small", name="Small", limits={"api_calls_per_minute": 1}, enforcement={})
    customer_limits_set(actor=actor, external_id="free-pass", limits={"api_calls_per_minute": None}, enforcement={})
    customer_limits_set(
        actor=actor,
        external_id="soft-one",
        limits={"api_calls_per_minute": 1},
        enforcement={"api_calls_per_minute": "soft"},
    )
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        assert [api(org, customer="free-pass").get("/api/v1/customers").status_code for _ in range(4)] == [200] * 4
        soft = [api(org, customer="soft-one").get("/api/v1/customers") for _ in range(3)]
    assert [r.status_code for r in soft] == [200, 200, 200]
    assert soft[-1]["X-Fastn-Quota-Soft"] == "api_calls_per_minute"


def test_organization_and_customer_limits_both_apply(api, quota_org, customer_in, system_actor, in_org):
    from apps.billing.services import customer_tier_create

    org = quota_org({"api_calls_per_minute": 3})
    customer_in(org, "roomy", tier="roomy")
    in_org(org)
    customer_tier_create(
        actor=system_actor(org), slug="roomy", name="Roomy", limits={"api_calls_per_minute": 50}, enforcement={}
    )
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        api(org).get("/api/v1/customers")
        api(org).get("/api/v1/customers")
        assert api(org, customer="roomy").get("/api/v1/customers").status_code == 200
        blocked = api(org, customer="roomy").get("/api/v1/customers")
        usage = api(org).get("/api/v1/usage").json()
    error = assert_error(blocked, 429)
    assert error["details"]["scope"] == "organization"
    # Nothing is counted for a refused call, at either level.
    assert usage["quotas"]["api_calls_per_minute"]["used"] == 3
    assert usage["customers"][0]["usage"]["api_calls"]["minute"] == 1


def test_an_unknown_customer_header_is_counted_for_the_organization_only(api, quota_org):
    org = quota_org({"api_calls_per_minute": 100})
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        api(org, customer="ghost").get("/api/v1/customers")
        usage = api(org).get("/api/v1/usage").json()
    assert usage["quotas"]["api_calls_per_minute"]["used"] == 1
    assert usage["customers"] == []


def test_a_customer_of_another_organization_gets_no_limits_here(api, quota_org, customer_in, system_actor, in_org):
    from apps.billing.services import customer_tier_create

    first = quota_org({"api_calls_per_minute": 100})
    second = quota_org({"api_calls_per_minute": 100})
    customer_in(first, "shared-name", tier="tiny")
    customer_in(second, "shared-name", tier="standard")
    in_org(first)
    customer_tier_create(
        actor=system_actor(first), slug="tiny", name="Tiny", limits={"api_calls_per_minute": 1}, enforcement={}
    )
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        assert api(first, customer="shared-name").get("/api/v1/customers").status_code == 200
        assert api(first, customer="shared-name").get("/api/v1/customers").status_code == 429
        assert [api(second, customer="shared-name").get("/api/v1/customers").status_code for _ in range(3)] == [200] * 3


def test_a_customer_header_longer_than_any_external_id_is_counted_for_the_organization_only(api, quota_org):
    org = quota_org({"api_calls_per_minute": 100})
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        response = api(org, customer="x" * 5000).get("/api/v1/customers")
        usage = api(org).get("/api/v1/usage").json()
    assert response.status_code == 200
    assert usage["quotas"]["api_calls_per_minute"]["used"] == 1 and usage["customers"] == []


def test_a_customer_notify_limit_emails_the_organizations_owners_once(
    api, quota_org, customer_in, system_actor, in_org, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    from apps.billing.services import customer_tier_create

    org = quota_org({"api_calls_per_minute": 100})
    customer_in(org, "chatty", tier="watched")
    in_org(org)
    customer_tier_create(
        actor=system_actor(org),
        slug="watched",
        name="Watched",
        limits={"api_calls_per_minute": 1},
        enforcement={"api_calls_per_minute": "notify"},
    )
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            statuses = [api(org, customer="chatty").get("/api/v1/customers").status_code for _ in range(4)]
    assert statuses == [200] * 4
    (message,) = mailoutbox
    assert message.to == [org.owner.email]
    assert "customer chatty" in message.subject
