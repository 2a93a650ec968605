from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "apps.connectors"
    label = "connectors"
    verbose_name = "Connectors and connections"

    def ready(self) -> None:
        # What `rotate_encryption_keys` re-encrypts here (apps.core.rotation).
        from apps.connectors import lifecycle
        from apps.core import lifecycle as core_lifecycle
        from apps.core import rotation

        rotation.register_rotation("connection credentials", lifecycle.connection_credentials_rotate)
        rotation.register_rotation("OAuth app secrets", lifecycle.oauth_app_secrets_rotate)
        core_lifecycle.register_customer_deleting(_revoke_customer_connections)


def _revoke_customer_connections(customer, actor) -> None:
    """A customer is being deleted: revoke its connections at the providers first."""
    from apps.connectors.services import customer_connections_revoke

    customer_connections_revoke(actor=actor, customer=customer)
