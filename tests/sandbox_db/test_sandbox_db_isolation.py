"""Workflow SQL cannot reach platform tables, another customer, or other names.

Each escape is tried twice where it matters: through the public API (the
statement policy refuses it) and on a raw session of the role that skips the
policy (the privileges alone refuse it) — the design must not depend on
statement filtering.
"""

from __future__ import annotations

import pytest

from apps.workflows.sandbox_db import SandboxDbError, sandbox_execute, sandbox_query
from apps.workflows.sandbox_db.roles import sandbox_role_name
from tests.sandbox_db.conftest import soon


def query(scope, sql, params=None):
    return sandbox_query(scope, sql, params or [], deadline=soon())


def execute(scope, sql, params=None):
    return sandbox_execute(scope, sql, params or [], deadline=soon())


def refused(scope, sql, code="forbidden_statement"):
    with pytest.raises(SandboxDbError) as caught:
        query(scope, sql)
    assert caught.value.code == code, caught.value
    return caught.value


def denied_raw(run, sql, codes=("42501",)):
    with pytest.raises(SandboxDbError) as caught:
        run(sql)
    assert caught.value.code in codes, caught.value
    return caught.value


@pytest.fixture
def two_customers(scope_factory, org_a):
    org_id = org_a.organization.pk
    x = scope_factory(org_id, customer=True)
    y = scope_factory(org_id, customer=True)
    for scope, names in ((x, ["Xavier", "Xena"]), (y, ["Yolanda"])):
        execute(scope, "CREATE TABLE contacts (id serial PRIMARY KEY, name text NOT NULL)")
        for name in names:
            execute(scope, "INSERT INTO contacts (name) VALUES ($1)", [name])
    return x, y


# --- the session user is the sandbox role -----------------------------------------


def test_statements_run_as_the_scopes_own_role(scope_factory):
    scope = scope_factory()
    (row,) = query(scope, "SELECT current_user AS current, session_user AS session")
    assert row["current"] == row["session"] == sandbox_role_name(scope)
    assert row["session"] != "postgres"


def test_reset_role_then_platform_table_is_refused_and_would_not_help(scope_factory, raw_sql):
    scope = scope_factory()
    refused(scope, "RESET ROLE; SELECT * FROM public.accounts_user")
    with raw_sql(scope) as run:
        run("RESET ROLE")
        assert run("SELECT current_user AS u")[0]["u"] == sandbox_role_name(scope)
        denied_raw(run, "SELECT * FROM public.accounts_user")


def test_set_role_postgres_is_refused_by_postgres_itself(scope_factory, raw_sql):
    scope = scope_factory()
    refused(scope, "SET ROLE postgres")
    with raw_sql(scope) as run:
        denied_raw(run, "SET ROLE postgres")
        denied_raw(run, "SET SESSION AUTHORIZATION postgres")


def test_set_config_role_is_refused_by_postgres_itself(scope_factory, raw_sql):
    scope = scope_factory()
    refused(scope, "SELECT set_config('role', 'postgres', false)")
    with raw_sql(scope) as run:
        denied_raw(run, "SELECT set_config('role', 'postgres', false)")
        assert run("SELECT current_user AS u")[0]["u"] == sandbox_role_name(scope)


def test_do_block_setting_role_is_refused_by_postgres_itself(scope_factory, raw_sql):
    scope = scope_factory()
    sql = "DO $$ BEGIN EXECUTE 'SET ROLE postgres'; END $$"
    refused(scope, sql)
    with raw_sql(scope) as run:
        error = denied_raw(run, sql)
        assert "plpgsql" in error.message


def test_functions_that_set_role_cannot_be_created_or_do_not_help(scope_factory, raw_sql):
    scope = scope_factory()
    plpgsql = "CREATE FUNCTION become() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'SET ROLE postgres'; END $$"
    refused(scope, plpgsql)
    with raw_sql(scope) as run:
        denied_raw(run, plpgsql)
        # A plain SQL function can be created on a raw session, but runs as its caller.
        run("CREATE FUNCTION become() RETURNS text LANGUAGE sql AS $$ SELECT set_config('role', 'postgres', false) $$")
        denied_raw(run, "SELECT become()")
        run("DROP FUNCTION become()")


