"""Row-level security for customer-scoped tables.

Customer-scoped tables (connections, executions, state, events, traces, …)
carry a `customer_id` column. PostgreSQL row-level security keyed on a
per-transaction setting makes sure that code running for one customer cannot
read or write another customer's rows, even when a query forgets its
`customer_id` filter.

How it works
------------

* Each such table gets RLS enabled **and forced**, and one policy::

      USING / WITH CHECK (
        CASE WHEN NULLIF(current_setting('fastn.customer_id', true), '') IS NULL
             THEN current_user <> 'fastn_customer_scope'
             ELSE customer_id = current_setting('fastn.customer_id', true)::<column type>
        END)

  With the setting on, only that customer's rows are visible and writable.
  Without it, organization-level code (dashboards, org-wide lists, reapers)
  sees every customer of the organization — by design: the organization owns
  all of them — while the scope role sees nothing (fail closed).

* PostgreSQL superusers, and table owners unless FORCE is set, bypass RLS.
  Fastn connects as the tables' owner, often a superuser (as on a developer
  machine). So `customer_scope()` switches the transaction to the NOLOGIN role
  `fastn_customer_scope` with `SET LOCAL ROLE`, after `set_config(…, true)`.
  That role is neither superuser nor owner, so the policy always applies to
  it. It holds DML grants on the application's tables (public and each
  organization's schema); whatever it cannot see, it cannot see.
  Deployments that connect as a non-superuser owner get the policy even
  without the role switch, thanks to FORCE. The connecting role must be a
  member of `fastn_customer_scope` (a superuser always is; the migration that
  creates the role grants it to a non-superuser when it can).

* `CustomerScopeMiddleware` runs API calls that carry
  `x-fastn-account-tenant-id` inside `customer_scope(<that customer's id>)`
  (one transaction per such request, like ATOMIC_REQUESTS). An unknown
  customer gets an impossible id: the request sees no customer's rows.

How an app adopts it (one line per table)
-----------------------------------------

1. Give the model a `customer` foreign key to `settings.Customer` (column
   `customer_id`) — or any column holding the Customer's UUID.
2. In the migration that creates the table, add the operation::

       from apps.core.rls import EnableCustomerRLS

       operations = [
           migrations.CreateModel(name="Connection", ...),
           EnableCustomerRLS("Connection"),          # column="customer_id" by default
       ]

   (For a raw table use `migrations.RunSQL(enable_customer_rls_sql("table", "uuid"),
   disable_customer_rls_sql("table"))`.)
3. Run customer work inside the scope::

       from apps.core.rls import customer_scope

       with customer_scope(customer.id):
           ...  # every query on RLS tables sees only this customer's rows

   Celery tasks that run a workflow for a customer wrap their body the same
   way; API views with the customer header already run inside it. Pass
   `using=customer_database(customer)` (apps.core.residency) when customer
   rows live in a regional database.

Keep organization-wide reads (lists across customers, retention jobs)
outside the scope; they see all rows of the organization's schema.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import uuid
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.migrations.operations.base import Operation
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from psycopg import sql

logger = logging.getLogger(__name__)

SETTING = "fastn.customer_id"
POLICY_NAME = "fastn_customer_isolation"
# An id no customer has: the scope of an unknown customer sees nothing.
NO_CUSTOMER = uuid.UUID(int=0)
CUSTOMER_HEADER = "HTTP_X_FASTN_ACCOUNT_TENANT_ID"


def scope_role() -> str:
    return settings.FASTN_CUSTOMER_SCOPE_ROLE


# --- SQL ------------------------------------------------------------------------


def _policy_expression(column: str, column_type: str) -> sql.Composable:
    current = sql.SQL("NULLIF(current_setting({}, true), '')").format(sql.Literal(SETTING))
    return sql.SQL(
        "CASE WHEN {current} IS NULL THEN current_user <> {role} ELSE {column} = ({current})::{type} END"
    ).format(
        current=current,
        role=sql.Literal(scope_role()),
        column=sql.Identifier(column),
        type=sql.SQL(column_type),
    )


def enable_customer_rls_sql(table: str, column_type: str = "uuid", *, column: str = "customer_id") -> list[str]:
    """Statements that put `table` (in the current schema) under the policy."""
    if column_type not in ("uuid", "text", "bigint", "integer") and not column_type.startswith("varchar"):
        raise ValueError(f"Unsupported customer column type {column_type!r}.")
    ident = sql.Identifier(table)
    expression = _policy_expression(column, column_type)
    statements = [
        sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(ident),
        sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(ident),
        sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(sql.Identifier(POLICY_NAME), ident),
        sql.SQL("CREATE POLICY {} ON {} USING ({}) WITH CHECK ({})").format(
            sql.Identifier(POLICY_NAME), ident, expression, expression
        ),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(ident, sql.Identifier(scope_role())),
    ]
    return [statement.as_string() for statement in statements]


def disable_customer_rls_sql(table: str) -> list[str]:
    ident = sql.Identifier(table)
    statements = [
        sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(sql.Identifier(POLICY_NAME), ident),
        sql.SQL("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY").format(ident),
        sql.SQL("ALTER TABLE {} DISABLE ROW LEVEL SECURITY").format(ident),
    ]
    return [statement.as_string() for statement in statements]


def create_scope_role_sql() -> str:
    """Create the NOLOGIN role once per cluster (roles are cluster-wide), and
    make the connecting role a member when it is not a superuser."""
    role = sql.Identifier(scope_role())
    return (
        sql.SQL(
            """
