"""A small per-process pool of connections logged in as sandbox roles.

Keyed by (database alias, role): a connection only ever serves the role it
logged in as. Bounded in total (`FASTN_SANDBOX_DB_POOL_SIZE`), least recently
used roles' idle connections are closed first when a new role needs room,
idle connections close after `FASTN_SANDBOX_DB_IDLE_SECONDS` and every
connection after `FASTN_SANDBOX_DB_MAX_LIFETIME_SECONDS`. A connection is
lent to one thread at a time. Thread-safe; after a fork the child starts
with an empty pool (psycopg never closes a parent's socket from a child).

Every session is configured in its startup packet — these win over any
per-role default the role might have set for itself — and reset before each
statement (statement.py).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import psycopg
from django.conf import settings

from .admin import server_params
from .exceptions import SandboxDbError
from .values import ADAPTERS

logger = logging.getLogger(__name__)

# SQLSTATEs of failed logins that a new password may cure.
_LOGIN_FAILED = {"28P01", "28000"}


def _setting(name: str, default):
    return getattr(settings, name, default)


def session_options(schema: str) -> str:
    """Startup options of a sandbox session (libpq `options`)."""
    values = {
        "search_path": schema,
        "statement_timeout": "30000",
        "lock_timeout": "0",
        "idle_in_transaction_session_timeout": "10000",
        "idle_session_timeout": "0",
        "TimeZone": "UTC",
        "DateStyle": "ISO,MDY",
        "IntervalStyle": "iso_8601",
        "bytea_output": "hex",
        "extra_float_digits": "1",
        "standard_conforming_strings": "on",
        "default_transaction_isolation": "read committed",
        "default_transaction_read_only": "off",
        "client_min_messages": "error",
        "work_mem": str(_setting("FASTN_SANDBOX_DB_WORK_MEM", "16MB")),
        "maintenance_work_mem": str(_setting("FASTN_SANDBOX_DB_WORK_MEM", "16MB")),
        "application_name": "fastn-sandbox",
    }
    return " ".join(f"-c {name}={value.replace(' ', chr(92) + ' ')}" for name, value in values.items())


@dataclass(eq=False)
class PooledConnection:
    conn: psycopg.Connection
    key: tuple[str, str]  # (alias, role)
    created_at: float
    last_used: float = 0.0
    uses: int = 0
    reusable: bool = field(default=True)


class SandboxPool:
    def __init__(self, *, max_size: int, max_idle_per_role: int, idle_seconds: float, max_lifetime: float) -> None:
        self.max_size = max_size
        self.max_idle_per_role = max_idle_per_role
        self.idle_seconds = idle_seconds
        self.max_lifetime = max_lifetime
        self._cond = threading.Condition()
        self._idle: OrderedDict[tuple[str, str], list[PooledConnection]] = OrderedDict()
        self._open = 0  # open or being opened, lent or idle
        self.created = 0
        self.reused = 0
        self.closed = 0

    # --- lending -------------------------------------------------------------

    def acquire(self, credentials, *, deadline: float) -> PooledConnection:
        key = (credentials.database, credentials.role)
        to_close: list[PooledConnection] = []
        try:
            with self._cond:
                while True:
                    now = time.monotonic()
                    to_close.extend(self._expired(now))
                    idle = self._idle.get(key)
                    while idle:
                        pooled = idle.pop()
                        if not idle:
                            del self._idle[key]
                        if pooled.conn.closed or pooled.conn.broken:
                            to_close.append(pooled)
                            self._open -= 1
                            continue
                        self.reused += 1
                        pooled.uses += 1
                        return pooled
                    if self._open < self.max_size:
                        self._open += 1
                        break
                    victim = self._least_recently_used()
                    if victim is not None:
                        to_close.append(victim)  # its slot goes to this role
                        break
                    remaining = deadline - now
                    if remaining <= 0:
                        raise SandboxDbError(
                            "No database connection became free before the execution's time limit.",
                            "statement_timeout",
                        )
                    self._cond.wait(remaining)
        finally:
            self._close(to_close, release_slots=False)
        try:
            pooled = self._connect(credentials, key, deadline)
        except BaseException:
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise
        with self._cond:
            self.created += 1
        return pooled

    def release(self, pooled: PooledConnection) -> None:
        now = time.monotonic()
        pooled.last_used = now
        conn = pooled.conn
        healthy = (
            pooled.reusable
            and not conn.closed
            and not conn.broken
            and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            and now - pooled.created_at < self.max_lifetime
        )
        with self._cond:
            if healthy:
                idle = self._idle.setdefault(pooled.key, [])
                if len(idle) < self.max_idle_per_role:
                    idle.append(pooled)
                    self._idle.move_to_end(pooled.key)
                    self._cond.notify()
                    return
        self._close([pooled], release_slots=True)

    # --- maintenance ---------------------------------------------------------

    def discard_role(self, alias: str, role: str) -> None:
        """Close the idle connections of a role (it is being dropped)."""
        with self._cond:
            idle = self._idle.pop((alias, role), [])
        self._close(idle, release_slots=True)

    def close_all(self) -> None:
        with self._cond:
            idle = [pooled for group in self._idle.values() for pooled in group]
            self._idle.clear()
        self._close(idle, release_slots=True)

    def stats(self) -> dict:
        with self._cond:
            return {
                "open": self._open,
                "idle": sum(len(group) for group in self._idle.values()),
                "created": self.created,
                "reused": self.reused,
                "closed": self.closed,
            }

    def _expired(self, now: float) -> list[PooledConnection]:
        expired = []
        for key in list(self._idle):
            group = self._idle[key]
            keep = [
                p for p in group if now - p.last_used < self.idle_seconds and now - p.created_at < self.max_lifetime
            ]
            if len(keep) != len(group):
                expired.extend(p for p in group if p not in keep)
                if keep:
                    self._idle[key] = keep
                else:
                    del self._idle[key]
        self._open -= len(expired)
        return expired

    def _least_recently_used(self) -> PooledConnection | None:
        for key, group in self._idle.items():
            victim = group.pop(0)
            if not group:
                del self._idle[key]
            return victim
        return None

    def _close(self, pooled_list: list[PooledConnection], *, release_slots: bool) -> None:
        for pooled in pooled_list:
            try:
                pooled.conn.close()
            except Exception:  # noqa: BLE001 - closing a dead connection may fail; it is gone either way
                logger.debug("closing a sandbox connection failed", exc_info=True)
        if pooled_list:
            with self._cond:
                self.closed += len(pooled_list)
                if release_slots:
                    self._open -= len(pooled_list)
                self._cond.notify(len(pooled_list))

    def _connect(self, credentials, key, deadline: float) -> PooledConnection:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SandboxDbError("The execution's time limit was reached.", "statement_timeout")
        try:
            conn = psycopg.connect(
                **server_params(credentials.database),
                user=credentials.role,
                password=credentials.password,
                options=session_options(credentials.role),
                client_encoding="UTF8",
                connect_timeout=max(2, min(10, int(remaining) + 1)),
                autocommit=True,
                prepare_threshold=None,
                context=ADAPTERS,
            )
        except psycopg.OperationalError as exc:
            raise _login_error(exc) from None
        now = time.monotonic()
        return PooledConnection(conn=conn, key=key, created_at=now, last_used=now, uses=1)


class LoginFailed(Exception):
    """The role's password was refused or the role is gone: reset and retry once."""


