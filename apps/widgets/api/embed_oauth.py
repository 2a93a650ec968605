"""The OAuth popup of the end-user API: start, and the page that reports back."""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apps.core.api import validated
from apps.core.serializers import JSONObjectField, StrictSerializer
from apps.widgets.api.base import EmbedAPIView
from apps.widgets.exceptions import InvalidOAuthPopup
from apps.widgets.services.oauth_popup import oauth_popup_message, oauth_popup_start

EMBED_AUTH = [{"CustomerSession": []}]


class AuthorizeIn(StrictSerializer):
    config = JSONObjectField(required=False, default=dict)


class AuthorizeOut(serializers.Serializer):
    url = serializers.CharField(help_text="The provider's sign-in page: open it in a popup")
    expires_at = serializers.DateTimeField(help_text="Finish signing in before this")


class EmbedOAuthAuthorizeView(EmbedAPIView):
    @extend_schema(
        auth=EMBED_AUTH,
        summary="Start connecting an OAuth app in a popup",
        description="Open `url` in a popup. After the customer signs in at the provider, the popup lands on "
        "Fastn's page, which stores the connection for this customer and posts {type: 'fastn:oauth', status: "
        "'connected' | 'error', connector, connection_id?, error?, error_description?} to window.opener — to "
        "the calling page's origin only — then closes. `config` carries settings the provider's URLs need "
        "(a shop's domain…).",
        request=AuthorizeIn,
        responses={200: AuthorizeOut, 400: OpenApiResponse(description="Not an OAuth app, or no OAuth app set up")},
    )
    def post(self, request, connector: str):
        data = validated(AuthorizeIn, request.data if request.data is not None else {})
        self.require_connector(connector)
        url, expires_at = oauth_popup_start(
            actor=self.principal, context=self.embed, connector_slug=connector, config=data["config"]
        )
        response = Response(AuthorizeOut({"url": url, "expires_at": expires_at}).data)
        response["Cache-Control"] = "no-store"
        return response


def oauth_popup_done(request: HttpRequest) -> HttpResponse:
    """The popup's last page (no token: its signed parameter is the credential;
    the connection was stored by /api/v1/oauth/callback before)."""
    nonce = secrets.token_urlsafe(16)
    try:
        target, message = oauth_popup_message(signed=request.GET.get("p", ""), params=request.GET.dict())
    except InvalidOAuthPopup as exc:
        context = {"heading": "This sign-in could not finish", "text": exc.message, "message": None}
        status = 400
    else:
        connected = message["status"] == "connected"
        context = {
            "heading": "Connected" if connected else "Not connected",
            "text": "You can close this window."
            if connected
            else (message.get("error_description") or "The app did not grant access. You can close this window."),
            "message": message,
            "target": target,
        }
        status = 200
    html = render_to_string("widgets/oauth_done.html", {**context, "nonce": nonce})
    response = HttpResponse(html, status=status, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    # The page must keep its opener (the page that opened the popup).
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response