DO $fastn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {name}) THEN
    BEGIN
      CREATE ROLE {role} NOLOGIN NOSUPERUSER NOINHERIT NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    BEGIN
      EXECUTE format('GRANT %I TO %I', {name}, current_user);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'Grant role % to % by hand (see apps/core/rls.py).', {name}, current_user;
    END;
  END IF;
END
$fastn$;
"""
        )
        .format(name=sql.Literal(scope_role()), role=role)
        .as_string()
    )


def _grant_schema_sql(schema: str) -> list[str]:
    role = sql.Identifier(scope_role())
    ident = sql.Identifier(schema)
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident, role),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(ident, role),
        sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(ident, role),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}").format(
            ident, role
        ),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {}").format(
            ident, role
        ),
    ]
    return [statement.as_string() for statement in statements]


# Per process: (database alias + name, schema) pairs already granted.
_granted: set[tuple[str, str]] = set()


def ensure_scope_grants(schema: str, *, using: str = "default") -> None:
    """Give the scope role DML on the tables of `schema` and of public.

    Idempotent; done once per process and schema. Tables created later by
    migrations are covered by the default privileges set here, and new
    organizations' schemas (cloned from the template) on their first scoped
    transaction.
    """
    conn = connections[using]
    for name in ("public", schema):
        marker = (f"{using}:{conn.settings_dict['NAME']}", name)
        if marker in _granted:
            continue
        try:
            with transaction.atomic(using=using), conn.cursor() as cursor:
                for statement in _grant_schema_sql(name):
                    cursor.execute(statement)
        except DatabaseError as exc:
            # Two processes granting at the same moment can collide ("tuple
            # concurrently updated"); the other one did the same work.
            logger.warning("Granting %s on schema %s failed once: %s", scope_role(), name, exc)
            continue
        # Remembered only once committed: a grant rolled back with its
        # transaction (a failed request, a test) is made again next time.
        transaction.on_commit(functools.partial(_granted.add, marker), using=using)


# --- The scope --------------------------------------------------------------------


@contextlib.contextmanager
def customer_scope(customer_id: uuid.UUID | str | None, *, using: str = "default") -> Iterator[None]:
    """Run the block in a transaction that sees only `customer_id`'s rows.

    Opens (or nests into) a transaction, sets `fastn.customer_id` for it and
    switches to the scope role. On leaving, the previous setting and role
    are restored, so a scope inside a longer transaction ends with the block.
    `None` scopes to no customer at all (nothing visible).
    """
    value = str(customer_id) if customer_id is not None else str(NO_CUSTOMER)
    uuid.UUID(value)  # refuse anything that is not a customer id
    conn = connections[using]
    schema = getattr(conn, "schema_name", "public") or "public"
    ensure_scope_grants(schema, using=using)
    with transaction.atomic(using=using):
        with conn.cursor() as cursor:
            cursor.execute("SELECT current_setting(%s, true), current_user::text, session_user::text", [SETTING])
            previous_value, previous_role, session_role = cursor.fetchone()
            cursor.execute("SELECT set_config(%s, %s, true)", [SETTING, value])
            cursor.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(scope_role())).as_string())
        try:
            with transaction.atomic(using=using):
                yield
        finally:
            if not conn.needs_rollback and conn.in_atomic_block:
                with conn.cursor() as cursor:
                    if previous_role == session_role:
                        cursor.execute("SET LOCAL ROLE NONE")
                    else:
                        cursor.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(previous_role)).as_string())
                    cursor.execute("SELECT set_config(%s, %s, true)", [SETTING, previous_value or ""])


def current_customer_scope(*, using: str = "default") -> str | None:
    """The customer id the current transaction is scoped to, or None."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT NULLIF(current_setting(%s, true), '')", [SETTING])
        return cursor.fetchone()[0]


