"""Fixtures of the billing tests: plans and organizations of their own, a real server."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def make_org(db, spare_orgs):
    """make_org(plan="free", timezone_name="UTC") → an organization of the test's own.

    Billing tests need organizations whose counters start at zero. Cloning a
    schema per test is slow, so this hands out the session's spare
    organizations (up to three per test): their plan and time zone are set
    inside the test's transaction (rolled back), their Redis counters are
    deleted, and this process's cached limits are forgotten.
    """
    from apps.billing import counters, limits
    from apps.core.models import Organization

    handed: list = []

    def make(*, plan: str = "unlimited", timezone_name: str = "UTC", name: str | None = None):
        from apps.billing.models import Plan

        if len(handed) == len(spare_orgs):
            raise RuntimeError(f"A billing test may use at most {len(spare_orgs)} organizations.")
        spare = spare_orgs[len(handed)]
        Organization.objects.filter(pk=spare.organization.pk).update(
            plan=Plan.objects.get(slug=plan), timezone=timezone_name
        )
        counters.delete_organization_counters(spare.organization.pk)
        limits.forget(spare.organization)
        organization = Organization.objects.select_related("plan").get(pk=spare.organization.pk)
        org = dataclasses.replace(spare, organization=organization)
        handed.append(org)
        return org

    yield make
    for org in handed:
        counters.delete_organization_counters(org.organization.pk)


@pytest.fixture
def make_plan(db):
    """make_plan({"api_calls_per_minute": 3}, enforcement="soft") → a Plan of the test's own."""
    from tests.factories import PlanFactory

    def make(limits: dict, *, enforcement: str = "hard_block", enforcements: dict | None = None, credits=100):
        return PlanFactory(
            limits=limits, enforcement=enforcement, enforcements=enforcements or {}, monthly_credits=credits
        )

    return make


@pytest.fixture
def quota_org(make_org, make_plan):
    """quota_org({"api_calls_per_minute": 3}, enforcement=..., timezone_name=...) → a fresh
    organization on a plan with those limits (other dimensions unlimited)."""

    def make(limits: dict, *, enforcement: str = "hard_block", enforcements=None, timezone_name="UTC", credits=100):
        plan = make_plan(limits, enforcement=enforcement, enforcements=enforcements, credits=credits)
        return make_org(plan=plan.slug, timezone_name=timezone_name)

    return make


@pytest.fixture
def add_member(db):
    """add_member(org, "admin") → a User with that role in the organization."""
    from tests.factories import MembershipFactory

    def add(org, role: str, email: str | None = None, password: str = "correct-horse-battery"):
        email = email or f"{role}-{uuid.uuid4().hex[:6]}@{org.slug}.test"
        return MembershipFactory(org=org, role=role, user__email=email, user__password=password).user

    return add


@pytest.fixture
def customer_in(db):
    """customer_in(org, "cust-1", tier="standard") → a Customer in the organization's schema."""
    from tests.factories import CustomerFactory

    def make(org, external_id: str, tier: str = "standard"):
        return CustomerFactory(org=org, external_id=external_id, name=external_id.title(), tier=tier)

    return make


@pytest.fixture
def system_actor():
    """system_actor(org) → a system Principal of the organization (for calling services)."""
    from apps.accounts.principals import Principal

    return lambda org: Principal.system(organization=org.organization, label="test")


@pytest.fixture
def redis_counter():
    """redis_counter(org, meter, window_token, field="o") → a counter as the quota script keeps it."""
    from apps.billing import counters

    def read(org, meter: str, window_token: str, field: str = "o") -> int:
        value = counters.client().hget(counters.hash_key(org.organization.pk, meter, window_token), field)
        return int(value or 0)

    return read


@pytest.fixture(scope="module")
def gunicorn_url(django_db_setup, django_db_blocker):
    """A real gunicorn (2 processes × 8 threads) on the test database and this
    process's Redis prefix. Bounded threads keep PostgreSQL connections few."""
    from tests.conftest import gunicorn_server

    with gunicorn_server(django_db_blocker, workers=2, threads=8) as url:
        yield url


@pytest.fixture
def owner_api(api, role_key):
    """owner_api(org, customer=None) → an API client with an Owner key (default keys act as Admin)."""
    keys: dict = {}

    def make(org, *, customer: str | None = None):
        if org.slug not in keys:
            keys[org.slug] = role_key(org, "owner", "live")
        return api(org, key=keys[org.slug], customer=customer)

    return make
