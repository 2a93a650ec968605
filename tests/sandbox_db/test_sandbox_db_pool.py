"""The per-process connection pool: reuse, bounds, LRU, concurrency, logins."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from psycopg import sql

from apps.workflows.sandbox_db import SandboxDbError, sandbox_execute, sandbox_query
from apps.workflows.sandbox_db.admin import admin_connection
from apps.workflows.sandbox_db.roles import credentials_forget, sandbox_role_name
from tests.sandbox_db.conftest import soon


def query(scope, sql_text, params=None, seconds=10.0):
    return sandbox_query(scope, sql_text, params or [], deadline=soon(seconds))


def execute(scope, sql_text, params=None):
    return sandbox_execute(scope, sql_text, params or [], deadline=soon())


def backends_of(role: str) -> int:
    with admin_connection("default") as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", [role]).fetchone()[0]


def test_a_run_reuses_one_connection(scope_factory, fresh_pool):
    scope = scope_factory(customer=True)
    execute(scope, "CREATE TABLE t (a int)")
    for i in range(50):
        execute(scope, "INSERT INTO t VALUES ($1)", [i])
        query(scope, "SELECT count(*) AS n FROM t")
    stats = fresh_pool().stats()
    assert stats["created"] == 1
    assert stats["reused"] == 100
    assert backends_of(sandbox_role_name(scope)) == 1


def test_least_recently_used_role_makes_room_when_the_pool_is_full(scope_factory, fresh_pool, settings):
    settings.FASTN_SANDBOX_DB_POOL_SIZE = 2
    a, b, c = (scope_factory(customer=True) for _ in range(3))
    query(a, "SELECT 1")
    query(b, "SELECT 1")
    query(a, "SELECT 1")  # b is now the least recently used
    query(c, "SELECT 1")
    stats = fresh_pool().stats()
    assert stats["open"] == 2 and stats["created"] == 3 and stats["closed"] == 1
    assert backends_of(sandbox_role_name(b)) == 0
    assert backends_of(sandbox_role_name(a)) == 1


def test_a_full_pool_of_busy_connections_waits_then_times_out(scope_factory, fresh_pool, settings):
    settings.FASTN_SANDBOX_DB_POOL_SIZE = 1
    a, b = scope_factory(customer=True), scope_factory(customer=True)
    query(b, "SELECT 1")
    started = threading.Event()

    def hold():
        started.set()
        query(a, "SELECT pg_sleep(0.6)")

    with ThreadPoolExecutor(1) as executor:
        holder = executor.submit(hold)
        started.wait()
        time.sleep(0.1)
        with pytest.raises(SandboxDbError) as caught:
            query(b, "SELECT 1", seconds=0.2)
        assert caught.value.code == "statement_timeout"
        # Given time, the waiter gets the connection once it is returned.
        assert query(b, "SELECT 2 AS two", seconds=5) == [{"two": 2}]
        holder.result()


def test_idle_connections_are_closed_after_the_idle_time(scope_factory, fresh_pool, settings):
    settings.FASTN_SANDBOX_DB_IDLE_SECONDS = 0.2
    a, b = scope_factory(customer=True), scope_factory(customer=True)
    query(a, "SELECT 1")
    time.sleep(0.3)
    query(b, "SELECT 1")
    assert backends_of(sandbox_role_name(a)) == 0


def test_concurrent_runs_of_several_scopes_stay_apart(scope_factory, fresh_pool, settings):
    settings.FASTN_SANDBOX_DB_POOL_SIZE = 4
    scopes = [scope_factory(customer=True) for _ in range(3)]
    for scope in scopes:
        execute(scope, "CREATE TABLE seen (owner text, n int)")

    def work(index: int) -> None:
        scope = scopes[index % len(scopes)]
        owner = sandbox_role_name(scope)
        for n in range(15):
            execute(scope, "INSERT INTO seen VALUES ($1, $2)", [owner, n])
            rows = query(scope, "SELECT DISTINCT owner FROM seen")
            assert rows == [{"owner": owner}]

    with ThreadPoolExecutor(8) as executor:
        list(executor.map(work, range(8)))
    for index, scope in enumerate(scopes):
        writers = sum(1 for i in range(8) if i % len(scopes) == index)
        assert query(scope, "SELECT count(*) AS n FROM seen") == [{"n": writers * 15}]
    stats = fresh_pool().stats()
    assert stats["open"] <= 4
    assert stats["created"] < 8 * 15


def test_concurrent_first_use_creates_the_role_once(scope_factory, fresh_pool):
    scope = scope_factory(customer=True)
    with ThreadPoolExecutor(6) as executor:
        results = list(executor.map(lambda _: query(scope, "SELECT current_user AS u"), range(6)))
    assert {r[0]["u"] for r in results} == {sandbox_role_name(scope)}


def test_a_changed_password_is_reset_on_the_next_login(scope_factory, fresh_pool):
    scope = scope_factory(customer=True)
    query(scope, "SELECT 1")
    role = sandbox_role_name(scope)
    with admin_connection("default") as conn:
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD 'changed-elsewhere'").format(sql.Identifier(role)))
    fresh_pool().discard_role("default", role)
    _require_password_auth(role)
    assert query(scope, "SELECT 1 AS one") == [{"one": 1}]


def test_an_unreadable_stored_password_is_replaced(scope_factory, fresh_pool):
    scope = scope_factory(customer=True)
    query(scope, "SELECT 1")
    role = sandbox_role_name(scope)
    with admin_connection("default") as conn:
        conn.execute("UPDATE fastn_sandbox.sandbox SET password_encrypted = 'garbage' WHERE role_name = %s", [role])
    credentials_forget(scope)
    fresh_pool().discard_role("default", role)
    assert query(scope, "SELECT 1 AS one") == [{"one": 1}]
    with admin_connection("default") as conn:
        stored = conn.execute(
            "SELECT password_encrypted FROM fastn_sandbox.sandbox WHERE role_name = %s", [role]
        ).fetchone()[0]
    assert stored != "garbage"


def test_a_role_dropped_by_hand_is_recreated(scope_factory, fresh_pool):
    scope = scope_factory(customer=True)
    execute(scope, "CREATE TABLE t (a int)")
    role = sandbox_role_name(scope)
    fresh_pool().discard_role("default", role)
    with admin_connection("default") as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    _require_password_auth(role, must_exist=False)
    assert query(scope, "SELECT current_user AS u") == [{"u": role}]


def test_the_roles_connection_limit_is_a_clean_retryable_error(scope_factory, fresh_pool, settings):
    settings.FASTN_SANDBOX_DB_ROLE_CONNECTION_LIMIT = 1
    scope = scope_factory(customer=True)
    started = threading.Event()

    def hold():
        started.set()
        query(scope, "SELECT pg_sleep(0.5)")

    with ThreadPoolExecutor(1) as executor:
        holder = executor.submit(hold)
        started.wait()
        time.sleep(0.15)
        with pytest.raises(SandboxDbError) as caught:
            query(scope, "SELECT 1")
        holder.result()
    assert caught.value.code == "too_many_connections" and caught.value.retryable


def _require_password_auth(role: str, must_exist: bool = True) -> None:
    """On servers that trust local logins a wrong password still logs in: the
    reset path is then exercised only when the role is gone."""
    from apps.workflows.sandbox_db.admin import server_params

    try:
        psycopg.connect(**server_params("default"), user=role, password="surely-wrong", connect_timeout=3).close()
    except psycopg.OperationalError:
        return
    if must_exist:
        pytest.skip("this PostgreSQL trusts local connections: passwords are not checked")


def test_rotating_encryption_keys_re_encrypts_role_passwords(scope_factory, fresh_pool, settings):
    from cryptography.fernet import Fernet

    from apps.workflows.sandbox_db.roles import sandbox_rotate_encryption

    scope = scope_factory(customer=True)
    query(scope, "SELECT 1")
    role = sandbox_role_name(scope)
    settings.FASTN_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.FASTN_ENCRYPTION_KEYS]
    assert sandbox_rotate_encryption() >= 1
    settings.FASTN_ENCRYPTION_KEYS = settings.FASTN_ENCRYPTION_KEYS[:1]  # only the new key left
    credentials_forget(scope)
    fresh_pool().discard_role("default", role)
    assert query(scope, "SELECT current_user AS u") == [{"u": role}]
    with admin_connection("default") as conn:
        token = conn.execute(
            "SELECT password_encrypted FROM fastn_sandbox.sandbox WHERE role_name = %s", [role]
        ).fetchone()[0]
    from apps.core import crypto

    assert crypto.decrypt(token)
