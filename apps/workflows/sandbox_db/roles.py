"""Sandbox roles and schemas: created on first use, dropped with their owner.

Each scope gets a LOGIN role and a schema of the same name (`fdb_<org>_<hmac>`):

- the role is NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  NOINHERIT, member of no role, with a CONNECTION LIMIT, `temp_file_limit`
  (a superuser-only setting it cannot change back) and a random password;
- the schema is owned by the platform's superuser and grants the role USAGE
  and CREATE: the role owns the tables it creates and nothing else, and
  cannot drop, rename or give away the schema itself;
- default privileges keep PUBLIC from using the role's future types and
  functions.

Workflow SQL then runs on a connection logged in as that role (pool.py), so
the session user itself is unprivileged: RESET ROLE, SET ROLE, set_config
('role', ...) or SET SESSION AUTHORIZATION have nothing to return to.

Passwords are random (32 bytes) and stored Fernet-encrypted with the
platform's encryption keys in `fastn_sandbox.sandbox`, rather than derived
from SECRET_KEY: they rotate with the other credentials
(`rotate_encryption_keys`), do not change when SECRET_KEY does, and a leaked
SECRET_KEY does not give database logins. Only the SCRAM verifier reaches
the server (the plaintext never appears in statement logs). A password that
no longer works (keys lost, or changed by someone) is reset on the next use.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass

import psycopg
from django.conf import settings
from psycopg import sql

from apps.core import crypto

from .admin import admin_connection
from .hardening import database_salt
from .scope import NAME_PREFIX, SandboxScope, sandbox_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    database: str  # Django alias
    role: str  # also the schema name
    password: str


_credentials: dict[SandboxScope, Credentials] = {}
_credentials_lock = threading.Lock()
_scope_locks: dict[SandboxScope, threading.Lock] = {}
_credentials_pid = os.getpid()


def _setting(name: str, default):
    return getattr(settings, name, default)


def sandbox_credentials(scope: SandboxScope) -> Credentials:
    """The scope's role and password, creating role and schema on first use."""
    global _credentials_pid
    with _credentials_lock:
        if _credentials_pid != os.getpid():
            # A lock held by another thread when the process forked stays held
            # in the child for good: start with fresh ones.
            _scope_locks.clear()
            _credentials_pid = os.getpid()
        found = _credentials.get(scope)
        if found is not None:
            return found
        scope_lock = _scope_locks.setdefault(scope, threading.Lock())
    with scope_lock:  # one creator per scope in this process
        with _credentials_lock:
            found = _credentials.get(scope)
        if found is None:
            found = _ensure(scope)
            with _credentials_lock:
                _credentials[scope] = found
    return found


def credentials_forget(scope: SandboxScope) -> None:
    """Drop the cached credentials (after a login failure or a drop)."""
    with _credentials_lock:
        _credentials.pop(scope, None)


def credentials_forget_all() -> None:
    with _credentials_lock:
        _credentials.clear()


def sandbox_role_name(scope: SandboxScope) -> str:
    return sandbox_name(scope, database_salt(scope.database))


def _ensure(scope: SandboxScope) -> Credentials:
    role = sandbox_role_name(scope)
    with admin_connection(scope.database) as conn:
        row = conn.execute(
            "SELECT password_encrypted FROM fastn_sandbox.sandbox WHERE role_name = %s", [role]
        ).fetchone()
        if row is not None:
            try:
                return Credentials(scope.database, role, crypto.decrypt(row[0]))
            except crypto.DecryptionFailed:
                logger.warning("fastn.db: password of %s unreadable with the current keys; resetting it", role)
                return Credentials(scope.database, role, _password_reset(conn, role))
        with conn.transaction():
            # Serialises creators of this scope across processes.
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [role])
            row = conn.execute(
                "SELECT password_encrypted FROM fastn_sandbox.sandbox WHERE role_name = %s", [role]
            ).fetchone()
            if row is not None:
                return Credentials(scope.database, role, crypto.decrypt(row[0]))
            password = _create(conn, scope, role)
    logger.info("fastn.db: created sandbox %s for organization %s", role, scope.organization_id)
    return Credentials(scope.database, role, password)


def _role_attributes(conn: psycopg.Connection, role: str, password: str) -> sql.Composable:
    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
    limit = int(_setting("FASTN_SANDBOX_DB_ROLE_CONNECTION_LIMIT", 10))
    return sql.SQL(
        "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS CONNECTION LIMIT {} PASSWORD {}"
    ).format(sql.Literal(limit), sql.Literal(verifier))


