"""OAuth apps (Settings → OAuth Apps): the organization's own OAuth clients,
and the platform-managed ones from `FASTN_PLATFORM_OAUTH_APPS`.

An organization's own app for a connector wins over the platform's. The
client secret is encrypted at rest and never returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.accounts.principals import Principal
from apps.connectors.exceptions import OAuthAppExists, OAuthAppNotFound
from apps.connectors.models import Connection, OAuthApp, OAuthRedirectUri
from apps.connectors.redirect_uris import MAX_ENTRIES, RedirectUriError, normalize_entry
from apps.connectors.selectors import platform_apps
from apps.core import crypto
from apps.core.errors import InvalidInput
from apps.settings.services import audit_record


@dataclass(frozen=True)
class OAuthClient:
    """The client a token request is made as. `source` is "organization" or "platform"."""

    connector_slug: str
    client_id: str
    client_secret: str | None
    callback_url: str
    scopes: list[str] | None
    source: str
    app: OAuthApp | None = None

    def __repr__(self) -> str:  # never the secret
        return f"OAuthClient({self.connector_slug!r}, {self.client_id!r}, source={self.source!r})"


def default_callback_url() -> str:
    return settings.FASTN_OAUTH_CALLBACK_URL


def platform_client(connector_slug: str) -> OAuthClient | None:
    app = platform_apps().get(connector_slug)
    if app is None:
        return None
    scopes = app.get("scopes")
    return OAuthClient(
        connector_slug=connector_slug,
        client_id=app["client_id"],
        client_secret=app.get("client_secret") or None,
        callback_url=app.get("redirect_uri") or default_callback_url(),
        scopes=list(scopes) if isinstance(scopes, list) else None,
        source="platform",
    )


def organization_client(app: OAuthApp) -> OAuthClient:
    return OAuthClient(
        connector_slug=app.connector_slug,
        client_id=app.client_id,
        client_secret=crypto.decrypt(app.client_secret_ciphertext) if app.client_secret_ciphertext else None,
        callback_url=app.redirect_uri or default_callback_url(),
        scopes=list(app.scopes) if isinstance(app.scopes, list) else None,
        source="organization",
        app=app,
    )


def oauth_client_for(*, connector_slug: str) -> OAuthClient | None:
    """The client new authorisations of a connector use: the organization's app, else the platform's."""
    app = OAuthApp.objects.filter(connector_slug=connector_slug).first()
    if app is not None:
        return organization_client(app)
    return platform_client(connector_slug)


def oauth_client_for_connection(*, connection: Connection) -> OAuthClient | None:
    """The client that obtained a connection's tokens (a refresh must use the
    same one), or None when it is no longer configured. Tokens stored through
    the API were obtained elsewhere, by a client Fastn does not know: they are
    refreshed with the connector's current app."""
    if not connection.oauth_client_id:
        return oauth_client_for(connector_slug=connection.connector.slug)
    if connection.oauth_app_id:
        app = OAuthApp.objects.filter(pk=connection.oauth_app_id).first()
        if app is not None and app.client_id == connection.oauth_client_id:
            return organization_client(app)
    platform = platform_client(connection.connector.slug)
    if platform is not None and platform.client_id == connection.oauth_client_id:
        return platform
    return None


# --------------------------------------------------------------------------
# Writes
# --------------------------------------------------------------------------


def _check_redirect_uri(value: str) -> str:
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.fragment:
        raise InvalidInput.for_field("redirect_uri", "Use an absolute http(s) URL without credentials or fragment.")
    return value


def _check_scopes(scopes: Any) -> list[str] | None:
    if scopes is None:
        return None
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s.strip() and " " not in s for s in scopes):
        raise InvalidInput.for_field(
            "scopes", "Give a list of scope names without spaces, or null for the connector's."
        )
    return list(dict.fromkeys(scopes))


def oauth_app_create(
    *,
    actor: Principal,
    connector_slug: str,
    client_id: str,
    client_secret: str = "",
    redirect_uri: str = "",
    scopes: list[str] | None = None,
) -> OAuthApp:
    try:
        with transaction.atomic():
            app = OAuthApp.objects.create(
                connector_slug=connector_slug,
                client_id=client_id,
                client_secret_ciphertext=crypto.encrypt(client_secret) if client_secret else "",
                redirect_uri=_check_redirect_uri(redirect_uri),
                scopes=_check_scopes(scopes),
                created_by=actor.label[:255],
                updated_by=actor.label[:255],
            )
    except IntegrityError as exc:
        raise OAuthAppExists(
            f"There is an OAuth app for {connector_slug!r} already; change it instead.",
            details={"connector": connector_slug},
        ) from exc
    audit_record(
        actor=actor,
        action="oauth_app.create",
        resource_type="oauth_app",
        resource_id=connector_slug,
        changes={"client_id": client_id, "redirect_uri": app.redirect_uri, "scopes": app.scopes},
    )
    return app


