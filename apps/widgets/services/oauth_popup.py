"""Connecting an OAuth app from the widget, in a popup.

1. `POST /api/v1/embed/oauth/{connector}/authorize` starts the connectors
   app's authorisation-code flow (signed single-use state, PKCE) for the
   session's customer. Its return URL is Fastn's own popup page, with a
   signed parameter naming the connector and the **target origin** of the
   message: the page's origin as the browser sent it (checked against the
   session's allowed origins on the way in), else the session's
   `allowed_origin`, else the widget's only allowed origin, else Fastn's own.
2. The provider sends the browser to `/api/v1/oauth/callback`, which stores
   the connection for the customer and redirects to the popup page.
3. The popup page (`GET /api/v1/embed/oauth/done`) posts
   `{type: "fastn:oauth", status, connector, connection_id?, error?,
   error_description?}` to `window.opener` with that target origin — never
   `*` — and closes. The message is a hint: the widget reloads its
   connections from the API either way.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core import signing

from apps.accounts.principals import Principal
from apps.settings.models import Customer
from apps.widgets.authentication import EmbedContext
from apps.widgets.exceptions import InvalidOAuthPopup
from apps.widgets.origins import origin_of_header

POPUP_SALT = "fastn.embed.oauth-popup"
DONE_PATH = "/api/v1/embed/oauth/done"
MESSAGE_TYPE = "fastn:oauth"


def fastn_origin() -> str:
    parts = urlsplit(settings.FASTN_PUBLIC_URL)
    return origin_of_header(urlunsplit((parts.scheme, parts.netloc, "", "", ""))) or settings.FASTN_PUBLIC_URL


def popup_target_origin(context: EmbedContext) -> str:
    """Where the popup's message may go (see the module docstring)."""
    if context.origin:
        return context.origin  # present and allowed: the permission checked it
    if context.session.allowed_origin:
        return context.session.allowed_origin
    widget_origins = list(context.widget.allowed_origins or [])
    if len(widget_origins) == 1:
        return widget_origins[0]
    return fastn_origin()


def oauth_popup_start(
    *, actor: Principal, context: EmbedContext, connector_slug: str, config: dict[str, Any] | None = None
) -> tuple[str, Any]:
    """(the provider's authorisation URL, its expiry) for the session's customer."""
    from apps.connectors.services import oauth_authorize_start

    customer: Customer = context.customer
    payload = {
        "o": popup_target_origin(context),
        "k": connector_slug,
        "c": customer.external_id,
        "a": str(context.session.organization.account_id),
    }
    done = fastn_origin() + DONE_PATH + "?p=" + signing.dumps(payload, salt=POPUP_SALT, compress=True)
    url, state = oauth_authorize_start(
        actor=actor, connector_slug=connector_slug, customer=customer, return_url=done, config=config or {}
    )
    return url, state.expires_at


def oauth_popup_message(*, signed: str, params: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """(target origin, message) of the popup page; InvalidOAuthPopup when the
    signed parameter is missing, forged or too old."""
    if not signed:
        raise InvalidOAuthPopup("This sign-in page was opened without its parameters.")
    try:
        payload = signing.loads(signed, salt=POPUP_SALT, max_age=settings.FASTN_OAUTH_STATE_TTL_SECONDS + 300)
        target, connector = str(payload["o"]), str(payload["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidOAuthPopup("This sign-in page's parameters are not valid or have expired.") from None
    if origin_of_header(target) != target:
        raise InvalidOAuthPopup("This sign-in page names no valid origin.")
    status = params.get("status", "")
    message: dict[str, Any] = {"type": MESSAGE_TYPE, "connector": connector}
    if status == "connected" and params.get("connection_id"):
        message.update(status="connected", connection_id=params["connection_id"][:64])
    else:
        message.update(
            status="error",
            error=(params.get("error") or "oauth_failed")[:100],
            error_description=(params.get("error_description") or "")[:300],
        )
    return target, message
