"""Data residency: which database holds a customer's customer-scoped rows.

A customer's `region` (us, eu, apac) maps, through the setting
`FASTN_REGION_DATABASES`, to a database alias of `DATABASES`. Customer-scoped
rows (connections, executions, state, events, traces) and the customer's
fastn.db schema are written with `.using(customer_database(customer))` and
scoped with `customer_scope(customer.id, using=...)`. With one database
configured, every region maps to "default" and all of this is a no-op.

Running one database per region
-------------------------------

1. Give each region its own PostgreSQL server and list it in the environment::

       FASTN_REGION_DATABASE_URLS="eu=postgres://fastn@db.eu.internal/fastn,apac=postgres://fastn@db.ap.internal/fastn"

   Each entry becomes a database alias named after the region; a region
   without an entry keeps using "default". `FASTN_REGION_DATABASE_<REGION>`
   overrides one mapping (e.g. `FASTN_REGION_DATABASE_APAC=eu` to keep APAC
   data in the EU database).
2. Create the organizations' schemas in every regional database as in the
   main one: `python manage.py migrate_schemas --database eu` (django-tenants
   migrates the public schema and every organization's schema there; the
   organizations themselves stay listed in "default").
3. Organization-wide data (workflows, connectors, settings, the audit log,
   users) stays in "default"; only rows keyed by a customer move. Code that
   reads a customer's rows picks the alias from this module, never from the
   customer's region string.

`check_region_databases()` runs as a Django system check: a mapping to an
alias that is not configured stops the server at start-up.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

REGIONS = ("us", "eu", "apac")


def region_database(region: str) -> str:
    """The database alias for a region; unknown regions use "default"."""
    mapping = getattr(settings, "FASTN_REGION_DATABASES", {}) or {}
    alias = mapping.get(region, "default")
    return alias if alias in settings.DATABASES else "default"


def customer_database(customer) -> str:
    """The database alias holding this customer's customer-scoped rows."""
    return region_database(getattr(customer, "region", "") or "")


def region_databases() -> dict[str, str]:
    """Every region and its alias (for the admin and the docs)."""
    return {region: region_database(region) for region in REGIONS}


@register()
def check_region_databases(app_configs=None, **kwargs):
    errors = []
    mapping = getattr(settings, "FASTN_REGION_DATABASES", {}) or {}
    for region, alias in mapping.items():
        if region not in REGIONS:
            errors.append(Error(f"FASTN_REGION_DATABASES names an unknown region {region!r}.", id="fastn.E101"))
        if alias not in settings.DATABASES:
            errors.append(
                Error(
                    f"FASTN_REGION_DATABASES maps region {region!r} to database {alias!r}, "
                    "which is not in DATABASES (set FASTN_REGION_DATABASE_URLS).",
                    id="fastn.E102",
                )
            )
    return errors