def _create(conn: psycopg.Connection, scope: SandboxScope, role: str) -> str:
    password = secrets.token_urlsafe(32)
    ident = sql.Identifier(role)
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
    if exists:
        # Left behind by a failed drop: make it exactly what a new one would be.
        conn.execute(sql.SQL("ALTER ROLE {} ").format(ident) + _role_attributes(conn, role, password))
        conn.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(ident))
        for (member_of,) in conn.execute(
            "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
            [role],
        ).fetchall():
            conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(member_of), ident))
    else:
        conn.execute(sql.SQL("CREATE ROLE {} ").format(ident) + _role_attributes(conn, role, password))
    temp_file_limit = _setting("FASTN_SANDBOX_DB_TEMP_FILE_LIMIT", "1GB")
    conn.execute(sql.SQL("ALTER ROLE {} SET temp_file_limit = {}").format(ident, sql.Literal(temp_file_limit)))
    # Fallbacks for a session opened outside the pool (an operator's psql):
    # the pool sets all of these itself on every connection.
    conn.execute(sql.SQL("ALTER ROLE {} SET search_path = {}").format(ident, ident))
    conn.execute(sql.SQL("ALTER ROLE {} SET statement_timeout = '60s'").format(ident))
    conn.execute(sql.SQL("ALTER ROLE {} SET idle_in_transaction_session_timeout = '30s'").format(ident))
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
    conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(ident))
    conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(ident, ident))
    conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC").format(ident))
    conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} REVOKE USAGE ON TYPES FROM PUBLIC").format(ident))
    conn.execute(
        "INSERT INTO fastn_sandbox.sandbox (role_name, organization_id, schema_suffix, password_encrypted) "
        "VALUES (%s, %s, %s, %s)",
        [role, scope.organization_id, scope.schema_suffix, crypto.encrypt(password)],
    )
    return password


def _password_reset(conn: psycopg.Connection, role: str) -> str:
    password = secrets.token_urlsafe(32)
    with conn.transaction():
        conn.execute(sql.SQL("ALTER ROLE {} ").format(sql.Identifier(role)) + _role_attributes(conn, role, password))
        conn.execute(
            "UPDATE fastn_sandbox.sandbox SET password_encrypted = %s WHERE role_name = %s",
            [crypto.encrypt(password), role],
        )
    return password


def sandbox_password_reset(scope: SandboxScope) -> Credentials:
    """A new password for the scope's role, whose login failed; recreates a role dropped by hand."""
    credentials_forget(scope)
    role = sandbox_role_name(scope)
    with admin_connection(scope.database) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [role])
        role_exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
        schema_exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [role]).fetchone()
        if role_exists and schema_exists:
            password = secrets.token_urlsafe(32)
            attributes = _role_attributes(conn, role, password)
            conn.execute(sql.SQL("ALTER ROLE {} ").format(sql.Identifier(role)) + attributes)
            updated = conn.execute(
                "UPDATE fastn_sandbox.sandbox SET password_encrypted = %s WHERE role_name = %s",
                [crypto.encrypt(password), role],
            ).rowcount
            if not updated:
                conn.execute(
                    "INSERT INTO fastn_sandbox.sandbox "
                    "(role_name, organization_id, schema_suffix, password_encrypted) VALUES (%s, %s, %s, %s)",
                    [role, scope.organization_id, scope.schema_suffix, crypto.encrypt(password)],
                )
        else:
            conn.execute("DELETE FROM fastn_sandbox.sandbox WHERE role_name = %s", [role])
            password = _create(conn, scope, role)
    found = Credentials(scope.database, role, password)
    with _credentials_lock:
        _credentials[scope] = found
    return found


def sandbox_storage_bytes(scope: SandboxScope) -> int:
    """Bytes the scope's tables, indexes, TOAST and sequences take on disk."""
    role = sandbox_role_name(scope)
    with admin_connection(scope.database) as conn:
        row = conn.execute(
            """SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
               WHERE c.relnamespace = to_regnamespace(%s) AND c.relkind IN ('r', 'm', 'S')""",
            [role],
        ).fetchone()
    return int(row[0])


