"""One-off, database-wide set-up that sandbox roles depend on.

Runs automatically — on the first `fastn.db` call of each process (a cheap
version check when already done) and at the end of `manage.py migrate` — and
by hand with `manage.py sandbox_db_setup`. Idempotent; serialised across
processes by an advisory lock. Re-runs when SETUP_VERSION or the server's
major version changes (a new PostgreSQL may bring new catalogs).

It creates the `fastn_sandbox` schema (registry of sandbox roles and the
naming salt; no grants, so sandbox roles cannot see it) and takes away from
PUBLIC — the pseudo-role every role belongs to — what would let a sandbox
role learn about other schemas or the platform:

- SELECT on every pg_catalog table and view except the time-zone lists
  (pg_class, pg_namespace, pg_roles, pg_stat_activity, pg_locks, pg_proc, ...
  name every schema, role, table and running query) — but for the name and
  encoding columns of pg_database, which information_schema.columns needs;
- SELECT on every information_schema view except those listed in
  policy.INFORMATION_SCHEMA_VIEWS, which show only objects the current role
  owns or was granted (routines, domains, *_privileges ... would list objects
  of other schemas that PUBLIC may use);
- EXECUTE on functions that map object ids to names or definitions, read
  other objects' statistics or sizes, list locks/backends/settings, use large
  objects (database-wide, outside any schema and its size), advisory locks
  (database-wide: a workflow could block the platform's), NOTIFY, signal
  backends, or run SQL passed as a string;
- USAGE on schema public (the platform's shared tables live there), TEMP on
  the database (temporary tables escape the schema and its size cap), and
  USAGE on language plpgsql (no DO blocks or plpgsql functions: they would
  run dynamic SQL the statement policy never sees).

The platform connects as a superuser, which none of this affects. A
non-superuser role of the platform's (row-level security) keeps working for
plain DML on the tables and schemas it was granted; it needs an explicit
`GRANT USAGE ON SCHEMA public` for tables in public. Functions the kept
information_schema views call (format_type, pg_get_expr, has_*_privilege,
pg_has_role, ...) stay executable; policy.py refuses direct calls of them.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from .admin import admin_connection
from .exceptions import SandboxDbError
from .policy import CATALOG_RELATIONS, INFORMATION_SCHEMA_VIEWS

logger = logging.getLogger(__name__)

SETUP_VERSION = 1
REGISTRY_SCHEMA = "fastn_sandbox"
# pg_advisory_xact_lock key serialising set-up across processes ("fastnsbx").
SETUP_LOCK_KEY = 0x66617374_6E736278

# Functions (all overloads in pg_catalog) no role but a superuser (or
# pg_monitor) needs.
MONITORING_FUNCTIONS = (
    # object ids → names and definitions
    "pg_get_userbyid",
    "pg_get_viewdef",
    "pg_get_ruledef",
    "pg_get_indexdef",
    "pg_get_triggerdef",
    "pg_get_constraintdef",
    "pg_get_functiondef",
    "pg_get_function_arguments",
    "pg_get_function_identity_arguments",
    "pg_get_function_result",
    "pg_get_function_arg_default",
    "pg_get_function_sqlbody",
    "pg_get_statisticsobjdef",
    "pg_get_statisticsobjdef_columns",
    "pg_get_statisticsobjdef_expressions",
    "pg_get_partkeydef",
    "pg_get_partition_constraintdef",
    "pg_get_replica_identity_index",
    "pg_get_object_address",
    "pg_identify_object",
    "pg_identify_object_as_address",
    "pg_describe_object",
    "obj_description",
    "col_description",
    "shobj_description",
    "pg_get_publication_tables",
    # other objects' files, sizes and partitions
    "pg_relation_filenode",
    "pg_relation_filepath",
    "pg_filenode_relation",
    "pg_relation_size",
    "pg_table_size",
    "pg_indexes_size",
    "pg_total_relation_size",
    "pg_database_size",
    "pg_tablespace_size",
    "pg_tablespace_location",
    "pg_tablespace_databases",
    "pg_partition_tree",
    "pg_partition_ancestors",
    "pg_partition_root",
    "pg_index_column_has_property",
    "pg_index_has_property",
    # backends, locks, settings, replication
    "pg_lock_status",
    "pg_blocking_pids",
    "pg_safe_snapshot_blocking_pids",
    "pg_isolation_test_session_is_blocked",
    "pg_prepared_xact",
    "pg_show_all_settings",
    "pg_get_replication_slots",
    "pg_available_extensions",
    "pg_available_extension_versions",
    "pg_stat_have_stats",
)
# Granted back to pg_monitor (with the catalogs) so that monitoring tools
# keep working; sandbox roles are members of nothing.
MONITORING_FUNCTION_PATTERNS = ("pg\\_stat\\_get\\_%",)
# The rest: no monitoring tool needs them.
REVOKED_FUNCTIONS = (
    # signals to backends of the same role
    "pg_cancel_backend",
    "pg_terminate_backend",
    # NOTIFY is database-wide
    "pg_notify",
    "pg_listening_channels",
    "pg_notification_queue_usage",
    # large objects live outside any schema
    "loread",
    "lowrite",
    # SQL given as a string runs unseen by the statement policy
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "cursor_to_xml",
    "cursor_to_xmlschema",
    "table_to_xml",
    "table_to_xmlschema",
    "table_to_xml_and_xmlschema",
    "schema_to_xml",
    "schema_to_xmlschema",
    "schema_to_xml_and_xmlschema",
    "database_to_xml",
    "database_to_xmlschema",
    "database_to_xml_and_xmlschema",
    "ts_stat",
    "ts_rewrite",
    # index maintenance by object id (errors name the object)
    "brin_summarize_range",
    "brin_summarize_new_values",
    "brin_desummarize_range",
    "gin_clean_pending_list",
)
REVOKED_FUNCTION_PATTERNS = ("lo\\_%", "pg\\_advisory%", "pg\\_try\\_advisory%")


@dataclass
class SetupReport:
    ran: bool
    revoked_relations: list[str] = field(default_factory=list)
    revoked_functions: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)


_done: dict[str, bytes] = {}  # alias → naming salt, once set-up is known current in this process
_done_lock = threading.Lock()
_done_pid = os.getpid()


def database_salt(alias: str) -> bytes:
    """The naming salt of the alias's database, running set-up first if needed."""
    global _done_pid
    with _done_lock:
        if _done_pid != os.getpid():
            _done.clear()
            _done_pid = os.getpid()
        salt = _done.get(alias)
    if salt is None:
        database_setup(alias)
        with _done_lock:
            salt = _done[alias]
    return salt


