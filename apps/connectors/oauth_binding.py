"""Binding an OAuth authorisation to the browser that started it.

RFC 6749 §10.12 asks a client to tie the `state` to the user agent that
began the flow, so that an authorisation link is not a bearer link: a link
that leaks (a log, a screen share, a `Referer`) or that someone sends to a
victim cannot be finished in another browser, and a provider account cannot
be connected to a customer by someone who is not that customer's browser.

The binding is a random secret held by the browser in the `fastn_oauth`
cookie (HttpOnly, SameSite=Lax so that the provider's top-level redirect to
the callback carries it); the `OAuthState` stores only its SHA-256. Whoever
starts an authorisation in a browser that is present and authenticated
(a dashboard session; an end-user customer session that opens its popup
with a POST) binds it at once. An authorisation started away from the
browser (a server holding an API key) answers a *begin link* on this host
instead: the first browser that opens it claims the authorisation, gets the
cookie, and goes on to the provider; no other browser can open it or finish
it afterwards.

These helpers are the HTTP half (cookies); the services in
`apps.connectors.services.oauth_flow` take and compare the secret.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from django.http import HttpRequest, HttpResponse

COOKIE = "fastn_oauth"
COOKIE_MAX_AGE = 24 * 3600
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def binding_hash(secret: str) -> str:
    """What an `OAuthState` stores of a browser's binding secret."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def browser_secret(request: HttpRequest) -> str | None:
    """The binding secret this browser holds, if any (malformed values are ignored)."""
    value = request.COOKIES.get(COOKIE, "")
    return value if _SECRET_RE.match(value) else None


def browser_secret_or_new(request: HttpRequest) -> str:
    """This browser's binding secret, or a new one (remember it on the response)."""
    return browser_secret(request) or secrets.token_urlsafe(32)


def remember_browser(response: HttpResponse, request: HttpRequest, secret: str) -> HttpResponse:
    """Give the browser its binding secret (or refresh the cookie's lifetime)."""
    response.set_cookie(
        COOKIE,
        secret,
        max_age=COOKIE_MAX_AGE,
        path="/",
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return response
