"""The one-off database set-up: what it takes away, from whom, and what it leaves."""

from __future__ import annotations

import uuid
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from psycopg import sql

from apps.workflows.sandbox_db import sandbox_database_setup, sandbox_prune_orphan_roles, sandbox_query
from apps.workflows.sandbox_db.admin import admin_connection, server_params
from apps.workflows.sandbox_db.hardening import MONITORING_FUNCTIONS, REVOKED_FUNCTIONS
from apps.workflows.sandbox_db.policy import CATALOG_RELATIONS, INFORMATION_SCHEMA_VIEWS
from apps.workflows.sandbox_db.roles import sandbox_role_name
from tests.sandbox_db.conftest import soon


@pytest.fixture
def role_of(scope_factory):
    scope = scope_factory(customer=True)
    sandbox_query(scope, "SELECT 1", [], deadline=soon())
    return sandbox_role_name(scope)


def test_set_up_is_idempotent(db):
    sandbox_database_setup()
    assert sandbox_database_setup().ran is False
    again = sandbox_database_setup(force=True)
    assert again.ran is True
    assert again.revoked_relations == [] and again.revoked_functions == []


def test_sandbox_roles_can_read_no_catalog_but_the_time_zones(role_of):
    with admin_connection("default") as conn:
        readable = conn.execute(
            """SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname IN ('pg_catalog', 'information_schema') AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
                 AND has_table_privilege(%s, c.oid, 'SELECT')""",
            [role_of],
        ).fetchall()
        columns_only = conn.execute(
            """SELECT c.relname || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               WHERE c.relnamespace = 'pg_catalog'::regnamespace AND a.attnum > 0
                 AND NOT has_table_privilege(%s, c.oid, 'SELECT')
                 AND has_column_privilege(%s, c.oid, a.attnum, 'SELECT')""",
            [role_of, role_of],
        ).fetchall()
    allowed = {f"pg_catalog.{name}" for name in CATALOG_RELATIONS} | {
        f"information_schema.{name}" for name in INFORMATION_SCHEMA_VIEWS
    }
    assert {row[0] for row in readable} == allowed
    assert {row[0] for row in columns_only} == {"pg_database.datname", "pg_database.encoding"}


def test_revoked_functions_cannot_be_executed_by_sandbox_roles(role_of):
    with admin_connection("default") as conn:
        executable = conn.execute(
            """SELECT DISTINCT p.proname FROM pg_proc p WHERE p.pronamespace = 'pg_catalog'::regnamespace
               AND (p.proname = ANY(%s) OR p.proname LIKE ANY(%s))
               AND has_function_privilege(%s, p.oid, 'EXECUTE')""",
            [
                [*MONITORING_FUNCTIONS, *REVOKED_FUNCTIONS],
                ["pg\\_stat\\_get\\_%", "lo\\_%", "pg\\_advisory%", "pg\\_try\\_advisory%"],
                role_of,
            ],
        ).fetchall()
        checks = conn.execute(
            """SELECT has_schema_privilege(%s, 'public', 'USAGE'), has_schema_privilege(%s, 'public', 'CREATE'),
                      has_database_privilege(%s, current_database(), 'TEMP'),
                      has_language_privilege(%s, 'plpgsql', 'USAGE'),
                      has_schema_privilege(%s, 'fastn_sandbox', 'USAGE'),
                      has_schema_privilege(%s, %s, 'CREATE')""",
            [role_of] * 6 + [role_of],
        ).fetchone()
    assert executable == []
    assert checks == (False, False, False, False, False, True)


def test_sandbox_roles_have_no_attributes_or_memberships(role_of):
    with admin_connection("default") as conn:
        row = conn.execute(
            """SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolinherit, rolcanlogin,
                      rolconnlimit, (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid),
                      (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = r.rolname)
               FROM pg_roles r WHERE rolname = %s""",
            [role_of],
        ).fetchone()
    assert row == (False, False, False, False, False, False, True, 10, 0, "postgres")


def test_the_platform_superuser_and_django_are_unaffected(db, org_a):
    from apps.accounts.models import User
    from apps.core.models import Organization

    sandbox_database_setup(force=True)
    assert Organization.objects.filter(pk=org_a.organization.pk).exists()
    assert User.objects.filter(pk=org_a.owner.pk).exists()
    with admin_connection("default") as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM pg_stat_activity").fetchone()[0] > 0


