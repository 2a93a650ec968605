"""The customer-scoped tables of the product (executions, state, connections,
traces) are under row-level security, in every organization's schema."""

import pytest
from django.db import connection

from apps.core.rls import customer_scope
from apps.settings.models import Customer

pytestmark = pytest.mark.django_db

SCOPED_TABLES = ("workflows_execution", "workflows_stateentry", "connectors_connection", "connectors_calltrace")


def policies(schema: str) -> dict[str, bool]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = ANY(%s)",
            [schema, list(SCOPED_TABLES)],
        )
        return dict(cursor.fetchall())


def test_every_customer_scoped_table_has_forced_row_level_security(org_a):
    """org_a is cloned from the template: the clone carries policies and FORCE."""
    assert policies(org_a.organization.schema_name) == {table: True for table in SCOPED_TABLES}
    from django.conf import settings

    assert policies(settings.TENANT_BASE_SCHEMA) == {table: True for table in SCOPED_TABLES}


def test_executions_and_state_without_a_filter_show_only_the_scoped_customer(org_a, in_org):
    from apps.workflows.models import Execution, StateEntry, Workflow

    in_org(org_a)
    x = Customer.objects.create(external_id="rls-exec-x", name="X")
    y = Customer.objects.create(external_id="rls-exec-y", name="Y")
    workflow = Workflow.objects.create(slug="rls-wf", name="RLS", code="export default () => 1", timeout_ms=5000)
    for customer in (x, y, None):
        Execution.objects.create(
            workflow_slug="rls-wf",
            version_number=1,
            environment="production",
            tier="standard",
            triggered_by="manual",
            timeout_ms=5000,
            customer=customer,
            customer_external_id=customer.external_id if customer else "",
        )
        StateEntry.objects.create(workflow=workflow, customer=customer, key="k", value=1)
    with customer_scope(x.id):
        assert list(Execution.objects.values_list("customer_external_id", flat=True)) == ["rls-exec-x"]
        assert list(StateEntry.objects.values_list("customer_id", flat=True)) == [x.id]
    with customer_scope(y.id):
        assert Execution.objects.count() == 1 and StateEntry.objects.count() == 1
    # Organization-level code (reapers, lists across customers) sees everything.
    assert Execution.objects.count() == 3 and StateEntry.objects.count() == 3


def test_connections_and_traces_without_a_filter_show_only_the_scoped_customer(org_a, in_org):
    from apps.connectors.models import CallTrace, Connection, Connector

    in_org(org_a)
    x = Customer.objects.create(external_id="rls-conn-x", name="X")
    y = Customer.objects.create(external_id="rls-conn-y", name="Y")
    definition = {
        "slug": "rls-api",
        "name": "RLS",
        "base_url": "https://api.example.com",
        "auth": {"type": "none"},
        "actions": {"ping": {"method": "GET", "path": "/ping"}},
    }
    connector = Connector.objects.create(slug="rls-api", name="RLS", definition=definition)
    for customer in (x, y):
        Connection.objects.create(connector=connector, customer=customer)
        CallTrace.objects.create(connector_slug="rls-api", action="ping", customer=customer)
    with customer_scope(x.id):
        assert list(Connection.objects.values_list("customer_id", flat=True)) == [x.id]
        assert list(CallTrace.objects.values_list("customer_id", flat=True)) == [x.id]
    assert Connection.objects.count() == 2 and CallTrace.objects.count() == 2