def test_alter_role_superuser_is_refused(scope_factory, raw_sql):
    scope = scope_factory()
    role = sandbox_role_name(scope)
    refused(scope, f"ALTER ROLE {role} SUPERUSER")
    with raw_sql(scope) as run:
        denied_raw(run, f"ALTER ROLE {role} SUPERUSER")
        denied_raw(run, f"ALTER ROLE {role} CREATEROLE")
        denied_raw(run, "CREATE ROLE intruder LOGIN")


# --- platform tables and other customers ------------------------------------------


def test_platform_tables_are_out_of_reach(scope_factory, raw_sql, org_a):
    scope = scope_factory(org_a.organization.pk)
    tenant_schema = org_a.organization.schema_name
    for sql in ("SELECT * FROM public.accounts_user", f"SELECT * FROM {tenant_schema}.settings_secret"):
        refused(scope, sql)
    with raw_sql(scope) as run:
        denied_raw(run, "SELECT * FROM public.accounts_user")
        denied_raw(run, f"SELECT * FROM {tenant_schema}.settings_secret")
        denied_raw(run, "SELECT * FROM fastn_sandbox.sandbox")
        # Unqualified, the platform's tables are simply not on the search path.
        denied_raw(run, "SELECT * FROM accounts_user", codes=("42P01",))


def test_each_customer_sees_only_its_own_contacts(two_customers):
    x, y = two_customers
    assert [r["name"] for r in query(x, "SELECT name FROM contacts ORDER BY id")] == ["Xavier", "Xena"]
    assert [r["name"] for r in query(y, "SELECT name FROM contacts ORDER BY id")] == ["Yolanda"]


def test_another_customers_schema_qualified_table_is_refused(two_customers, raw_sql):
    x, y = two_customers
    other = sandbox_role_name(y)
    refused(x, f"SELECT * FROM {other}.contacts")
    refused(x, f"DELETE FROM {other}.contacts")
    with raw_sql(x) as run:
        denied_raw(run, f"SELECT * FROM {other}.contacts")
        denied_raw(run, f"INSERT INTO {other}.contacts (name) VALUES ('x')")
        denied_raw(run, f"CREATE TABLE {other}.planted (a int)")
    assert len(query(y, "SELECT * FROM contacts")) == 1


def test_grant_to_another_customer_is_refused_and_would_give_nothing(two_customers, raw_sql):
    x, y = two_customers
    x_role, y_role = sandbox_role_name(x), sandbox_role_name(y)
    refused(x, f"GRANT SELECT ON contacts TO {y_role}")
    with raw_sql(x) as run:
        # The owner of a table may grant it, but the schema stays closed to
        # others: X does not own its schema, so it cannot open it.
        run(f"GRANT SELECT ON contacts TO {y_role}")
        run(f"GRANT USAGE ON SCHEMA {x_role} TO {y_role}")  # a warning: nothing granted
    with raw_sql(y) as run:
        denied_raw(run, f"SELECT * FROM {x_role}.contacts")


def test_schema_itself_cannot_be_dropped_renamed_or_given_away(scope_factory, raw_sql):
    scope = scope_factory()
    role = sandbox_role_name(scope)
    refused(scope, f"DROP SCHEMA {role} CASCADE")
    refused(scope, f"ALTER SCHEMA {role} RENAME TO elsewhere")
    with raw_sql(scope) as run:
        denied_raw(run, f"DROP SCHEMA {role} CASCADE")
        denied_raw(run, f"ALTER SCHEMA {role} RENAME TO elsewhere")
        denied_raw(run, "CREATE SCHEMA elsewhere")


