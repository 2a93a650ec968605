"""The NOLOGIN role that customer-scoped transactions switch to (apps/core/rls.py).

Roles are cluster-wide: creating it is idempotent and safe to run from
several databases at once.
"""

from django.db import migrations

from apps.core.rls import create_scope_role_sql


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_people_invitations_teams_domains")]

    operations = [migrations.RunSQL(create_scope_role_sql(), migrations.RunSQL.noop)]
