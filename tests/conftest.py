"""Shared fixtures: organizations, principals, API clients, real services.

Imports of Django code stay inside fixtures, so that the pure test packages
(runtime, connectors) also run with `-p no:django`.

Data is made with the factories of tests/factories.py (through the
product's services). Two organizations, Alpha and Beta, are created once per
test process and committed; each test runs in a transaction inside them that is rolled back.
Tests that need committed data (real Celery workers, the browser) use
`live_org` instead, which creates and drops an organization of its own.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.factories import ApiKeyFactory, OrganizationFactory, OrgFixture

ROOT = Path(__file__).resolve().parent.parent
WORKERS_START_SECONDS = 120


def pytest_collection_modifyitems(config, items):
    """The smoke test of `make run` (tests/smoke) is minutes of mostly waiting
    on its own stack: start it first, so that under xdist it runs beside the
    rest of the suite instead of after it."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("smoke") else 1)


@pytest.fixture(scope="session")
def django_db_setup(request, django_db_setup, django_db_blocker, django_db_keepdb, django_db_createdb):
    """pytest-django's test database, plus two things it does not do.

    pytest-django sets the database up only when a collected test asks for
    `db` or the django_db marker. A run of only `live_org` / `celery_workers`
    tests (committed data, no transaction; the browser tests run alone) would
    otherwise talk to the development database named in DATABASE_URL: the
    test database is set up here in that case too.

    And a clean end: fastn.db roles are dropped (roles belong to the whole
    cluster), and sessions that worker processes or server threads left open
    are ended before the database is dropped.
    """
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    own_setup = None
    if connection.settings_dict["NAME"] != connection.creation._get_test_db_name():
        with django_db_blocker.unblock():
            own_setup = setup_databases(
                verbosity=request.config.option.verbose,
                interactive=False,
                aliases={"default"},
                keepdb=django_db_keepdb and not django_db_createdb,
            )
    yield

    with django_db_blocker.unblock():
        _sandbox_db_cleanup()
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        connection.close()
        if own_setup is not None and not django_db_keepdb:
            teardown_databases(own_setup, verbosity=request.config.option.verbose)


def _sandbox_db_cleanup() -> None:
    """Drop the fastn.db roles this test database created: roles belong to the
    whole PostgreSQL cluster and would outlive the dropped database."""
    from apps.workflows.sandbox_db import sandbox_drop_all, sandbox_prune_orphan_roles
    from apps.workflows.sandbox_db.admin import admin_close_all
    from apps.workflows.sandbox_db.pool import pool_reset

    pool_reset()
    sandbox_drop_all()
    sandbox_prune_orphan_roles()
    admin_close_all()


@pytest.fixture(scope="session", autouse=True)
def _quota_counters_dropped_at_end():
    """Quota counters of this test process (its own Redis prefix) are removed
    when the session ends; levels and limits versions never expire."""
    yield
    try:
        from django.conf import settings

        from apps.core.redis import get_redis

        client = get_redis()
        names = list(client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}:quota:*", count=1000))
        for start in range(0, len(names), 500):
            client.delete(*names[start : start + 500])
    except Exception:  # noqa: BLE001 - pure tests have no Django; Redis may be gone
        pass


@pytest.fixture(scope="session")
def org_a(django_db_setup, django_db_blocker) -> OrgFixture:
    with django_db_blocker.unblock():
        return OrganizationFactory(name="Alpha Corp", owner_email="owner@alpha.test")


@pytest.fixture(scope="session")
def org_b(django_db_setup, django_db_blocker) -> OrgFixture:
    with django_db_blocker.unblock():
        return OrganizationFactory(name="Beta Corp", owner_email="owner@beta.test")


