"""A fake OIDC provider on loopback: discovery, JWKS, authorize, token and
userinfo, issuing RS256-signed ID tokens. Tests flip `mode` to make it
misbehave (bad signature, wrong audience, expired token)."""

from __future__ import annotations

import functools
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


@functools.lru_cache(maxsize=2)
def new_key(name: str = "signing"):
    # RSA generation is slow; the keys are the same for every test of a run.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeProvider:
    def __init__(self, client_id: str = "fastn-test", client_secret: str = "s3cret") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = new_key()
        self.kid = "key-1"
        self.rogue_key = new_key("rogue")  # signs "bad signature" tokens under the same kid
        self.mode = "ok"
        self.claims = {"sub": "kc-user-1", "email": "sso.user@alpha.test", "email_verified": True, "name": "SSO User"}
        self.codes: dict[str, dict] = {}
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/realms/test"

    def start(self) -> FakeProvider:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [public]}

    def token(self, *, audience: str | None = None, nonce: str | None = None, expires_in: int = 300, **extra) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": self.claims["sub"],
            "aud": audience or self.client_id,
            "iat": now,
            "exp": now + expires_in,
            "email": self.claims["email"],
            "email_verified": self.claims["email_verified"],
            **extra,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        key = self.key
        if self.mode == "bad_signature":
            key = self.rogue_key
        if self.mode == "wrong_audience":
            claims["aud"] = "someone-else"
        if self.mode == "expired":
            claims["iat"], claims["exp"] = now - 3600, now - 600
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    def authorize(self, query: dict) -> str:
        """What the provider's login page does after the person signs in: a code."""
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "nonce": query.get("nonce"),
            "redirect_uri": query["redirect_uri"],
            "code_challenge": query.get("code_challenge"),
        }
        return code

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                path = urlsplit(self.path).path
                provider.requests.append(f"GET {path}")
                base = provider.issuer
                if path.endswith("/.well-known/openid-configuration"):
                    return self._json(
                        200,
                        {
                            "issuer": base,
                            "authorization_endpoint": f"{base}/protocol/openid-connect/auth",
                            "token_endpoint": f"{base}/protocol/openid-connect/token",
                            "userinfo_endpoint": f"{base}/protocol/openid-connect/userinfo",
                            "jwks_uri": f"{base}/protocol/openid-connect/certs",
                            "id_token_signing_alg_values_supported": ["RS256"],
                        },
                    )
                if path.endswith("/certs"):
                    return self._json(200, provider.jwks())
                if path.endswith("/userinfo"):
                    if not self.headers.get("Authorization", "").startswith("Bearer at-"):
                        return self._json(401, {"error": "invalid_token"})
                    return self._json(200, dict(provider.claims))
                return self._json(404, {"error": "not_found"})

            def do_POST(self):
                path = urlsplit(self.path).path
                provider.requests.append(f"POST {path}")
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if not path.endswith("/token"):
                    return self._json(404, {"error": "not_found"})
                grant = provider.codes.pop(form.get("code", ""), None)
                if grant is None or form.get("client_secret") != provider.client_secret:
                    return self._json(400, {"error": "invalid_grant"})
                if grant["redirect_uri"] != form.get("redirect_uri"):
                    return self._json(400, {"error": "invalid_grant"})
                if grant["code_challenge"] and not form.get("code_verifier"):
                    return self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
                return self._json(
                    200,
                    {
                        "access_token": f"at-{secrets.token_hex(8)}",
                        "token_type": "Bearer",
                        "id_token": provider.token(nonce=grant["nonce"]),
                        "expires_in": 300,
                    },
                )

        return Handler


def query_of(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


__all__ = ["FakeProvider", "query_of", "urlencode"]
