"""Row-level security on customer-scoped tables: a query that forgets its
customer filter still sees only the scoped customer's rows."""

import pytest
from django.apps import apps as django_apps
from django.db import DatabaseError, connection, models, transaction
from django.db.migrations.state import ModelState, ProjectState

from apps.core.rls import EnableCustomerRLS, customer_scope, enable_customer_rls_sql, ensure_scope_grants
from apps.settings.models import Customer

pytestmark = pytest.mark.django_db


def notes() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM rls_probe ORDER BY note")
        return [row[0] for row in cursor.fetchall()]


def current_user() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return cursor.fetchone()[0]


@pytest.fixture
def probe(org_a, in_org):
    """A customer-scoped raw table in Alpha's schema, two customers, two rows each."""
    in_org(org_a)
    x = Customer.objects.create(external_id="rls-x", name="X")
    y = Customer.objects.create(external_id="rls-y", name="Y")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE rls_probe (id serial PRIMARY KEY, customer_id uuid NOT NULL, note text)")
        for statement in enable_customer_rls_sql("rls_probe", "uuid"):
            cursor.execute(statement)
        cursor.execute(
            "INSERT INTO rls_probe (customer_id, note) VALUES (%s, 'x1'), (%s, 'x2'), (%s, 'y1'), (%s, 'y2')",
            [x.id, x.id, y.id, y.id],
        )
    ensure_scope_grants(connection.schema_name)
    return x, y


def test_the_connection_is_a_superuser_which_is_why_the_scope_switches_role(probe):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone()[0] is True


def test_a_query_without_a_filter_sees_only_the_scoped_customer(probe):
    x, y = probe
    with customer_scope(x.id):
        assert notes() == ["x1", "x2"]
        assert current_user() == "fastn_customer_scope"
    with customer_scope(y.id):
        assert notes() == ["y1", "y2"]
    # Organization-level code (no setting, the connecting role) sees every customer.
    assert notes() == ["x1", "x2", "y1", "y2"]
    assert current_user() != "fastn_customer_scope"


def test_the_scope_cannot_write_or_move_rows_to_another_customer(probe):
    x, y = probe
    with customer_scope(x.id):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO rls_probe (customer_id, note) VALUES (%s, 'sneaky')", [y.id])
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE rls_probe SET customer_id = %s", [y.id])
        with connection.cursor() as cursor:
            cursor.execute("UPDATE rls_probe SET note = note || '!'")
            assert cursor.rowcount == 2
            cursor.execute("DELETE FROM rls_probe")
            assert cursor.rowcount == 2
    assert notes() == ["y1", "y2"]


def test_the_scope_role_without_a_customer_sees_nothing(probe):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL ROLE fastn_customer_scope")
        assert notes() == []
        cursor.execute("RESET ROLE")
    with customer_scope(None):
        assert notes() == []


def test_the_scope_ends_with_its_block_even_inside_a_longer_transaction(probe):
    x, y = probe
    with transaction.atomic():
        with customer_scope(x.id):
            with customer_scope(y.id):
                assert notes() == ["y1", "y2"]
            assert notes() == ["x1", "x2"]
        assert notes() == ["x1", "x2", "y1", "y2"]
        # An error inside the block rolls back its work and still ends the scope.
        with pytest.raises(RuntimeError), customer_scope(x.id):
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM rls_probe")
            raise RuntimeError("boom")
        assert notes() == ["x1", "x2", "y1", "y2"]


def test_customer_scoped_requests_run_inside_the_scope(api, org_a, probe, settings):
    settings.ROOT_URLCONF = "tests.core.rls_urls"
    x, _ = probe
    scoped = api(org_a, customer="rls-x").get("/api/v1/probe").json()
    assert scoped == {"notes": ["x1", "x2"], "scope": str(x.id)}
    assert api(org_a, customer="rls-y").get("/api/v1/probe").json()["notes"] == ["y1", "y2"]
    # An unknown customer sees no customer's rows; organization-level calls see all.
    assert api(org_a, customer="nobody").get("/api/v1/probe").json()["notes"] == []
    assert api(org_a).get("/api/v1/probe").json() == {"notes": ["x1", "x2", "y1", "y2"], "scope": None}


def test_the_migration_operation_enables_the_policy_on_a_model(org_a, in_org):
    in_org(org_a)
    state = ProjectState()
    state.add_model(
        ModelState(
            "settings",
            "ScopedThing",
            [
                ("id", models.BigAutoField(primary_key=True)),
                ("customer", models.ForeignKey("settings.Customer", on_delete=models.CASCADE)),
                ("note", models.TextField()),
            ],
            options={"db_table": "rls_scoped_thing"},
        )
    )
    real = ProjectState.from_apps(django_apps)
    for model_state in state.models.values():
        real.add_model(model_state)
    with connection.schema_editor(atomic=False) as editor:
        editor.create_model(real.apps.get_model("settings", "ScopedThing"))
        operation = EnableCustomerRLS("ScopedThing")
        operation.database_forwards("settings", editor, real, real)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'rls_scoped_thing'::regclass"
        )
        assert cursor.fetchone() == (True, True)
        cursor.execute("SELECT qual FROM pg_policies WHERE tablename = 'rls_scoped_thing'")
        assert "fastn.customer_id" in cursor.fetchone()[0]
    x = Customer.objects.create(external_id="op-x", name="X")
    y = Customer.objects.create(external_id="op-y", name="Y")
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO rls_scoped_thing (customer_id, note) VALUES (%s, 'x'), (%s, 'y')", [x.id, y.id])
    with customer_scope(x.id), connection.cursor() as cursor:
        cursor.execute("SELECT note FROM rls_scoped_thing")
        assert cursor.fetchall() == [("x",)]
    assert operation.deconstruct() == ("EnableCustomerRLS", ["ScopedThing"], {})
    with connection.cursor() as cursor:  # the inserts' deferred FK checks, before ALTER TABLE
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.schema_editor(atomic=False) as editor:
        operation.database_backwards("settings", editor, real, real)
    with connection.cursor() as cursor:
        cursor.execute("SELECT relrowsecurity FROM pg_class WHERE oid = 'rls_scoped_thing'::regclass")
        assert cursor.fetchone() == (False,)