@pytest.fixture(scope="session")
def spare_orgs(django_db_setup, django_db_blocker) -> list[OrgFixture]:
    """Three committed organizations that tests may reconfigure inside their
    transaction (plan, time zone: rolled back), for tests that need
    organizations of their own without paying for a new schema each time."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with django_db_blocker.unblock():
        return [
            OrganizationFactory(name=f"Spare {worker} {i}", owner_email=f"owner-spare-{worker}-{i}@spare.test")
            for i in range(3)
        ]


@pytest.fixture(autouse=True)
def _public_schema_after_test():
    yield
    try:
        # Grants made inside a rolled-back test transaction are gone: forget
        # them even if a test ran its on-commit callbacks by hand.
        from apps.core import rls

        rls._granted.clear()
    except Exception:  # noqa: BLE001 - pure tests have no Django
        pass
    try:
        from django.db import connection

        connection.set_schema_to_public()
    except Exception:  # noqa: BLE001 - pure tests have no Django
        pass


@pytest.fixture(autouse=True)
def _fresh_quota_state():
    """Quota limits cached by this process, and its Redis circuit breaker,
    must not leak from one test into the next (rolled-back customers and
    tiers come back with the same names)."""
    try:
        from apps.billing import limits, services
    except Exception:  # noqa: BLE001 - pure tests have no Django
        yield
        return
    limits.clear()
    services.reset_state()
    yield
    limits.clear()
    services.reset_state()


@pytest.fixture
def make_org(db):
    """make_org(plan="free", timezone_name="UTC") → an organization of the test's own,
    inside the test's transaction (rolled back; its Redis counters are new)."""

    def make(*, plan: str = "unlimited", timezone_name: str = "UTC", name: str | None = None) -> OrgFixture:
        named = {"name": name} if name else {}
        return OrganizationFactory(plan=plan, timezone_name=timezone_name, **named)

    return make


@pytest.fixture
def in_org():
    """Enter an organization's schema for the rest of the test: in_org(org_a)."""
    from django.db import connection

    def enter(org: OrgFixture):
        connection.set_tenant(org.organization)
        return org.organization

    return enter


class ApiClient:
    """A DRF test client that sends Fastn's headers on every call."""

    def __init__(self, account_id: str | None, key: str | None, customer: str | None = None):
        from rest_framework.test import APIClient

        self.client = APIClient()
        self.headers: dict[str, str] = {}
        if account_id:
            self.headers["HTTP_X_FASTN_ACCOUNT_ID"] = account_id
        if key:
            self.headers["HTTP_X_FASTN_ACCESS_KEY"] = key
        if customer:
            self.headers["HTTP_X_FASTN_ACCOUNT_TENANT_ID"] = customer

    def _call(self, method: str, path: str, data=None, raw: bytes | str | None = None, **extra):
        content_type = extra.pop("content_type", "application/json")
        headers = {**self.headers, **extra}
        fn = getattr(self.client, method)
        if raw is not None:
            return fn(path, data=raw, content_type=content_type, **headers)
        if data is None:
            return fn(path, **headers)
        return fn(path, data=data, format="json", **headers)

    def get(self, path, data=None, **extra):
        headers = {**self.headers, **extra}
        return self.client.get(path, data=data, **headers)

    def post(self, path, data=None, **extra):
        return self._call("post", path, data, **extra)

    def put(self, path, data=None, **extra):
        return self._call("put", path, data, **extra)

    def patch(self, path, data=None, **extra):
        return self._call("patch", path, data, **extra)

    def delete(self, path, **extra):
        return self._call("delete", path, **extra)


@pytest.fixture
def api():
    """api(org_fixture, key=None, customer=None) → ApiClient; key defaults to the org's Live key."""

    def make(org: OrgFixture | None = None, *, key: str | None = None, customer: str | None = None, account=None):
        account_id = account if account is not None else (org.account_id if org else None)
        raw = key if key is not None else (org.keys["live"] if org else None)
        return ApiClient(account_id, raw, customer)

    return make


