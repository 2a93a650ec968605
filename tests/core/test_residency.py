"""Data residency: regions map to database aliases through settings."""

from types import SimpleNamespace

from apps.core.residency import check_region_databases, customer_database, region_database, region_databases


def test_with_one_database_every_region_shares_it():
    assert region_databases() == {"us": "default", "eu": "default", "apac": "default"}
    assert customer_database(SimpleNamespace(region="eu")) == "default"


def test_regions_map_to_configured_aliases(settings, monkeypatch):
    # An "eu" alias as FASTN_REGION_DATABASE_URLS would add (never connected to here).
    monkeypatch.setitem(settings.DATABASES, "eu", dict(settings.DATABASES["default"]))
    settings.FASTN_REGION_DATABASES = {"us": "default", "eu": "eu", "apac": "eu"}
    assert region_database("eu") == "eu" and region_database("apac") == "eu"
    assert customer_database(SimpleNamespace(region="apac")) == "eu"
    assert region_database("mars") == "default"
    assert check_region_databases() == []


def test_a_mapping_to_a_missing_database_fails_the_system_check(settings):
    settings.FASTN_REGION_DATABASES = {"eu": "eu-db", "moon": "default"}
    ids = {error.id for error in check_region_databases()}
    assert ids == {"fastn.E101", "fastn.E102"}
