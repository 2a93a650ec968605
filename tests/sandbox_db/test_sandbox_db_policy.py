"""The statement policy on its own (no database): what workflow SQL may say."""

from __future__ import annotations

import pytest

from apps.workflows.sandbox_db.exceptions import SandboxDbError
from apps.workflows.sandbox_db.policy import statement_check

SCHEMA = "fdb_1_0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("sql", "kind", "writes"),
    [
        ("SELECT 1", "SelectStmt", False),
        ("select id, name from contacts where id = $1 order by id limit $2", "SelectStmt", False),
        (f"SELECT * FROM {SCHEMA}.contacts", "SelectStmt", False),
        ("WITH gone AS (DELETE FROM t RETURNING *) SELECT count(*) FROM gone", "SelectStmt", False),
        ("VALUES (1), (2)", "SelectStmt", False),
        ("TABLE contacts", "SelectStmt", False),
        ("INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET a = EXCLUDED.a RETURNING *", "InsertStmt", True),
        ("UPDATE t SET a = a + 1 WHERE id = ANY($1)", "UpdateStmt", True),
        ("DELETE FROM t WHERE created_at < now() - interval '1 day'", "DeleteStmt", False),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", "MergeStmt", True),
        ("CREATE TABLE IF NOT EXISTS t (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())", "CreateStmt", True),
        ("CREATE UNLOGGED TABLE cache (k text PRIMARY KEY, v jsonb)", "CreateStmt", True),
        ("CREATE TABLE t2 AS SELECT * FROM t", "CreateTableAsStmt", True),
        ("CREATE MATERIALIZED VIEW mv AS SELECT count(*) FROM t", "CreateTableAsStmt", True),
        ("REFRESH MATERIALIZED VIEW mv", "RefreshMatViewStmt", True),
        ("CREATE VIEW v AS SELECT id FROM t", "ViewStmt", True),
        ("CREATE INDEX IF NOT EXISTS t_doc ON t USING gin (doc)", "IndexStmt", True),
        ("ALTER TABLE t ADD COLUMN note text", "AlterTableStmt", True),
        ("ALTER TABLE t RENAME COLUMN note TO remark", "RenameStmt", False),
        ("DROP TABLE IF EXISTS t CASCADE", "DropStmt", False),
        ("TRUNCATE t RESTART IDENTITY", "TruncateStmt", False),
        ("CREATE SEQUENCE s", "CreateSeqStmt", True),
        ("SELECT nextval('s'), setval('s', 10)", "SelectStmt", False),
        ("CREATE TYPE mood AS ENUM ('happy', 'sad')", "CreateEnumStmt", True),
        ("CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%')", "CreateDomainStmt", True),
        ("EXPLAIN ANALYZE SELECT * FROM t", "ExplainStmt", False),
        ("SELECT * FROM information_schema.columns WHERE table_name = $1", "SelectStmt", False),
        ("SELECT name FROM pg_timezone_names", "SelectStmt", False),
        ("SELECT pg_sleep(0.1), pg_typeof(1), pg_column_size('x'), current_setting('TimeZone')", "SelectStmt", False),
        ("SELECT gen_random_uuid(), now(), jsonb_build_object('a', 1), to_char(now(), 'YYYY')", "SelectStmt", False),
        ("SELECT pg_catalog.lower('A')", "SelectStmt", False),
        ("SELECT regexp_replace('a', 'a', 'b')", "SelectStmt", False),
    ],
)
def test_allowed(sql, kind, writes):
    info = statement_check(sql, SCHEMA)
    assert (info.kind, info.writes) == (kind, writes)


