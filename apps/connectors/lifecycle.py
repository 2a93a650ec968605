"""What `rotate_encryption_keys` re-encrypts in connectors (apps.core.rotation).

The services are imported when a rotation runs, not when the app is ready.
"""

from __future__ import annotations


def connection_credentials_rotate() -> int:
    from apps.connectors.services import connections_rotate_encryption

    return connections_rotate_encryption()


def oauth_app_secrets_rotate() -> int:
    from apps.connectors.services import oauth_apps_rotate_encryption

    return oauth_apps_rotate_encryption()
