"""State entries point at their customer (a foreign key, not a hex string),
and the customer-scoped tables of workflows get row-level security."""

import uuid

import django.db.models.deletion
from django.db import migrations, models

from apps.core.rls import EnableCustomerRLS


def copy_customer_keys(apps, schema_editor):
    StateEntry = apps.get_model("workflows", "StateEntry")
    for entry in StateEntry.objects.exclude(customer_key="").only("id", "customer_key"):
        StateEntry.objects.filter(pk=entry.pk).update(customer_id=uuid.UUID(hex=entry.customer_key))


class Migration(migrations.Migration):
    dependencies = [
        ("settings", "0002_customrole"),
        ("workflows", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="stateentry", name="state_unique_key"),
        migrations.AddField(
            model_name="stateentry",
            name="customer",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="settings.customer"
            ),
        ),
        migrations.RunPython(copy_customer_keys, migrations.RunPython.noop),
        migrations.RemoveField(model_name="stateentry", name="customer_key"),
        migrations.AddConstraint(
            model_name="stateentry",
            constraint=models.UniqueConstraint(
                fields=("workflow", "customer", "key"), name="state_unique_key", nulls_distinct=False
            ),
        ),
        EnableCustomerRLS("Execution"),
        EnableCustomerRLS("StateEntry"),
    ]
