"""A fake third-party API with an OAuth 2.0 server, on loopback.

It checks what a real provider checks (client id and secret, redirect URI,
PKCE verifier, single-use codes, valid refresh tokens, bearer tokens and API
keys) and counts every request, so tests can assert exactly how many token
refreshes happened across threads.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret-0123456789"
API_KEY = "fake-api-key-ABCDEFGH12345678"


class FakeProvider:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.codes: dict[str, dict] = {}
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.revoked: list[str] = []
        self.expires_in: int | None = 3600
        self.rotate_refresh_tokens = True
        self.refresh_delay = 0.0
        self.refresh_error: str | None = None  # e.g. "invalid_grant"
        self.require_pkce = True
        self.last_authorize: dict[str, str] = {}
        self.last_token_form: dict[str, str] = {}
        self.seen_headers: list[dict[str, str]] = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> FakeProvider:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # --- helpers for tests -----------------------------------------------------------

    def issue_tokens(self) -> dict:
        with self.lock:
            return self._issue()

    def invalidate_access_tokens(self) -> None:
        """The provider forgets every access token (they answer 401 from now on)."""
        with self.lock:
            self.access_tokens.clear()

    def definition(self, slug: str = "fakeapp", **auth_overrides) -> dict:
        """An OAuth 2.0 connector definition for this provider."""
        auth = {
            "type": "oauth2",
            "authorization_url": f"{self.url}/oauth/authorize",
            "token_url": f"{self.url}/oauth/token",
            "revoke_url": f"{self.url}/oauth/revoke",
            "scopes": ["read", "write"],
            "pkce": True,
        }
        auth.update(auth_overrides)
        return {
            "slug": slug,
            "name": "Fake App",
            "base_url": f"{self.url}/api",
            "auth": auth,
            "actions": {
                "getMe": {"method": "GET", "path": "/me", "verify": True},
                "listItems": {
                    "method": "GET",
                    "path": "/items",
                    "output": {"path": "items"},
                    "pagination": {
                        "type": "cursor",
                        "cursor_param": "cursor",
                        "cursor_path": "next",
                        "results_path": "items",
                    },
                },
                "echo": {"method": "POST", "path": "/echo"},
                "fail": {"method": "GET", "path": "/fail"},
            },
        }

    def key_definition(self, slug: str = "keyapp") -> dict:
        """An API-key connector for this provider (X-Api-Key header)."""
        return {
            "slug": slug,
            "name": "Key App",
            "base_url": f"{self.url}/keyapi",
            "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
            "actions": {
                "whoami": {"method": "GET", "path": "/me", "verify": True},
                "getThing": {
                    "method": "GET",
                    "path": "/things/{id}",
                    "input_schema": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
                },
                "echo": {"method": "POST", "path": "/echo"},
                "fail": {"method": "GET", "path": "/fail"},
            },
        }

    # --- internals --------------------------------------------------------------------

    def _issue(self) -> dict:
        access, refresh = "at-" + secrets.token_urlsafe(16), "rt-" + secrets.token_urlsafe(16)
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        token = {"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "scope": "read write"}
        if self.expires_in is not None:
            token["expires_in"] = self.expires_in
        return token

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body=None, headers: dict | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _bearer_ok(self) -> bool:
                header = self.headers.get("Authorization", "")
                token = header[7:] if header.startswith("Bearer ") else ""
                with provider.lock:
                    return token in provider.access_tokens

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query))
                with provider.lock:
                    provider.counts[f"GET {parts.path}"] += 1
                    provider.seen_headers.append(dict(self.headers))
                if parts.path == "/oauth/authorize":
                    return self._authorize(query)
                if parts.path.startswith("/api/"):
                    if not self._bearer_ok():
                        return self._send(401, {"message": "Invalid or expired access token"})
                    if parts.path == "/api/me":
                        return self._send(200, {"id": "user-1", "name": "Fake User"})
                    if parts.path == "/api/items":
                        cursor = query.get("cursor")
                        if cursor == "2":
                            return self._send(200, {"items": [{"id": 3}], "next": None})
                        return self._send(200, {"items": [{"id": 1}, {"id": 2}], "next": "2"})
                    if parts.path == "/api/fail":
                        return self._send(422, {"message": "Something is wrong with the request"})
                if parts.path.startswith("/keyapi/"):
                    if self.headers.get("X-Api-Key") != API_KEY:
                        return self._send(401, {"message": "Invalid API key provided"})
                    if parts.path == "/keyapi/me":
                        return self._send(200, {"account": "acme"})
                    if parts.path.startswith("/keyapi/things/"):
                        thing = parts.path.rsplit("/", 1)[1]
                        return self._send(200, {"id": int(thing), "query": query})
                    if parts.path == "/keyapi/fail":
                        # An error that quotes the key back, as careless APIs do.
                        return self._send(400, {"message": f"Bad request for key {API_KEY}", "code": "bad"})
                return self._send(404, {"message": "Not found"})

            def do_POST(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                raw = self._body()
                with provider.lock:
                    provider.counts[f"POST {parts.path}"] += 1
                if parts.path == "/oauth/token":
                    return self._token(dict(parse_qsl(raw.decode())))
                if parts.path == "/oauth/revoke":
                    form = dict(parse_qsl(raw.decode()))
                    with provider.lock:
                        provider.revoked.append(form.get("token", ""))
                        provider.refresh_tokens.discard(form.get("token", ""))
                    return self._send(200, {})
                if parts.path == "/api/echo":
                    if not self._bearer_ok():
                        return self._send(401, {"message": "Invalid or expired access token"})
                    return self._send(200, {"received": json.loads(raw or b"null")})
                if parts.path == "/keyapi/echo":
                    if self.headers.get("X-Api-Key") != API_KEY:
                        return self._send(401, {"message": "Invalid API key provided"})
                    return self._send(200, {"received": json.loads(raw or b"null")})
                return self._send(404, {"message": "Not found"})

            def _authorize(self, query: dict) -> None:
                provider.last_authorize = query
                if query.get("client_id") != CLIENT_ID:
                    return self._send(400, {"error": "invalid_client"})
                if provider.require_pkce and query.get("code_challenge_method") != "S256":
                    return self._send(400, {"error": "invalid_request", "error_description": "PKCE required"})
                code = "code-" + secrets.token_urlsafe(12)
                with provider.lock:
                    provider.codes[code] = {
                        "challenge": query.get("code_challenge"),
                        "redirect_uri": query.get("redirect_uri"),
                    }
                target = query["redirect_uri"]
                separator = "&" if "?" in target else "?"
                location = target + separator + urlencode({"code": code, "state": query.get("state", "")})
                self._send(302, None, {"Location": location})

            def _client_ok(self, form: dict) -> bool:
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    client_id, _, client_secret = base64.b64decode(header[6:]).decode().partition(":")
                else:
                    client_id, client_secret = form.get("client_id"), form.get("client_secret")
                return client_id == CLIENT_ID and client_secret == CLIENT_SECRET

            def _token(self, form: dict) -> None:
                provider.last_token_form = form
                grant = form.get("grant_type", "")
                with provider.lock:
                    provider.counts[f"token:{grant}"] += 1
                if not self._client_ok(form):
                    return self._send(401, {"error": "invalid_client", "error_description": "Unknown client"})
                if grant == "authorization_code":
                    with provider.lock:
                        issued = provider.codes.pop(form.get("code", ""), None)
                    if issued is None:
                        return self._send(400, {"error": "invalid_grant", "error_description": "Unknown or used code"})
                    if issued["redirect_uri"] != form.get("redirect_uri"):
                        return self._send(400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"})
                    if provider.require_pkce:
                        verifier = form.get("code_verifier", "")
                        digest = hashlib.sha256(verifier.encode()).digest()
                        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                        if challenge != issued["challenge"]:
                            return self._send(400, {"error": "invalid_grant", "error_description": "PKCE mismatch"})
                    with provider.lock:
                        return self._send(200, provider._issue())
                if grant == "refresh_token":
                    if provider.refresh_delay:
                        time.sleep(provider.refresh_delay)
                    if provider.refresh_error:
                        return self._send(400, {"error": provider.refresh_error, "error_description": "Token revoked"})
                    with provider.lock:
                        refresh = form.get("refresh_token", "")
                        if refresh not in provider.refresh_tokens:
                            return self._send(
                                400, {"error": "invalid_grant", "error_description": "Unknown refresh token"}
                            )
                        token = provider._issue()
                        if provider.rotate_refresh_tokens:
                            provider.refresh_tokens.discard(refresh)
                        else:
                            provider.refresh_tokens.discard(token["refresh_token"])
                            token.pop("refresh_token")
                        return self._send(200, token)
                if grant == "client_credentials":
                    with provider.lock:
                        token = provider._issue()
                        token.pop("refresh_token")
                        return self._send(200, token)
                return self._send(400, {"error": "unsupported_grant_type"})

        return Handler


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
