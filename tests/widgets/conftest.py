"""Fixtures for embedding: customers, sessions, a client that speaks with a
session token only, and a fake third-party API on loopback that records
which credentials reached it."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

VALID_KEY_PREFIX = "key-"


class FakeApi:
    """A third-party API on loopback. `/keyapi/*` wants X-Api-Key starting
    with "key-", `/basicapi/*` HTTP Basic with password "pw-…", `/bearerapi/*`
    a bearer token starting with "tok-". Every request is recorded with the
    credential it carried."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                record = {
                    "method": method,
                    "path": path,
                    "api_key": self.headers.get("X-Api-Key"),
                    "authorization": self.headers.get("Authorization"),
                    "body": json.loads(raw) if raw else None,
                }
                with api.lock:
                    api.requests.append(record)
                if path.startswith("/keyapi/") and not (record["api_key"] or "").startswith(VALID_KEY_PREFIX):
                    return self._send(401, {"message": "Invalid API key"})
                if path.startswith("/bearerapi/") and not (record["authorization"] or "").startswith("Bearer tok-"):
                    return self._send(401, {"message": "Invalid token"})
                if path.startswith("/basicapi/"):
                    import base64

                    header = record["authorization"] or ""
                    decoded = base64.b64decode(header[6:]).decode() if header.startswith("Basic ") else ":"
                    if not decoded.partition(":")[2].startswith("pw-"):
                        return self._send(401, {"message": "Invalid login"})
                if path.endswith("/me"):
                    return self._send(200, {"account": "acme"})
                if path.endswith("/echo"):
                    return self._send(200, {"received": record["body"], "key": record["api_key"]})
                if path.endswith("/items"):
                    return self._send(200, {"items": [{"id": 1}, {"id": 2}, {"id": 3}]})
                return self._send(404, {"message": "Not found"})

            def do_GET(self) -> None:  # noqa: N802
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def keys_seen(self, path_suffix: str = "") -> list[str | None]:
        with self.lock:
            return [r["api_key"] for r in self.requests if r["path"].endswith(path_suffix)]

    def definition(self, slug: str, kind: str = "api_key") -> dict:
        base = {"api_key": "keyapi", "basic": "basicapi", "bearer": "bearerapi"}[kind]
        auth = {
            "api_key": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
            "basic": {"type": "basic"},
            "bearer": {"type": "bearer"},
        }[kind]
        return {
            "slug": slug,
            "name": slug.replace("-", " ").title(),
            "base_url": f"{self.url}/{base}",
            "auth": auth,
            "actions": {
                "whoami": {"method": "GET", "path": "/me", "verify": True},
                "echo": {"method": "POST", "path": "/echo"},
                "listItems": {"method": "GET", "path": "/items"},
            },
        }


@pytest.fixture
def fake_api():
    server = FakeApi()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def private_network(settings):
    """Connector calls may reach loopback (the fake API), as under `make run`."""
    settings.FASTN_ALLOW_PRIVATE_NETWORK = True


class EmbedClient:
    """Calls /api/v1/embed/… with `Authorization: Bearer <token>` and nothing else."""

    def __init__(self, token: str | None, **headers: str) -> None:
        from rest_framework.test import APIClient

        self.client = APIClient()
        self.token = token
        self.headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        if token is not None:
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    def call(self, method: str, path: str, data=None, raw: bytes | str | None = None, **extra):
        fn = getattr(self.client, method.lower())
        headers = {**self.headers, **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in extra.items()}}
        if raw is not None:
            return fn(path, data=raw, content_type="application/json", **headers)
        if data is None:
            return fn(path, **headers)
        return fn(path, data=data, format="json", **headers)

    def get(self, path, params=None, **extra):
        if params:
            from urllib.parse import urlencode

            path = f"{path}?{urlencode(params)}"
        return self.call("get", path, **extra)

    def post(self, path, data=None, **extra):
        return self.call("post", path, data, **extra)

    def patch(self, path, data=None, **extra):
        return self.call("patch", path, data, **extra)

    def delete(self, path, **extra):
        return self.call("delete", path, **extra)


class Embedding:
    """One organization's side of embedding, driven through its API."""

    def __init__(self, api, org) -> None:
        self.org = org
        self.client = api(org)

    def customer(self, external_id: str | None = None) -> str:
        external_id = external_id or f"cust-{uuid.uuid4().hex[:8]}"
        response = self.client.post("/api/v1/customers", {"external_id": external_id, "name": external_id.title()})
        assert response.status_code == 201, response.content
        return external_id

    def session(self, external_id: str, **body) -> dict:
        response = self.client.post(f"/api/v1/customers/{external_id}/sessions", body)
        assert response.status_code == 201, response.content
        return response.json()

    def embed(self, external_id: str | None = None, **body) -> EmbedClient:
        token = self.session(external_id or self.customer(), **body)["token"]
        return EmbedClient(token)

    def connector(self, definition: dict) -> str:
        response = self.client.post("/api/v1/connectors", definition)
        assert response.status_code == 201, response.content
        return definition["slug"]

    def widget(self, **body) -> dict:
        response = self.client.put("/api/v1/widget", body)
        assert response.status_code == 200, response.content
        return response.json()

    def workflow(self, code: str, *, tier: str = "standard", slug: str | None = None) -> str:
        slug = slug or f"wf-{uuid.uuid4().hex[:8]}"
        created = self.client.post("/api/v1/workflows", {"name": slug, "slug": slug, "code": code, "tier": tier})
        assert created.status_code == 201, created.content
        assert self.client.post(f"/api/v1/workflows/{slug}/publish").status_code == 201
        assert self.client.post(f"/api/v1/workflows/{slug}/deploy", {"version": 1}).status_code == 200
        return slug

    def template(self, **body) -> dict:
        response = self.client.post("/api/v1/templates", body)
        assert response.status_code == 201, response.content
        return response.json()


@pytest.fixture
def embedding(api):
    return lambda org: Embedding(api, org)


@pytest.fixture
def embed_client():
    return EmbedClient


@pytest.fixture(scope="session")
def web_server(django_db_setup, django_db_blocker):
    """A threaded WSGI server on the test database, for clients that speak
    real HTTP (the Python helper, the OAuth popup). Data must be committed."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    thread = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    thread.daemon = True
    with django_db_blocker.unblock():
        thread.start()
        thread.is_ready.wait()
        if thread.error:
            raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()
