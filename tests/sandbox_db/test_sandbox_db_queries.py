"""fastn.db.query / execute: values both ways, row counts, errors, limits, storage."""

from __future__ import annotations

import time
import uuid

import pytest

from apps.workflows.sandbox_db import (
    SandboxDbError,
    SandboxScope,
    sandbox_drop,
    sandbox_drop_organization,
    sandbox_execute,
    sandbox_query,
    sandbox_storage_by_organization,
    sandbox_storage_bytes,
)
from apps.workflows.sandbox_db.calls import storage_cache_forget
from apps.workflows.sandbox_db.roles import sandbox_exists, sandbox_role_name
from tests.sandbox_db.conftest import soon


def query(scope, sql, params=None, seconds=10.0):
    return sandbox_query(scope, sql, params or [], deadline=soon(seconds))


def execute(scope, sql, params=None):
    return sandbox_execute(scope, sql, params or [], deadline=soon())


def error_of(fn, *args, **kwargs) -> SandboxDbError:
    with pytest.raises(SandboxDbError) as caught:
        fn(*args, **kwargs)
    return caught.value


@pytest.fixture
def scope(scope_factory):
    return scope_factory(customer=True)


def test_create_insert_select_update_delete_with_placeholders(scope):
    assert execute(scope, "CREATE TABLE contacts (id serial PRIMARY KEY, name text, email text UNIQUE)") == {
        "rowCount": 0
    }
    for name in ("Ann", "Bob", "Cid"):
        assert execute(scope, "INSERT INTO contacts (name, email) VALUES ($1, $2)", [name, f"{name}@x.test"]) == {
            "rowCount": 1
        }
    rows = query(scope, "SELECT id, name FROM contacts WHERE name <> $1 ORDER BY id", ["Bob"])
    assert rows == [{"id": 1, "name": "Ann"}, {"id": 3, "name": "Cid"}]
    assert execute(scope, "UPDATE contacts SET name = upper(name) WHERE id > $1", [1]) == {"rowCount": 2}
    assert execute(scope, "SELECT * FROM contacts") == {"rowCount": 3}
    inserted = query(scope, "INSERT INTO contacts (name) VALUES ($1) RETURNING id, name", ["Dee"])
    assert inserted == [{"id": 4, "name": "Dee"}]
    assert query(scope, "UPDATE contacts SET name = 'x' WHERE false") == []
    assert execute(scope, "DELETE FROM contacts WHERE id IN (1, 2)") == {"rowCount": 2}
    assert query(scope, "SELECT count(*) AS n FROM contacts") == [{"n": 2}]