@pytest.fixture
def plain_role(db):
    """A throwaway non-superuser role with plain grants on a table of its own schema."""
    name = f"probe_{uuid.uuid4().hex[:10]}"
    ident = sql.Identifier(name)
    with admin_connection("default") as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
        conn.execute(
            sql.SQL("CREATE TABLE {}.notes (id bigserial PRIMARY KEY, customer text, body text)").format(ident)
        )
        conn.execute(sql.SQL("ALTER TABLE {}.notes ENABLE ROW LEVEL SECURITY").format(ident))
        conn.execute(
            sql.SQL(
                "CREATE POLICY by_customer ON {}.notes USING (customer = current_setting('app.customer', true))"
            ).format(ident)
        )
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident, ident))
        conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {}.notes TO {}").format(ident, ident))
        conn.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(ident, ident))
    yield name
    with admin_connection("default") as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(ident))
        conn.execute(sql.SQL("DROP OWNED BY {}").format(ident))
        conn.execute(sql.SQL("DROP ROLE {}").format(ident))


def test_a_plain_non_superuser_role_keeps_doing_dml_on_what_it_was_granted(plain_role):
    sandbox_database_setup(force=True)
    statements = [
        ("SELECT set_config('app.customer', 'c1', false)", []),
        (f"INSERT INTO {plain_role}.notes (customer, body) VALUES (%s, %s) RETURNING id", ["c1", "hello"]),
        (f"INSERT INTO {plain_role}.notes (customer, body) VALUES (%s, %s)", ["c1", "again"]),
        (f"UPDATE {plain_role}.notes SET body = upper(body)", []),
        (f"SELECT body FROM {plain_role}.notes ORDER BY id", []),
    ]
    # Logged in as the role ...
    with psycopg.connect(**server_params("default"), user=plain_role, autocommit=True) as conn:
        results = [conn.execute(text, params) for text, params in statements]
        assert [row[0] for row in results[-1].fetchall()] == ["HELLO", "AGAIN"]
        conn.execute(f"DELETE FROM {plain_role}.notes")
    # ... and through SET ROLE on the platform's connection, as RLS code does.
    with admin_connection("default") as conn, conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(plain_role)))
        results = [conn.execute(text, params) for text, params in statements]
        assert [row[0] for row in results[-1].fetchall()] == ["HELLO", "AGAIN"]
        conn.execute("SELECT set_config('app.customer', 'someone-else', true)")
        assert conn.execute(f"SELECT count(*) FROM {plain_role}.notes").fetchone()[0] == 0
        conn.execute("RESET ROLE")


def test_monitoring_roles_keep_their_views(db):
    name = f"monitor_{uuid.uuid4().hex[:10]}"
    with admin_connection("default") as conn:
        conn.execute(sql.SQL("CREATE ROLE {} IN ROLE pg_monitor").format(sql.Identifier(name)))
        try:
            with conn.transaction():
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(name)))
                assert conn.execute("SELECT count(*) FROM pg_stat_activity").fetchone()[0] > 0
                assert conn.execute("SELECT count(*) FROM pg_stat_user_tables").fetchone()[0] >= 0
                assert conn.execute("SELECT count(*) FROM pg_class").fetchone()[0] > 0
                assert conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] > 0
        finally:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_orphaned_sandbox_roles_are_pruned_and_live_ones_kept(role_of):
    orphan = f"fdb_0_orphan{uuid.uuid4().hex[:12]}"
    with admin_connection("default") as conn:
        conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(orphan)))
    dropped = sandbox_prune_orphan_roles()
    assert orphan in dropped
    assert role_of not in dropped
    with admin_connection("default") as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role_of]).fetchone()


def test_setup_command_reports_what_it_revoked(db):
    out = StringIO()
    call_command("sandbox_db_setup", stdout=out)
    assert "current" in out.getvalue()
    out = StringIO()
    call_command("sandbox_db_setup", "--force", "--prune-roles", stdout=out)
    assert "Done:" in out.getvalue() and "orphaned sandbox roles" in out.getvalue()


def test_migrate_runs_the_set_up(db):
    from apps.core.management.commands.migrate import Command

    out = StringIO()
    command = Command(stdout=out)
    command._after_migrate("default", 1)
    with admin_connection("default") as conn:
        assert conn.execute("SELECT setup_version FROM fastn_sandbox.meta").fetchone() is not None
