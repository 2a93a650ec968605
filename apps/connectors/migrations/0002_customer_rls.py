"""Row-level security on the customer-scoped tables of connectors: a query
under a customer's scope sees only that customer's connections and traces."""

from django.db import migrations

from apps.core.rls import EnableCustomerRLS


class Migration(migrations.Migration):
    dependencies = [("connectors", "0001_initial")]

    operations = [
        EnableCustomerRLS("Connection"),
        EnableCustomerRLS("CallTrace"),
    ]
