from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "apps.connectors"
    label = "connectors"
    verbose_name = "Connectors and connections"

    def ready(self) -> None:
        from apps.settings.signals import customer_deleting

        customer_deleting.connect(_revoke_customer_connections, dispatch_uid="connectors.revoke_customer_connections")


def _revoke_customer_connections(sender, *, customer, actor, **kwargs) -> None:
    """A customer is being deleted: revoke its connections at the providers first."""
    from apps.connectors.services import customer_connections_revoke

    customer_connections_revoke(actor=actor, customer=customer)