def _login_error(exc: psycopg.OperationalError) -> Exception:
    state = getattr(exc, "sqlstate", None) or ""
    text = str(exc)
    if state in _LOGIN_FAILED or "password authentication failed" in text or "does not exist" in text:
        return LoginFailed()
    if state == "53300" or "too many connections" in text:
        return SandboxDbError(
            "This customer has too many database calls running at once; try again shortly.",
            "too_many_connections",
        )
    # The message may name hosts and roles: keep it in the logs only.
    logger.warning("fastn.db: cannot connect a sandbox session: %s", text)
    return SandboxDbError("The workflow database is unavailable.", "database_unavailable")


_pool: SandboxPool | None = None
_pool_lock = threading.Lock()
_pool_pid = os.getpid()


def get_pool() -> SandboxPool:
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = SandboxPool(
                max_size=int(_setting("FASTN_SANDBOX_DB_POOL_SIZE", 16)),
                max_idle_per_role=int(_setting("FASTN_SANDBOX_DB_POOL_IDLE_PER_ROLE", 4)),
                idle_seconds=float(_setting("FASTN_SANDBOX_DB_IDLE_SECONDS", 60)),
                max_lifetime=float(_setting("FASTN_SANDBOX_DB_MAX_LIFETIME_SECONDS", 1800)),
            )
            _pool_pid = os.getpid()
        return _pool


def pool_discard_role(alias: str, role: str) -> None:
    get_pool().discard_role(alias, role)


def pool_reset() -> None:
    """Close every pooled connection and start a new pool (tests, settings changes)."""
    global _pool
    with _pool_lock:
        old, _pool = _pool, None
    if old is not None:
        old.close_all()
