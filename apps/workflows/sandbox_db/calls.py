"""`fastn.db.query` and `fastn.db.execute`: policy, storage cap, pool, statement."""

from __future__ import annotations

import threading
import time

from django.conf import settings

from .exceptions import SandboxDbError
from .policy import statement_check
from .pool import LoginFailed, get_pool
from .roles import sandbox_credentials, sandbox_password_reset, sandbox_role_name, sandbox_storage_bytes
from .scope import SandboxScope
from .statement import run_statement
from .values import params_to_postgres

# How long a measured schema size is trusted before writes measure it again.
STORAGE_CHECK_SECONDS = 10.0


def _setting(name: str, default):
    return getattr(settings, name, default)


def sandbox_query(scope: SandboxScope, sql: str, params: list | None, *, deadline: float) -> list[dict]:
    """Rows of one statement as JSON-safe objects (at most the row and byte caps)."""
    rows, _ = _call(scope, sql, params, deadline=deadline, want_rows=True)
    return rows


def sandbox_execute(scope: SandboxScope, sql: str, params: list | None, *, deadline: float) -> dict:
    """`{"rowCount": n}`: rows inserted, updated, deleted or selected; 0 for DDL."""
    _, row_count = _call(scope, sql, params, deadline=deadline, want_rows=False)
    return {"rowCount": row_count}


def _call(scope: SandboxScope, sql: str, params, *, deadline: float, want_rows: bool) -> tuple[list[dict], int]:
    if time.monotonic() >= deadline:
        raise SandboxDbError("The execution's time limit was reached before the statement ran.", "statement_timeout")
    values = params_to_postgres(params)
    info = statement_check(sql, sandbox_role_name(scope))
    credentials = sandbox_credentials(scope)
    if info.writes:
        _storage_check(scope)
    pool = get_pool()
    try:
        pooled = pool.acquire(credentials, deadline=deadline)
    except LoginFailed:
        # The stored password no longer works (changed, keys lost, role
        # dropped by hand): set a new one and try once more.
        credentials = sandbox_password_reset(scope)
        try:
            pooled = pool.acquire(credentials, deadline=deadline)
        except LoginFailed:
            raise SandboxDbError("The workflow database refused the login.", "database_unavailable") from None
    try:
        return run_statement(
            pooled,
            sql,
            values,
            deadline=deadline,
            want_rows=want_rows,
            max_rows=int(_setting("FASTN_SANDBOX_DB_MAX_ROWS", 10_000)),
            max_bytes=int(_setting("FASTN_SANDBOX_DB_MAX_RESULT_BYTES", 10 * 1024 * 1024)),
        )
    finally:
        pool.release(pooled)


_sizes: dict[SandboxScope, tuple[int, float]] = {}
_sizes_lock = threading.Lock()


def _storage_check(scope: SandboxScope) -> None:
    """Refuse statements that may grow a schema already over its cap.

    The size is measured at most every STORAGE_CHECK_SECONDS per scope and
    process, so a burst of writes may pass the cap by what it writes in that
    time. DELETE, TRUNCATE and DROP always run, so space can be freed (DELETE
    frees it for reuse once vacuumed; TRUNCATE and DROP give it back at once).
    """
    cap = int(_setting("FASTN_SANDBOX_DB_MAX_SCHEMA_BYTES", 1024**3))
    if cap <= 0:
        return
    now = time.monotonic()
    with _sizes_lock:
        known = _sizes.get(scope)
    if known is None or now - known[1] > STORAGE_CHECK_SECONDS:
        known = (sandbox_storage_bytes(scope), now)
        with _sizes_lock:
            _sizes[scope] = known
    if known[0] > cap:
        raise SandboxDbError(
            f"The database is full: it uses {known[0] / 1_048_576:.1f} MB of {cap / 1_048_576:.0f} MB. "
            "Delete rows (or TRUNCATE or DROP tables) to write again.",
            "storage_quota_exceeded",
        )


def storage_cache_forget(scope: SandboxScope | None = None) -> None:
    with _sizes_lock:
        if scope is None:
            _sizes.clear()
        else:
            _sizes.pop(scope, None)