def database_setup(alias: str = "default", *, force: bool = False) -> SetupReport:
    """Create the registry and revoke from PUBLIC what sandbox roles must not use."""
    try:
        with admin_connection(alias) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [SETUP_LOCK_KEY])
            _create_registry(conn)
            server_version = conn.info.server_version // 10000
            row = conn.execute(
                "SELECT name_salt, setup_version, server_major FROM fastn_sandbox.meta WHERE id = 1"
            ).fetchone()
            if row is not None and not force and row[1] == SETUP_VERSION and row[2] == server_version:
                salt = bytes(row[0])
                report = SetupReport(ran=False)
            else:
                salt = bytes(row[0]) if row is not None else secrets.token_bytes(32)
                report = _harden(conn)
                conn.execute(
                    "INSERT INTO fastn_sandbox.meta (id, name_salt, setup_version, server_major, updated_at) "
                    "VALUES (1, %s, %s, %s, now()) ON CONFLICT (id) DO UPDATE SET "
                    "setup_version = EXCLUDED.setup_version, server_major = EXCLUDED.server_major, "
                    "updated_at = now()",
                    [salt, SETUP_VERSION, server_version],
                )
    except psycopg.errors.InsufficientPrivilege as exc:
        raise SandboxDbError(
            "fastn.db needs the platform's database user to be a superuser to set up sandboxes.",
            "database_unavailable",
        ) from exc
    with _done_lock:
        _done[alias] = salt
    if report.ran:
        logger.info(
            "fastn.db set-up on %s: %d relations and %d functions revoked from PUBLIC",
            alias,
            len(report.revoked_relations),
            len(report.revoked_functions),
        )
    return report