def sandbox_storage_by_organization(organization_id: int, database: str = "default") -> dict[str, int]:
    """schema_suffix → bytes, for every sandbox of an organization on one database."""
    database_salt(database)
    with admin_connection(database) as conn:
        rows = conn.execute(
            """SELECT s.schema_suffix, coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
                FROM fastn_sandbox.sandbox s
                LEFT JOIN pg_namespace n ON n.nspname = s.role_name
                LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'm', 'S')
                WHERE s.organization_id = %s GROUP BY s.schema_suffix""",
            [organization_id],
        ).fetchall()
    return {suffix: int(size) for suffix, size in rows}


def sandbox_drop(scope: SandboxScope) -> None:
    """Drop the scope's schema (with every table in it) and its role."""
    from .pool import pool_discard_role

    role = sandbox_role_name(scope)
    credentials_forget(scope)
    pool_discard_role(scope.database, role)
    with admin_connection(scope.database) as conn:
        _drop(conn, role)


def sandbox_drop_organization(organization_id: int, database: str | None = None) -> int:
    """Drop every sandbox of an organization (on one alias, or on every alias). Returns how many."""
    from .pool import pool_discard_role

    aliases = [database] if database else list(settings.DATABASES)
    dropped = 0
    for alias in aliases:
        database_salt(alias)
        with admin_connection(alias) as conn:
            rows = conn.execute(
                "SELECT role_name, schema_suffix FROM fastn_sandbox.sandbox WHERE organization_id = %s",
                [organization_id],
            ).fetchall()
            for role, suffix in rows:
                credentials_forget(SandboxScope(organization_id, suffix, alias))
                pool_discard_role(alias, role)
                _drop(conn, role)
                dropped += 1
    return dropped


def sandbox_drop_all(database: str = "default") -> int:
    """Drop every sandbox registered in a database (tests; decommissioning)."""
    from .pool import pool_discard_role

    database_salt(database)
    with admin_connection(database) as conn:
        roles = [row[0] for row in conn.execute("SELECT role_name FROM fastn_sandbox.sandbox").fetchall()]
        for role in roles:
            pool_discard_role(database, role)
            _drop(conn, role)
    credentials_forget_all()
    return len(roles)


def _drop(conn: psycopg.Connection, role: str) -> None:
    if not role.startswith(NAME_PREFIX):
        raise ValueError(f"{role} is not a sandbox role.")
    ident = sql.Identifier(role)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [role])
        # Sessions of the role in any process (other workers' pools) end first.
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role])
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(ident))
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
            conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(ident))
            conn.execute(sql.SQL("DROP ROLE {}").format(ident))
        conn.execute("DELETE FROM fastn_sandbox.sandbox WHERE role_name = %s", [role])
    logger.info("fastn.db: dropped sandbox %s", role)


def sandbox_prune_orphan_roles(database: str = "default") -> list[str]:
    """Drop `fdb_` roles of the cluster that nothing depends on in any database.

    A live sandbox role always has dependencies (its grants on its schema);
    one whose database was dropped (a test database, say) has none left and
    would otherwise stay in the cluster for good.
    """
    with admin_connection(database) as conn:
        rows = conn.execute(
            """SELECT r.rolname FROM pg_roles r
               WHERE r.rolname LIKE 'fdb\\_%%' AND NOT r.rolsuper
                 AND NOT EXISTS (SELECT 1 FROM pg_shdepend d WHERE d.refobjid = r.oid)
                 AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.usename = r.rolname)"""
        ).fetchall()
        dropped = []
        for (role,) in rows:
            try:
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
                dropped.append(role)
            except psycopg.errors.DependentObjectsStillReferenced:
                continue  # became used meanwhile
    return dropped


def sandbox_exists(role: str, database: str = "default") -> bool:
    """Whether a role or a schema of that name exists (tests, operators)."""
    with admin_connection(database) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = %s), "
            "(SELECT count(*) FROM pg_namespace WHERE nspname = %s)",
            [role, role],
        ).fetchone()
    return bool(row[0]) or bool(row[1])


def sandbox_rotate_encryption(database: str = "default") -> int:
    """Re-encrypt stored role passwords under the newest key; unreadable ones get a new password."""
    database_salt(database)
    count = 0
    with admin_connection(database) as conn:
        rows = conn.execute("SELECT role_name, password_encrypted FROM fastn_sandbox.sandbox").fetchall()
        for role, token in rows:
            try:
                rotated = crypto.rotate(token)
            except crypto.DecryptionFailed:
                _password_reset(conn, role)
            else:
                conn.execute(
                    "UPDATE fastn_sandbox.sandbox SET password_encrypted = %s WHERE role_name = %s", [rotated, role]
                )
            count += 1
    return count
