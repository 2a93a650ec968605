"""Fixtures for fastn.db tests: scopes that are dropped afterwards, and a way to
run SQL as a scope's role *without* the statement policy, to show that the
privileges alone hold."""

from __future__ import annotations

import itertools
import random
import time
import uuid
from contextlib import contextmanager

import pytest

_org_ids = itertools.count(random.randint(10_000_000, 90_000_000))


def soon(seconds: float = 10.0) -> float:
    return time.monotonic() + seconds


@pytest.fixture
def scope_factory(db):
    """scope_factory(org_id=None, customer=False) → a SandboxScope dropped after the test.

    customer=True gives a new customer's scope, customer=<uuid> that customer's,
    customer=False the organization's own scope. It requests `db` so that
    pytest-django sets up the test database even when no other test does.
    """
    from apps.workflows.sandbox_db import SandboxScope, sandbox_drop_organization

    orgs: set[int] = set()

    def make(org_id: int | None = None, customer=False, database: str = "default"):
        org_id = org_id if org_id is not None else next(_org_ids)
        orgs.add(org_id)
        if customer is True:
            customer = uuid.uuid4()
        return SandboxScope.for_customer(org_id, customer or None, database)

    yield make
    for org_id in orgs:
        sandbox_drop_organization(org_id)


@pytest.fixture
def raw_sql(scope_factory):
    """raw_sql(scope) → a context manager yielding run(sql, params=()) that runs
    on a pooled connection of the scope's role, bypassing the statement policy."""
    from apps.workflows.sandbox_db.pool import get_pool
    from apps.workflows.sandbox_db.roles import sandbox_credentials
    from apps.workflows.sandbox_db.statement import run_statement

    @contextmanager
    def session(scope):
        pool = get_pool()
        pooled = pool.acquire(sandbox_credentials(scope), deadline=soon())

        def run(sql: str, params=(), *, seconds: float = 10.0):
            rows, _ = run_statement(
                pooled,
                sql,
                list(params),
                deadline=soon(seconds),
                want_rows=True,
                max_rows=10_000,
                max_bytes=10_000_000,
            )
            return rows

        try:
            yield run
        finally:
            pool.release(pooled)

    return session


@pytest.fixture
def fresh_pool(settings):
    """A pool of its own for the test (with the test's settings), closed afterwards."""
    from apps.workflows.sandbox_db.pool import get_pool, pool_reset

    pool_reset()
    yield get_pool
    pool_reset()