# --- Migration operation -----------------------------------------------------------------


class EnableCustomerRLS(Operation):
    """Put a customer-scoped model's table under the customer policy.

    `EnableCustomerRLS("Execution")` in the migration that creates the model.
    It runs wherever the model's app is migrated (each organization's schema
    for tenant apps) and is reversible.
    """

    reduces_to_sql = True
    reversible = True

    def __init__(self, model_name: str, column: str = "customer_id") -> None:
        self.model_name = model_name
        self.column = column

    def deconstruct(self):
        kwargs = {"column": self.column} if self.column != "customer_id" else {}
        return self.__class__.__qualname__, [self.model_name], kwargs

    def state_forwards(self, app_label, state) -> None:
        pass

    def _table_and_type(self, app_label, state, schema_editor):
        model = state.apps.get_model(app_label, self.model_name)
        field = next(f for f in model._meta.concrete_fields if f.column == self.column)
        column_type = field.db_type(schema_editor.connection)
        if field.is_relation:
            column_type = field.target_field.db_type(schema_editor.connection)
        return model, model._meta.db_table, column_type.split("(")[0] if column_type else "uuid"

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        model, table, column_type = self._table_and_type(app_label, to_state, schema_editor)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        schema_editor.execute(create_scope_role_sql(), params=None)
        for statement in enable_customer_rls_sql(table, column_type, column=self.column):
            schema_editor.execute(statement, params=None)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        model, table, _ = self._table_and_type(app_label, from_state, schema_editor)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        for statement in disable_customer_rls_sql(table):
            schema_editor.execute(statement, params=None)

    def describe(self) -> str:
        return f"Enable customer row-level security on {self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"rls_{self.model_name.lower()}"


# --- Requests ----------------------------------------------------------------------------


class CustomerScopeMiddleware:
    """Run customer-scoped API calls inside `customer_scope`.

    It applies to `/api/` requests of an organization that carry
    `x-fastn-account-tenant-id`. The customer is looked up before the scope
    starts; an unknown one is scoped to no customer (the view answers 404).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = (request.META.get(CUSTOMER_HEADER) or "").strip()
        organization = getattr(request, "tenant", None)
        if (
            not header
            or organization is None
            or not request.path_info.startswith("/api/")
            or not settings.FASTN_CUSTOMER_SCOPE_REQUESTS
        ):
            return self.get_response(request)
        if not _view_is_customer_scoped(request):
            return self.get_response(request)
        from apps.core.customers import customer_id_for_external_id

        customer_id = customer_id_for_external_id(external_id=header)
        request.customer_scope_id = customer_id  # type: ignore[attr-defined]
        with customer_scope(customer_id):
            return self.get_response(request)


def _view_is_customer_scoped(request: HttpRequest) -> bool:
    """Views opt out with `customer_scoped = False`: those that wait for
    Celery workers, which must see the rows the view commits (a whole-request
    transaction would hide them until the response)."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return True
    view_class = getattr(match.func, "view_class", None) or getattr(match.func, "cls", None)
    return getattr(view_class, "customer_scoped", True)