def test_values_come_back_json_safe(scope):
    execute(
        scope,
        """CREATE TABLE everything (
            i integer, s smallint, b bigint, huge bigint, n numeric, pi numeric, f double precision,
            t text, ok boolean, doc jsonb, j json, at timestamptz, local timestamp, day date, clock time,
            u uuid, tags text[], nums integer[], grid integer[][], blob bytea, span interval,
            ip inet, nothing text, cash money, r int4range, c char(3)
        )""",
    )
    execute(
        scope,
        """INSERT INTO everything VALUES (
            $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, '12:30:00',
            $15, $16, $17, $18, decode($19, 'base64'), '1 day 2 hours', '10.1.2.3', $20, 12.5, '[1,5)', 'ab'
        )""",
        [
            42,
            7,
            2**40,
            2**62,
            "12.50",
            "3.14159265358979323846264338327950288",
            1.5,
            "héllo",
            True,
            {"a": [1, {"b": None}]},
            ["x", 1],
            "2024-05-01T12:00:00.123456+02:00",
            "2024-05-01 08:00:00",
            "2024-05-01",
            "6f1d3a52-5f6b-4c45-9d6a-0e8c2b1f7a11",
            ["red", None, "blue"],
            [1, 2, 3],
            [[1, 2], [3, 4]],
            "AAEC/w==",
            None,
        ],
    )
    (row,) = query(scope, "SELECT * FROM everything")
    assert row == {
        "i": 42,
        "s": 7,
        "b": 2**40,
        "huge": str(2**62),
        "n": 12.5,
        "pi": "3.14159265358979323846264338327950288",
        "f": 1.5,
        "t": "héllo",
        "ok": True,
        "doc": {"a": [1, {"b": None}]},
        "j": ["x", 1],
        "at": "2024-05-01T10:00:00.123456Z",
        "local": "2024-05-01T08:00:00",
        "day": "2024-05-01",
        "clock": "12:30:00",
        "u": "6f1d3a52-5f6b-4c45-9d6a-0e8c2b1f7a11",
        "tags": ["red", None, "blue"],
        "nums": [1, 2, 3],
        "grid": [[1, 2], [3, 4]],
        "blob": "AAEC/w==",
        "span": "P1DT2H",
        "ip": "10.1.2.3",
        "nothing": None,
        "cash": "$12.50",
        "r": "[1,5)",
        "c": "ab ",
    }


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("9007199254740991::bigint", 9007199254740991),
        ("9007199254740992::bigint", "9007199254740992"),
        ("-9007199254740992::bigint", "-9007199254740992"),
        ("0.1::numeric", 0.1),
        ("100::numeric", 100),
        ("1.10::numeric", 1.1),
        ("12345678901234567890::numeric", "12345678901234567890"),
        ("0.1234567890123456789::numeric", "0.1234567890123456789"),
        ("'NaN'::numeric", "NaN"),
        ("'Infinity'::float8", "Infinity"),
        ("'-Infinity'::float8", "-Infinity"),
        ("'NaN'::float8", "NaN"),
        ("'infinity'::timestamptz", "infinity"),
        ("'2000-01-01 BC'::date", "2000-01-01 BC"),
        ("ARRAY[1.5, 2]::numeric[]", [1.5, 2]),
        ("ARRAY['2024-01-01 00:00:00+00']::timestamptz[]", ["2024-01-01T00:00:00Z"]),
        ("ARRAY[gen_random_uuid()] IS NOT NULL", True),
        ("'{\"big\": 12345678901234567890}'::jsonb", {"big": 12345678901234567890}),
        ("ROW(1, 'a')", "(1,a)"),
        ("'1 year 2 months'::interval", "P1Y2M"),
    ],
)
def test_value_mapping(scope, expression, expected):
    assert query(scope, f"SELECT {expression} AS v") == [{"v": expected}]


@pytest.mark.parametrize(
    ("param", "cast", "expected"),
    [
        (5, "", 5),
        (300, " * $1", 90000),  # bigint, not smallint: no overflow
        (2**70, "", str(2**70)),
        (2.5, "", 2.5),
        (True, "", True),
        (None, "::text", None),
        ("2024-05-01", "::date", "2024-05-01"),
        ({"a": 1}, " -> 'a'", 1),
        ([1, 2, 3], "[2]", 2),
        ([1, 2.5], "[2]", 2.5),
        (["a", "b"], "::text[]", ["a", "b"]),
        ([[1, 2], [3, 4]], "[2][1]", 3),
        ([{"a": 1}], " -> 0 -> 'a'", 1),
        (["a", 1], " -> 1", 1),
        ([], "::int[]", []),
    ],
)
def test_parameter_mapping(scope, param, cast, expected):
    assert query(scope, f"SELECT $1{cast} AS v", [param]) == [{"v": expected}]


def test_array_parameters_work_with_any(scope):
    execute(scope, "CREATE TABLE t (id int)")
    execute(scope, "INSERT INTO t SELECT generate_series(1, 10)")
    assert query(scope, "SELECT id FROM t WHERE id = ANY($1) ORDER BY id", [[2, 4, 99]]) == [{"id": 2}, {"id": 4}]


def test_bad_parameters_are_refused_cleanly(scope):
    assert error_of(query, scope, "SELECT $1", [object()]).code == "invalid_params"
    assert error_of(sandbox_query, scope, "SELECT 1", {"a": 1}, deadline=soon()).code == "invalid_params"
    assert error_of(query, scope, "SELECT $1::int", ["x"]).code == "22P02"
    assert error_of(query, scope, "SELECT $2", [1]).code in {"08P01", "42P02"}


def test_duplicate_column_names_keep_the_last(scope):
    assert query(scope, "SELECT 1 AS a, 2 AS a") == [{"a": 2}]