def test_organization_scope_is_separate_from_its_customers(scope_factory):
    org_id = next(iter([scope_factory().organization_id]))
    org_scope = scope_factory(org_id)
    customer = scope_factory(org_id, customer=True)
    assert sandbox_role_name(org_scope) != sandbox_role_name(customer)
    execute(org_scope, "CREATE TABLE settings (k text PRIMARY KEY, v text)")
    execute(org_scope, "INSERT INTO settings VALUES ('plan', 'gold')")
    refused(customer, "SELECT * FROM settings", code="42P01")
    execute(customer, "CREATE TABLE settings (k text PRIMARY KEY, v text)")
    assert query(customer, "SELECT * FROM settings") == []
    assert query(org_scope, "SELECT v FROM settings") == [{"v": "gold"}]


def test_same_customer_id_in_two_organizations_gets_two_schemas(scope_factory):
    import uuid

    customer = uuid.uuid4()
    a = scope_factory(customer=customer)
    b = scope_factory(customer=customer)
    assert sandbox_role_name(a) != sandbox_role_name(b)
    execute(a, "CREATE TABLE t (v int)")
    refused(b, "SELECT * FROM t", code="42P01")


# --- names of other schemas, roles and queries ---------------------------------------

NAME_REVEALING = [
    "SELECT nspname FROM pg_namespace",
    "SELECT * FROM pg_tables",
    "SELECT relname FROM pg_class",
    "SELECT rolname FROM pg_roles",
    "SELECT * FROM pg_stat_activity",
    "SELECT * FROM pg_catalog.pg_user",
    "SELECT * FROM pg_locks",
    "SELECT * FROM pg_stat_user_tables",
    "SELECT proname FROM pg_proc",
    "SELECT * FROM pg_database",
    "SELECT * FROM pg_settings",
    "SELECT * FROM pg_views",
    "SELECT * FROM pg_indexes",
    "SELECT typname FROM pg_type",
    "SELECT * FROM pg_auth_members",
    "SELECT * FROM pg_shdepend",
]


@pytest.mark.parametrize("sql", NAME_REVEALING)
def test_catalogs_naming_other_schemas_roles_or_queries_are_closed(two_customers, raw_sql, sql):
    x, _ = two_customers
    refused(x, sql)
    with raw_sql(x) as run:
        denied_raw(run, sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT pg_get_userbyid(10)",
        "SELECT * FROM pg_stat_get_activity(NULL)",
        "SELECT pg_get_viewdef('information_schema.tables'::regclass::oid)",
        "SELECT * FROM pg_lock_status()",
        "SELECT pg_total_relation_size(1259)",
        "SELECT pg_stat_get_live_tuples(1259)",
        "SELECT query_to_xml('SELECT 1', true, true, '')",
        "SELECT pg_notify('x', 'y')",
        "SELECT pg_advisory_lock(1)",
        "SELECT lo_create(0)",
        "SELECT pg_terminate_backend(pg_backend_pid())",
        "SELECT * FROM ts_stat('SELECT to_tsvector(''a'')')",
    ],
)
def test_functions_revealing_or_reaching_beyond_the_schema_are_revoked(scope_factory, raw_sql, sql):
    scope = scope_factory()
    refused(scope, sql)
    with raw_sql(scope) as run:
        denied_raw(run, sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1259::regclass",
        "SELECT CAST(2200 AS regnamespace)",
        "SELECT 10::oid::regrole",
        'SELECT U&"re\\0067class"(1259)',
        "SELECT format_type(16, NULL)",
        "SELECT has_table_privilege(1259, 'SELECT')",
        "SELECT to_regnamespace('public')",
        "SELECT nextval(1259)",
        "CREATE TABLE leak (r regclass)",
    ],
)
def test_oid_to_name_paths_the_privileges_cannot_close_are_refused(scope_factory, sql):
    # `1259::regclass` prints any relation's name whatever the privileges
    # (type output functions are not privilege-checked): the policy refuses them.
    refused(scope_factory(), sql)