@pytest.mark.parametrize(
    "sql",
    [
        "",
        "  ;  ",
        "SELECT 1; SELECT 2",
        "BEGIN",
        "COMMIT",
        "SAVEPOINT a",
        "SET search_path TO public",
        "SET LOCAL statement_timeout = 0",
        "RESET ALL",
        "SHOW ALL",
        "COPY t FROM STDIN",
        "COPY (SELECT 1) TO STDOUT",
        "LISTEN c",
        "NOTIFY c",
        "DO $$ BEGIN END $$",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE PROCEDURE p() LANGUAGE sql AS 'SELECT 1'",
        "CALL p()",
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
        "CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING",
        "GRANT SELECT ON t TO PUBLIC",
        "REVOKE SELECT ON t FROM PUBLIC",
        "CREATE ROLE r",
        "ALTER ROLE r SUPERUSER",
        "ALTER USER current_user SET search_path = public",
        "CREATE SCHEMA s",
        "DROP SCHEMA s",
        "ALTER SCHEMA s RENAME TO t",
        "CREATE EXTENSION pgcrypto",
        "CREATE DATABASE d",
        "PREPARE p AS SELECT 1",
        "EXECUTE p",
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
        "FETCH ALL FROM c",
        "LOCK TABLE t",
        "VACUUM t",
        "ANALYZE t",
        "DISCARD ALL",
        "LOAD 'plpgsql'",
        "CHECKPOINT",
        "ALTER SYSTEM SET work_mem = '1GB'",
        "CREATE TEMP TABLE t (a int)",
        "CREATE TEMPORARY TABLE t AS SELECT 1",
        "SELECT 1 INTO TEMP t",
        "CREATE TABLE t (a int) TABLESPACE pg_default",
        "ALTER TABLE t SET TABLESPACE pg_default",
        "ALTER TABLE t OWNER TO postgres",
        "ALTER TABLE t SET SCHEMA public",
        "DROP FUNCTION f()",
        "DROP TABLE public.t",
        "CREATE TABLE public.t (a int)",
        "CREATE TYPE public.e AS ENUM ('a')",
        "SELECT * FROM public.accounts_user",
        "SELECT * FROM org_alpha.settings_secret",
        "SELECT * FROM fdb_2_ffffffffffffffffffffffff.contacts",
        "SELECT * FROM otherdb.public.t",
        "SELECT * FROM pg_class",
        "SELECT * FROM pg_catalog.pg_namespace",
        "SELECT * FROM pg_stat_activity",
        "SELECT * FROM information_schema.routines",
        "SELECT * FROM fastn_sandbox.sandbox",
        "CREATE VIEW v AS SELECT * FROM pg_roles",
        "INSERT INTO t SELECT rolname FROM pg_roles",
        "WITH x AS (SELECT * FROM pg_namespace) SELECT * FROM x",
        "EXPLAIN SELECT * FROM pg_class",
        "SELECT 1259::regclass",
        "SELECT '1'::regrole",
        "SELECT CAST(1 AS pg_catalog.regnamespace)",
        'SELECT 1::"regclass"',
        "SELECT ARRAY[1259]::regclass[]",
        "SELECT regclass(1259)",
        "SELECT * FROM json_to_record('{}') AS x(r regclass)",
        "SELECT set_config('role', 'postgres', false)",
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT pg_ls_dir('/')",
        "SELECT pg_get_userbyid(10)",
        "SELECT pg_get_viewdef(1)",
        "SELECT format_type(16, NULL)",
        "SELECT obj_description(1)",
        "SELECT has_table_privilege(1259, 'SELECT')",
        "SELECT to_regclass('x')",
        "SELECT pg_total_relation_size(1259)",
        "SELECT pg_stat_get_live_tuples(1259)",
        "SELECT query_to_xml('select 1', true, true, '')",
        "SELECT * FROM ts_stat('select 1')",
        "SELECT lo_create(0)",
        "SELECT pg_advisory_lock(1)",
        "SELECT pg_notify('c', 'x')",
        "SELECT pg_terminate_backend(1)",
        "SELECT dblink('x', 'y')",
        "SELECT public.clone_schema('a', 'b', true)",
        "SELECT nextval(1259)",
        "SELECT currval($1)",
        "SELECT 1 OPERATOR(public.+) 2",
        "CREATE TABLE pg_fake (a int)",
    ],
)
def test_refused(sql):
    with pytest.raises(SandboxDbError) as caught:
        statement_check(sql, SCHEMA)
    assert caught.value.code in {"forbidden_statement", "42601"}, caught.value


def test_syntax_errors_carry_the_sqlstate():
    with pytest.raises(SandboxDbError) as caught:
        statement_check("SELEC 1", SCHEMA)
    assert caught.value.code == "42601"
    assert "syntax error" in caught.value.message


def test_refusals_explain_themselves():
    with pytest.raises(SandboxDbError) as caught:
        statement_check("BEGIN", SCHEMA)
    assert "its own" in caught.value.message
    with pytest.raises(SandboxDbError) as caught:
        statement_check("SELECT * FROM pg_tables", SCHEMA)
    assert "information_schema.tables" in caught.value.message


def test_very_long_statements_are_refused():
    with pytest.raises(SandboxDbError):
        statement_check("SELECT " + "1 + " * 300_000 + "1", SCHEMA)


def test_non_string_sql_is_refused():
    with pytest.raises(SandboxDbError) as caught:
        statement_check(None, SCHEMA)
    assert caught.value.code == "invalid_params"
