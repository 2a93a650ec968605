"""Writes of the connector layer (STYLE.md: services). One module per topic:

- `connectors`: connectors and their versions, catalogue installs, OpenAPI imports;
- `connections`: connecting, reconnecting, checking and revoking connections;
- `oauth_apps`: Settings → OAuth Apps and the platform-managed apps;
- `oauth_flow`: the authorisation-code flow (authorize → callback);
- `tokens`: refreshing OAuth tokens, one refresh at a time per connection;
- `calls`: running actions (`connector_call_for_run` for workflows), traces;
- `status`: the connection status state machine.

The names below are the app's public interface for other apps.
"""

from apps.connectors.services.calls import (
    ConnectorRunError,
    ConnectorRunResult,
    connector_call,
    connector_call_for_run,
)
from apps.connectors.services.connections import (
    connection_create,
    connection_delete,
    connection_revoke,
    connection_update,
    connection_verify,
    connections_rotate_encryption,
    customer_connections_revoke,
)
from apps.connectors.services.connectors import (
    connector_create,
    connector_delete,
    connector_import_openapi,
    connector_install_from_catalog,
    connector_update,
)
from apps.connectors.services.oauth_apps import (
    oauth_app_create,
    oauth_app_delete,
    oauth_app_update,
    oauth_apps_rotate_encryption,
    oauth_redirect_uris_set,
)
from apps.connectors.services.oauth_flow import (
    oauth_authorize_start,
    oauth_begin_resolve,
    oauth_callback_complete,
    oauth_state_bind,
    oauth_state_resolve,
)

__all__ = [
    "ConnectorRunError",
    "ConnectorRunResult",
    "connection_create",
    "connection_delete",
    "connection_revoke",
    "connection_update",
    "connection_verify",
    "connections_rotate_encryption",
    "connector_call",
    "connector_call_for_run",
    "connector_create",
    "connector_delete",
    "connector_import_openapi",
    "connector_install_from_catalog",
    "connector_update",
    "customer_connections_revoke",
    "oauth_app_create",
    "oauth_app_delete",
    "oauth_app_update",
    "oauth_apps_rotate_encryption",
    "oauth_authorize_start",
    "oauth_begin_resolve",
    "oauth_callback_complete",
    "oauth_redirect_uris_set",
    "oauth_state_bind",
    "oauth_state_resolve",
]