@pytest.fixture
def role_key(db):
    """role_key(org_fixture, role, kind="test") → a raw API key acting with that role."""

    def make(org: OrgFixture, role: str, kind: str = "test") -> str:
        return ApiKeyFactory(org=org, role=role, kind=kind).raw

    return make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def own_redis():
    """A Redis server of the test's own, on a free port; stop() and start() it."""

    class OwnRedis:
        def __init__(self) -> None:
            self.port = free_port()
            self.proc: subprocess.Popen | None = None

        @property
        def url(self) -> str:
            return f"redis://127.0.0.1:{self.port}/0"

        def start(self) -> None:
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                with socket.socket() as sock:
                    if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                        return
                time.sleep(0.02)
            raise RuntimeError("redis-server did not start")

        def stop(self) -> None:
            if self.proc is not None:
                self.proc.terminate()
                self.proc.wait(5)
                self.proc = None

    server = OwnRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_org(django_db_setup, django_db_blocker):
    """A committed organization of the test's own, dropped afterwards.

    For tests whose other processes (Celery workers, a browser through a live
    server) must see the data. The test body runs outside any transaction.
    """
    created: list[OrgFixture] = []
    with django_db_blocker.unblock():
        from django.db import connection as _conn

        assert not _conn.in_atomic_block, f"a transaction is open before the test: {_conn.savepoint_ids}"

        def make(name: str | None = None, *, plan: str = "unlimited", timezone_name: str = "UTC") -> OrgFixture:
            suffix = uuid.uuid4().hex[:8]
            org = OrganizationFactory(
                name=name or f"Live {suffix}",
                owner_email=f"owner-{suffix}@live.test",
                plan=plan,
                timezone_name=timezone_name,
            )
            created.append(org)
            return org

        yield make
        from django.db import connection

        connection.set_schema_to_public()
        for org in created:
            org.organization.delete(force_drop=True)
            org.owner.delete()


@contextlib.contextmanager
def gunicorn_server(django_db_blocker, *, workers: int = 2, threads: int = 8, env: dict | None = None):
    """A real gunicorn serving the test database with this process's Redis
    prefix (the URL), stopped on exit. `env` adds settings of its own."""
    from django.conf import settings

    with django_db_blocker.unblock():
        database_url = _test_database_url()
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "fastn.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "fastn.settings.test",
            "DATABASE_URL": database_url,
            "FASTN_REDIS_PREFIX": settings.REDIS_KEY_PREFIX,
            "FASTN_REDIS_PREFIX_FOR": os.environ.get("PYTEST_XDIST_WORKER", "main"),
            "REDIS_URL": settings.REDIS_URL,
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        },
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _test_database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture(scope="session")
def celery_workers(django_db_setup, django_db_blocker):
    """Real Celery worker processes, one per tier queue, on the test database.

    They share this test process's Redis key prefix, so parallel test
    processes never take each other's tasks.
    """
    from django.conf import settings

    with django_db_blocker.unblock():
        database_url = _test_database_url()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fastn.settings.test",
        "DATABASE_URL": database_url,
        "FASTN_REDIS_PREFIX": settings.REDIS_KEY_PREFIX,
        "FASTN_REDIS_PREFIX_FOR": os.environ.get("PYTEST_XDIST_WORKER", "main"),
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONUNBUFFERED": "1",
        # Workflows in these workers call fake providers on loopback (the SSRF
        # guard itself is tested directly, with private addresses refused).
        "FASTN_ALLOW_PRIVATE_NETWORK": "true",
    }
    procs = []
    log_dir = Path(os.environ.get("FASTN_TEST_LOG_DIR", "/tmp/fastn-test-logs"))
    log_dir.mkdir(parents=True, exist_ok=True)
    for queue in ("instant", "standard", "long"):
        log = open(log_dir / f"celery-{settings.REDIS_KEY_PREFIX}-{queue}.log", "wb")  # noqa: SIM115
        limits = settings.CELERY_QUEUE_TIME_LIMITS[queue]
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "fastn",
                    "worker",
                    "-Q",
                    queue,
                    "-n",
                    f"{queue}-{uuid.uuid4().hex[:6]}@%h",
                    "-c",
                    "2",
                    "--pool",
                    "prefork",
                    "--without-gossip",
                    "--without-mingle",
                    "--soft-time-limit",
                    str(limits["soft"]),
                    "--time-limit",
                    str(limits["hard"]),
                    "--loglevel",
                    "INFO",
                    "--include",
                    "tests.support_tasks",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    from fastn.celery import app

    # Importing Django and the apps takes a worker ~2 s of CPU; on a busy
    # machine (CI, or several test runs sharing two cores) three of them
    # starting at once need far more than that in wall time.
    deadline = time.monotonic() + WORKERS_START_SECONDS
    while time.monotonic() < deadline:
        replies = app.control.inspect(timeout=0.5).active_queues() or {}
        served = {q["name"] for queues in replies.values() for q in queues}
        if {"instant", "standard", "long"} <= served:
            break
        time.sleep(0.2)
    else:
        for proc in procs:
            proc.kill()
        raise RuntimeError(f"Celery workers did not come up within {WORKERS_START_SECONDS} s")
    yield procs
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
