"""Creating an organization's schema by cloning the template schema.

django-tenants can clone (`TENANT_BASE_SCHEMA`), but on every creation it
re-installs its 4,600-line clone function and then runs `migrate --fake` to
fill the new `django_migrations` table. Here the function is installed once
per process and database, and the migration records are copied from the
template with one INSERT, which together save about 100 ms per organization
(bench/tenant_create.py).
"""

from __future__ import annotations

from django.db import connection
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_exists
from psycopg import sql


def _ensure_clone_function() -> None:
    # Asked of the database each time (a catalog lookup, well under a
    # millisecond): an installation made inside a transaction that was then
    # rolled back (a failed creation, a test) is gone again, so remembering
    # it per process would break every later creation.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_proc WHERE proname = 'clone_schema' AND pronamespace = 'public'::regnamespace")
        if cursor.fetchone() is not None:
            return
    CloneSchema()._create_clone_schema_function()


def clone_schema_into(base_schema: str, new_schema: str) -> None:
    """Copy the template's structure (no rows) into `new_schema`, with the
    template's migration records, so the new schema is fully migrated."""
    if schema_exists(new_schema, case_sensitive=False):
        raise ValueError(f"Schema {new_schema!r} already exists.")
    connection.set_schema_to_public()
    _ensure_clone_function()
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.clone_schema(%s, %s, 'NODATA')", [base_schema, new_schema])
        cursor.execute(
            sql.SQL(
                "INSERT INTO {new}.django_migrations (app, name, applied) "
                "SELECT app, name, now() FROM {base}.django_migrations ORDER BY id"
            ).format(new=sql.Identifier(new_schema), base=sql.Identifier(base_schema))
        )
        # The clone function copies row-level security policies and ENABLE,
        # but not FORCE (which makes policies bind the tables' owner too).
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r' AND c.relforcerowsecurity",
            [base_schema],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(
                sql.SQL("ALTER TABLE {}.{} FORCE ROW LEVEL SECURITY").format(
                    sql.Identifier(new_schema), sql.Identifier(table)
                )
            )