_UNSET: Any = object()


def oauth_app_update(
    *,
    actor: Principal,
    connector_slug: str,
    client_id: str | None = None,
    client_secret: str | None = None,
    redirect_uri: str | None = None,
    scopes: Any = _UNSET,
) -> OAuthApp:
    """Change an app. Connections made with the previous client id keep
    refreshing only while it stays the same (tokens belong to a client)."""
    with transaction.atomic():
        app = OAuthApp.objects.select_for_update().filter(connector_slug=connector_slug).first()
        if app is None:
            raise OAuthAppNotFound(f"There is no OAuth app for {connector_slug!r}.")
        changed: dict[str, Any] = {}
        if client_id is not None and client_id != app.client_id:
            app.client_id = changed["client_id"] = client_id
        if client_secret is not None:
            app.client_secret_ciphertext = crypto.encrypt(client_secret) if client_secret else ""
            changed["client_secret"] = "changed"
        if redirect_uri is not None and redirect_uri != app.redirect_uri:
            app.redirect_uri = changed["redirect_uri"] = _check_redirect_uri(redirect_uri)
        if scopes is not _UNSET:
            app.scopes = changed["scopes"] = _check_scopes(scopes)
        if changed:
            app.updated_by = actor.label[:255]
            app.save()
    if changed:
        audit_record(
            actor=actor,
            action="oauth_app.update",
            resource_type="oauth_app",
            resource_id=connector_slug,
            changes=changed,
        )
    return app


def oauth_app_delete(*, actor: Principal, connector_slug: str) -> None:
    app = OAuthApp.objects.filter(connector_slug=connector_slug).first()
    if app is None:
        raise OAuthAppNotFound(f"There is no OAuth app for {connector_slug!r}.")
    app.delete()
    audit_record(actor=actor, action="oauth_app.delete", resource_type="oauth_app", resource_id=connector_slug)


def oauth_redirect_uris_set(*, actor: Principal, uris: Any) -> list[str]:
    """Replace the organization's allow-list of OAuth return URLs (see
    `apps.connectors.redirect_uris`). Returns the stored entries, normalised."""
    if not isinstance(uris, list):
        raise InvalidInput.for_field("redirect_uris", "Give a list of absolute http(s) URLs.")
    if len(uris) > MAX_ENTRIES:
        raise InvalidInput.for_field("redirect_uris", f"Give at most {MAX_ENTRIES} URLs.")
    wanted: list[str] = []
    for index, uri in enumerate(uris):
        if not isinstance(uri, str):
            raise InvalidInput.for_field(f"redirect_uris[{index}]", "Must be a string.")
        try:
            entry = normalize_entry(uri)
        except RedirectUriError as exc:
            raise InvalidInput.for_field(f"redirect_uris[{index}]", str(exc)) from None
        if entry not in wanted:
            wanted.append(entry)
    with transaction.atomic():
        current = set(OAuthRedirectUri.objects.select_for_update().values_list("uri", flat=True))
        removed = sorted(current - set(wanted))
        added = [uri for uri in wanted if uri not in current]
        OAuthRedirectUri.objects.filter(uri__in=removed).delete()
        OAuthRedirectUri.objects.bulk_create([OAuthRedirectUri(uri=uri, created_by=actor.label[:255]) for uri in added])
    if added or removed:
        audit_record(
            actor=actor,
            action="oauth_redirect_uris.update",
            resource_type="oauth_redirect_uris",
            changes={"added": added, "removed": removed},
        )
    return sorted(wanted)


def oauth_apps_rotate_encryption() -> int:
    count = 0
    for app in OAuthApp.objects.select_for_update().exclude(client_secret_ciphertext=""):
        app.client_secret_ciphertext = crypto.rotate(app.client_secret_ciphertext)
        app.save(update_fields=["client_secret_ciphertext"])
        count += 1
    return count