def test_information_schema_lists_only_the_callers_own_tables(two_customers, org_a):
    x, y = two_customers
    execute(y, "CREATE TABLE only_in_y (a int)")
    tables = query(x, "SELECT table_schema, table_name FROM information_schema.tables")
    assert {t["table_name"] for t in tables if t["table_schema"] == sandbox_role_name(x)} == {"contacts"}
    schemas = {t["table_schema"] for t in tables}
    assert schemas <= {sandbox_role_name(x), "information_schema", "pg_catalog"}
    columns = query(x, "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns")
    assert {c["table_schema"] for c in columns} <= {sandbox_role_name(x), "information_schema", "pg_catalog"}
    assert {"contacts"} <= {c["table_name"] for c in columns}
    names = query(x, "SELECT schema_name FROM information_schema.schemata")
    everything = repr(tables) + repr(columns) + repr(names)
    for foreign in (sandbox_role_name(y), org_a.organization.schema_name, "public", "fastn_sandbox"):
        assert foreign not in everything.replace("'information_schema'", "")


@pytest.mark.parametrize(
    "view",
    [
        "tables",
        "columns",
        "schemata",
        "sequences",
        "table_constraints",
        "key_column_usage",
        "constraint_column_usage",
        "constraint_table_usage",
        "referential_constraints",
        "information_schema_catalog_name",
    ],
)
def test_kept_information_schema_views_work_for_the_role(two_customers, view):
    x, y = two_customers
    rows = query(x, f"SELECT * FROM information_schema.{view}")
    assert sandbox_role_name(y) not in repr(rows)


def test_other_information_schema_views_are_closed(scope_factory, raw_sql):
    scope = scope_factory()
    refused(scope, "SELECT * FROM information_schema.routines")
    with raw_sql(scope) as run:
        denied_raw(run, "SELECT * FROM information_schema.routines")
        denied_raw(run, "SELECT * FROM information_schema.table_privileges")


def test_other_sessions_queries_are_invisible(two_customers, raw_sql):
    x, y = two_customers
    with raw_sql(y) as run_y, raw_sql(x) as run_x:
        run_y("SELECT 'secret-marker-of-y' AS s")
        denied_raw(run_x, "SELECT query FROM pg_stat_activity")
        denied_raw(run_x, "SELECT pg_stat_get_backend_activity(s) FROM pg_stat_get_backend_idset() s")


# --- what workflow SQL may not do beyond privileges -------------------------------------


def test_temporary_tables_are_refused(scope_factory, raw_sql):
    scope = scope_factory()
    refused(scope, "CREATE TEMP TABLE t (a int)")
    refused(scope, "SELECT 1 AS a INTO TEMP t")
    with raw_sql(scope) as run:
        denied_raw(run, "CREATE TEMP TABLE t (a int)")


def test_copy_to_program_or_file_is_refused(scope_factory, raw_sql):
    scope = scope_factory()
    execute(scope, "CREATE TABLE t (a int)")
    for sql in ("COPY t TO PROGRAM 'id'", "COPY t TO '/tmp/fastn-x'", "COPY t FROM '/etc/passwd'", "COPY t FROM STDIN"):
        refused(scope, sql)
    with raw_sql(scope) as run:
        denied_raw(run, "COPY t TO PROGRAM 'id'")
        denied_raw(run, "COPY t TO '/tmp/fastn-x'")


def test_server_files_are_out_of_reach(scope_factory, raw_sql):
    scope = scope_factory()
    refused(scope, "SELECT pg_read_file('/etc/passwd')")
    with raw_sql(scope) as run:
        denied_raw(run, "SELECT pg_read_file('/etc/passwd')")
        denied_raw(run, "SELECT * FROM pg_ls_dir('/')")


def test_extensions_cannot_be_created(scope_factory, raw_sql):
    scope = scope_factory()
    refused(scope, "CREATE EXTENSION dblink")
    with raw_sql(scope) as run:
        # Not installed on every server; refused either way.
        denied_raw(run, "CREATE EXTENSION dblink", codes=("42501", "58P01", "0A000"))
        denied_raw(run, "CREATE EXTENSION pgcrypto", codes=("42501", "58P01", "0A000"))


