"""The platform's own (superuser) connection for creating and dropping sandboxes.

A psycopg connection of its own per database alias, in autocommit mode,
separate from Django's: role and schema creation must commit at once (the
sandbox connection that logs in as the new role is another session), and must
neither join nor disturb a transaction the caller has open on Django's
connection — under pytest-django that is the test's transaction.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connections

from .exceptions import SandboxDbError

logger = logging.getLogger(__name__)

# libpq options of a Django alias that also apply to sandbox connections
# (TLS, keepalives, ...); anything else in OPTIONS is Django's or psycopg's.
_LIBPQ_OPTIONS = {
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "sslpassword",
    "sslnegotiation",
    "sslcompression",
    "channel_binding",
    "gssencmode",
    "requiressl",
    "target_session_attrs",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "hostaddr",
}


def server_params(alias: str) -> dict:
    """Host, port, database and TLS options of a Django alias, without credentials."""
    try:
        settings_dict = connections[alias].settings_dict
    except Exception as exc:  # noqa: BLE001 - django raises ConnectionDoesNotExist
        raise SandboxDbError(f"Unknown database alias {alias!r}.", "database_unavailable") from exc
    params = {
        "host": settings_dict.get("HOST") or "127.0.0.1",
        "port": int(settings_dict.get("PORT") or 5432),
        "dbname": settings_dict["NAME"],
    }
    for key, value in (settings_dict.get("OPTIONS") or {}).items():
        if key in _LIBPQ_OPTIONS:
            params[key] = value
    return params


def _admin_params(alias: str) -> dict:
    params = server_params(alias)
    settings_dict = connections[alias].settings_dict
    params["user"] = settings_dict.get("USER") or "postgres"
    if settings_dict.get("PASSWORD"):
        params["password"] = settings_dict["PASSWORD"]
    return params


class _AdminConnection:
    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.lock = threading.Lock()
        self.conn: psycopg.Connection | None = None

    def get(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed or self.conn.broken:
            self.conn = psycopg.connect(
                **_admin_params(self.alias),
                autocommit=True,
                connect_timeout=10,
                application_name="fastn-sandbox-admin",
            )
        return self.conn


_admins: dict[str, _AdminConnection] = {}
_admins_lock = threading.Lock()
_admins_pid = os.getpid()


@contextmanager
def admin_connection(alias: str) -> Iterator[psycopg.Connection]:
    """The alias's superuser connection, for this thread alone while inside."""
    global _admins_pid
    with _admins_lock:
        if _admins_pid != os.getpid():
            # A forked child must not use (or close) its parent's sockets.
            _admins.clear()
            _admins_pid = os.getpid()
        admin = _admins.setdefault(alias, _AdminConnection(alias))
    with admin.lock:
        try:
            conn = admin.get()
        except psycopg.OperationalError as exc:
            logger.warning("fastn.db: cannot connect to %s as the platform: %s", alias, exc)
            raise SandboxDbError("The workflow database is unavailable.", "database_unavailable") from exc
        try:
            yield conn
        except psycopg.OperationalError:
            conn.close()
            raise
        finally:
            if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.close()  # an exception left a transaction open: start afresh next time


def admin_close_all() -> None:
    with _admins_lock:
        for admin in _admins.values():
            with admin.lock:
                if admin.conn is not None:
                    admin.conn.close()
                    admin.conn = None