def setup_forget(alias: str | None = None) -> None:
    """Forget that set-up was verified (tests; after the database was recreated)."""
    with _done_lock:
        if alias is None:
            _done.clear()
        else:
            _done.pop(alias, None)


def _create_registry(conn: psycopg.Connection) -> None:
    conn.execute("CREATE SCHEMA IF NOT EXISTS fastn_sandbox")
    conn.execute("REVOKE ALL ON SCHEMA fastn_sandbox FROM PUBLIC")
    conn.execute(
        """CREATE TABLE IF NOT EXISTS fastn_sandbox.meta (
            id integer PRIMARY KEY CHECK (id = 1),
            name_salt bytea NOT NULL,
            setup_version integer NOT NULL,
            server_major integer NOT NULL,
            updated_at timestamptz NOT NULL
        )"""
    )
    conn.execute(
        """CREATE TABLE IF NOT EXISTS fastn_sandbox.sandbox (
            role_name text PRIMARY KEY,
            organization_id bigint NOT NULL,
            schema_suffix text NOT NULL,
            password_encrypted text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (organization_id, schema_suffix)
        )"""
    )


def _harden(conn: psycopg.Connection) -> SetupReport:
    report = SetupReport(ran=True)
    keep = {"pg_catalog": CATALOG_RELATIONS, "information_schema": INFORMATION_SCHEMA_VIEWS}
    rows = conn.execute(
        """SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname IN ('pg_catalog', 'information_schema') AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
             AND (has_table_privilege('public', c.oid, 'SELECT')
                  OR (has_any_column_privilege('public', c.oid, 'SELECT')
                      AND c.oid <> 'pg_catalog.pg_database'::regclass))
           ORDER BY 1, 2"""
    ).fetchall()
    for schema, relname in rows:
        if relname in keep[schema]:
            continue
        conn.execute(sql.SQL("REVOKE ALL ON {}.{} FROM PUBLIC").format(sql.Identifier(schema), sql.Identifier(relname)))
        report.revoked_relations.append(f"{schema}.{relname}")

        if schema == "pg_catalog":
            conn.execute(sql.SQL("GRANT SELECT ON pg_catalog.{} TO pg_monitor").format(sql.Identifier(relname)))

    for names, patterns, monitoring in (
        (MONITORING_FUNCTIONS, MONITORING_FUNCTION_PATTERNS, True),
        (REVOKED_FUNCTIONS, REVOKED_FUNCTION_PATTERNS, False),
    ):
        functions = conn.execute(
            """SELECT p.oid::regprocedure::text FROM pg_proc p
               WHERE p.pronamespace = 'pg_catalog'::regnamespace
                 AND (p.proname = ANY(%s) OR p.proname LIKE ANY(%s))
                 AND has_function_privilege('public', p.oid, 'EXECUTE')
               ORDER BY 1""",
            [list(names), list(patterns)],
        ).fetchall()
        for (signature,) in functions:
            # regprocedure's text is a fully qualified, quoted function reference.
            function = sql.SQL(signature)
            conn.execute(sql.SQL("REVOKE EXECUTE ON FUNCTION {} FROM PUBLIC").format(function))
            if monitoring:
                conn.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO pg_monitor").format(function))
            report.revoked_functions.append(signature)

    # information_schema.columns calls _pg_char_octet_length(), a SQL function
    # (run with the caller's privileges) that reads the database's encoding.
    # Database names are the one thing this leaves readable; the policy still
    # refuses direct reads of pg_database.
    conn.execute("GRANT SELECT (datname, encoding) ON pg_catalog.pg_database TO PUBLIC")
    conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    report.other.append("USAGE, CREATE on schema public")
    dbname = conn.execute("SELECT current_database()").fetchone()[0]
    conn.execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(dbname)))
    report.other.append(f"TEMPORARY on database {dbname}")
    if conn.execute("SELECT 1 FROM pg_language WHERE lanname = 'plpgsql'").fetchone():
        conn.execute("REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC")
        report.other.append("USAGE on language plpgsql")
    return report
