"""Organizations found by account id are cached briefly; changes made through
the services drop the entry at once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import tenancy

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_on(settings):
    settings.FASTN_TENANT_CACHE_SECONDS = 30
    tenancy._by_account.clear()
    tenancy._fresh.checked_at = float("-inf")
    yield
    tenancy._by_account.clear()


def test_a_second_lookup_costs_no_query(org_a, cache_on):
    assert tenancy.organization_by_account_id(org_a.account_id).pk == org_a.organization.pk
    with CaptureQueriesContext(connection) as queries:
        assert tenancy.organization_by_account_id(org_a.account_id).pk == org_a.organization.pk
    assert len(queries) == 0


def test_an_update_through_the_service_is_seen_at_once(org_a, cache_on):
    from apps.accounts.principals import Principal
    from apps.accounts.services import organization_update

    tenancy.organization_by_account_id(org_a.account_id)
    organization_update(actor=Principal.system(organization=org_a.organization), timezone_name="Asia/Tokyo")
    assert tenancy.organization_by_account_id(org_a.account_id).timezone == "Asia/Tokyo"


def test_unknown_accounts_are_not_cached(cache_on):
    assert tenancy.organization_by_account_id("00000000-0000-0000-0000-000000000000") is None
    assert tenancy._by_account == {}