def test_postgres_errors_become_clean_error_dicts(scope):
    execute(scope, "CREATE TABLE u (email text UNIQUE)")
    execute(scope, "INSERT INTO u VALUES ('a@x.test')")
    error = error_of(execute, scope, "INSERT INTO u VALUES ($1)", ["a@x.test"])
    assert error.as_error_dict() == {
        "message": 'duplicate key value violates unique constraint "u_email_key" '
        "(Key (email)=(a@x.test) already exists.)",
        "name": "DatabaseError",
        "code": "23505",
    }
    assert error_of(query, scope, "SELEC 1").code == "42601"
    assert error_of(query, scope, "SELECT nope FROM u").code == "42703"
    assert error_of(query, scope, "SELECT 1/0").code == "22012"


# --- time -----------------------------------------------------------------------------


def test_statement_stops_at_the_deadline(scope):
    query(scope, "SELECT 1")  # role, schema and a pooled connection exist
    start = time.monotonic()
    error = error_of(sandbox_query, scope, "SELECT pg_sleep(5)", [], deadline=start + 0.4)
    elapsed = time.monotonic() - start
    assert error.code == "statement_timeout"
    assert error.retryable
    # Typically 10-20 ms past the deadline; the margin allows for a loaded CI machine.
    assert 0.38 <= elapsed < 0.4 + 0.25, elapsed
    # The connection is fine afterwards.
    assert query(scope, "SELECT 1 AS one") == [{"one": 1}]


def test_past_deadline_raises_without_running(scope):
    execute(scope, "CREATE TABLE t (a int)")
    error = error_of(sandbox_execute, scope, "INSERT INTO t VALUES (1)", [], deadline=time.monotonic() - 1)
    assert error.code == "statement_timeout"
    assert query(scope, "SELECT count(*) AS n FROM t") == [{"n": 0}]


def test_tiny_remaining_budget_still_gets_a_few_milliseconds(scope):
    query(scope, "SELECT 1")  # role, schema and a pooled connection exist
    assert query(scope, "SELECT 1 AS one", seconds=0.02) == [{"one": 1}]


def test_each_call_is_its_own_transaction(scope):
    execute(scope, "CREATE TABLE t (a int CHECK (a > 0))")
    error_of(execute, scope, "INSERT INTO t VALUES (1), (-1)")
    assert query(scope, "SELECT count(*) AS n FROM t") == [{"n": 0}]
    execute(scope, "INSERT INTO t VALUES (1), (2)")
    assert query(scope, "SELECT count(*) AS n FROM t") == [{"n": 2}]


# --- result caps ---------------------------------------------------------------------------


def test_row_cap(scope, settings):
    settings.FASTN_SANDBOX_DB_MAX_ROWS = 100
    assert len(query(scope, "SELECT generate_series(1, 100) AS n")) == 100
    error = error_of(query, scope, "SELECT generate_series(1, 1000000) AS n")
    assert error.code == "too_many_rows"
    assert "100 rows" in error.message and "LIMIT" in error.message
    # execute() counts rows without returning them: no cap.
    assert execute(scope, "SELECT generate_series(1, 1000) AS n") == {"rowCount": 1000}
    assert query(scope, "SELECT 1 AS one") == [{"one": 1}]


def test_default_row_cap_is_ten_thousand(scope):
    assert len(query(scope, "SELECT generate_series(1, 10000) AS n")) == 10_000
    assert error_of(query, scope, "SELECT generate_series(1, 10001) AS n").code == "too_many_rows"


def test_byte_cap(scope, settings):
    settings.FASTN_SANDBOX_DB_MAX_RESULT_BYTES = 100_000
    assert len(query(scope, "SELECT repeat('x', 1000) AS s FROM generate_series(1, 90)")) == 90
    error = error_of(query, scope, "SELECT repeat('x', 1000) AS s FROM generate_series(1, 1000)")
    assert error.code == "result_too_large"


def test_returning_past_the_cap_says_whether_changes_were_saved(scope, settings):
    settings.FASTN_SANDBOX_DB_MAX_ROWS = 10
    execute(scope, "CREATE TABLE t (a int)")
    error = error_of(query, scope, "INSERT INTO t SELECT generate_series(1, 50) RETURNING a")
    assert error.code == "too_many_rows"
    saved = query(scope, "SELECT count(*) AS n FROM t")[0]["n"]
    assert ("saved" in error.message) == (saved == 50)
    assert saved in (0, 50)