def test_one_statement_per_call_even_without_parameters(scope_factory, raw_sql):
    scope = scope_factory()
    refused(scope, "SELECT 1; SELECT 2")
    refused(scope, "SELECT 1; DROP TABLE x")
    with raw_sql(scope) as run:
        # The extended protocol itself refuses a second command, params or not.
        denied_raw(run, "SELECT 1; SELECT 2", codes=("42601",))


@pytest.mark.parametrize(
    "sql", ["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT s", "START TRANSACTION", "PREPARE TRANSACTION 'x'"]
)
def test_transaction_control_is_refused(scope_factory, sql):
    error = refused(scope_factory(), sql)
    assert "own" in error.message


@pytest.mark.parametrize("sql", ["LISTEN x", "NOTIFY x", "UNLISTEN *", "SHOW search_path", "DISCARD ALL", "LOCK t"])
def test_session_level_statements_are_refused(scope_factory, sql):
    refused(scope_factory(), sql)


def test_set_search_path_cannot_carry_over_to_the_next_call(scope_factory, raw_sql):
    scope = scope_factory()
    refused(scope, "SET search_path TO public")
    with raw_sql(scope) as run:
        run("SET search_path TO public, pg_catalog")
        # Every call starts by resetting the session.
        denied_raw(run, "SELECT * FROM accounts_user", codes=("42P01",))
        assert run("SELECT current_setting('search_path') AS p")[0]["p"] == sandbox_role_name(scope)


def test_settings_changed_on_a_session_do_not_survive_to_the_next_call(scope_factory, raw_sql):
    scope = scope_factory()
    with raw_sql(scope) as run:
        run("SET work_mem = '1GB'")
        run("PREPARE p AS SELECT 1")
        assert run("SELECT current_setting('work_mem') AS w")[0]["w"] == "16MB"
        denied_raw(run, "EXECUTE p", codes=("26000",))


def test_role_cannot_change_its_own_defaults_to_weaken_later_sessions(scope_factory, raw_sql):
    scope = scope_factory()
    role = sandbox_role_name(scope)
    refused(scope, f"ALTER ROLE {role} SET search_path = public")
    with raw_sql(scope) as run:
        # PostgreSQL lets a role set its own defaults; the pool's startup
        # options win over them, and superuser-only limits stay.
        run(f"ALTER ROLE {role} SET search_path = public")
        run(f"ALTER ROLE {role} SET statement_timeout = 0")
        denied_raw(run, f"ALTER ROLE {role} SET temp_file_limit = -1")
    from apps.workflows.sandbox_db.pool import get_pool

    get_pool().discard_role("default", role)
    (row,) = query(scope, "SELECT current_setting('search_path') AS p, current_setting('temp_file_limit') AS t")
    assert row == {"p": role, "t": "1GB"}


def test_errors_name_nothing_of_the_platform(two_customers):
    x, y = two_customers
    error = refused(x, "SELECT * FROM nowhere", code="42P01")
    body = error.as_error_dict()
    assert body["name"] == "DatabaseError" and body["code"] == "42P01"
    assert "nowhere" in body["message"]
    for secret in (sandbox_role_name(y), "postgres", "password"):
        assert secret not in body["message"]


@pytest.mark.django_db
def test_deleting_a_customer_drops_its_fastn_db_schema_and_role(api, org_a, in_org):
    import time

    from django.db import connection

    from apps.settings.models import Customer
    from apps.workflows.sandbox_db import SandboxScope, sandbox_execute

    api(org_a).post("/api/v1/customers", {"external_id": "leaving", "name": "Leaving"})
    in_org(org_a)
    customer = Customer.objects.get(external_id="leaving")
    scope = SandboxScope(organization_id=org_a.organization.pk, schema_suffix=customer.id.hex)
    sandbox_execute(scope, "CREATE TABLE notes (body text)", [], deadline=time.monotonic() + 5)
    name = sandbox_role_name(scope)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [name])
        assert cursor.fetchone()[0] == 1
    assert api(org_a).delete("/api/v1/customers/leaving").status_code == 204
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [name])
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", [name])
        assert cursor.fetchone()[0] == 0