# --- storage -----------------------------------------------------------------------------------


def test_storage_bytes_grow_with_rows_and_drop_frees_them(scope):
    assert sandbox_storage_bytes(scope) == 0
    execute(scope, "CREATE TABLE t (id serial PRIMARY KEY, body text)")
    empty = sandbox_storage_bytes(scope)
    execute(scope, "INSERT INTO t (body) SELECT repeat(md5(g::text), 20) FROM generate_series(1, 2000) g")
    full = sandbox_storage_bytes(scope)
    assert full > empty + 1_000_000
    assert sandbox_storage_by_organization(scope.organization_id) == {scope.schema_suffix: full}
    execute(scope, "DROP TABLE t")
    assert sandbox_storage_bytes(scope) == 0


def test_writes_are_refused_over_the_storage_cap_but_deletes_run(scope, settings):
    settings.FASTN_SANDBOX_DB_MAX_SCHEMA_BYTES = 50_000
    storage_cache_forget(scope)
    execute(scope, "CREATE TABLE t (body text)")
    execute(scope, "INSERT INTO t SELECT repeat(md5(g::text), 10) FROM generate_series(1, 2000) g")
    storage_cache_forget(scope)
    error = error_of(execute, scope, "INSERT INTO t VALUES ('more')")
    assert error.code == "storage_quota_exceeded"
    assert error_of(execute, scope, "CREATE TABLE u (a int)").code == "storage_quota_exceeded"
    assert query(scope, "SELECT count(*) AS n FROM t") == [{"n": 2000}]
    assert execute(scope, "DELETE FROM t WHERE body LIKE 'a%'")["rowCount"] > 0
    execute(scope, "TRUNCATE t")
    storage_cache_forget(scope)
    assert execute(scope, "INSERT INTO t VALUES ('again')") == {"rowCount": 1}
    storage_cache_forget(scope)


# --- life cycle ------------------------------------------------------------------------------------


def test_schema_and_role_are_created_on_first_use_and_dropped(scope_factory):
    scope = scope_factory(customer=True)
    role = sandbox_role_name(scope)
    assert not sandbox_exists(role)
    execute(scope, "CREATE TABLE t (a int)")
    assert sandbox_exists(role)
    sandbox_drop(scope)
    assert not sandbox_exists(role)
    # Used again, it starts empty.
    assert error_of(query, scope, "SELECT * FROM t").code == "42P01"


def test_dropping_an_organization_drops_all_its_sandboxes_only(scope_factory):
    org_id = scope_factory().organization_id
    mine = [scope_factory(org_id), scope_factory(org_id, customer=True), scope_factory(org_id, customer=True)]
    other = scope_factory(customer=True)
    for scope in [*mine, other]:
        execute(scope, "CREATE TABLE t (a int)")
    assert sandbox_drop_organization(org_id) == 3
    assert not any(sandbox_exists(sandbox_role_name(s)) for s in mine)
    assert sandbox_exists(sandbox_role_name(other))


def test_names_are_deterministic_valid_and_reveal_no_customer_id(scope_factory):
    customer = uuid.uuid4()
    scope = scope_factory(4242, customer=customer)
    name = sandbox_role_name(scope)
    assert name == sandbox_role_name(SandboxScope(4242, customer.hex))
    assert name.startswith("fdb_4242_") and len(name) <= 63 and name.isascii()
    assert customer.hex[:8] not in name
    assert sandbox_role_name(scope_factory(4242)) != name


@pytest.mark.parametrize(
    "kwargs",
    [
        {"organization_id": 0, "schema_suffix": "org"},
        {"organization_id": "1", "schema_suffix": "org"},
        {"organization_id": 1, "schema_suffix": "ORG"},
        {"organization_id": 1, "schema_suffix": "x; DROP"},
        {"organization_id": 1, "schema_suffix": uuid.uuid4().hex.upper()},
        {"organization_id": 1, "schema_suffix": "org", "database": ""},
    ],
)
def test_invalid_scopes_are_refused(kwargs):
    with pytest.raises(ValueError):
        SandboxScope(**kwargs)


def test_unknown_database_alias_is_a_clean_error(scope_factory):
    scope = scope_factory(customer=True, database="nowhere")
    assert error_of(query, scope, "SELECT 1").code == "database_unavailable"
