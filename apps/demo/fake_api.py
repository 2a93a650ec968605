"""Demo CRM: a small third-party API that `make run` serves on loopback, so
the demo organization's connector has something real to call.

It speaks plain JSON over HTTP, asks for an API key in `X-Api-Key` like many
real APIs, and keeps what it is sent in memory (a restart forgets it):

    GET  /me               who the key belongs to (the connector's verify action)
    GET  /contacts         {"contacts": [...], "total": n}; ?q= filters by name or e-mail
    GET  /contacts/{id}    one contact, or 404
    POST /contacts         {"name", "email"} → 201 the new contact

No Django here: it starts in a fraction of a second, before the workers.
"""

from __future__ import annotations

import argparse
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "demo-crm-key-0b6f1c"
MAX_BODY = 64 * 1024
SEED_CONTACTS = [
    {"id": 1, "name": "Ada Lovelace", "email": "ada@acme.example", "company": "Acme Corp"},
    {"id": 2, "name": "Grace Hopper", "email": "grace@acme.example", "company": "Acme Corp"},
    {"id": 3, "name": "Alan Turing", "email": "alan@acme.example", "company": "Acme Corp"},
]


class DemoCrm:
    """The data, shared by the server's threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.contacts: dict[int, dict[str, Any]] = {c["id"]: dict(c) for c in SEED_CONTACTS}

    def list(self, query: str = "") -> list[dict[str, Any]]:
        with self.lock:
            rows = list(self.contacts.values())
        needle = query.lower()
        return [c for c in rows if needle in c["name"].lower() or needle in c["email"].lower()]

    def add(self, name: str, email: str) -> dict[str, Any]:
        with self.lock:
            contact = {"id": max(self.contacts, default=0) + 1, "name": name, "email": email, "company": "Acme Corp"}
            self.contacts[contact["id"]] = contact
        return contact


class Handler(BaseHTTPRequestHandler):
    server_version = "DemoCRM/1.0"
    crm: DemoCrm

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        # One line per request, like an access log, on stderr (supervisord shows it).
        super().log_message(format, *args)

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        if self.headers.get("X-Api-Key") == API_KEY:
            return True
        self._send(HTTPStatus.UNAUTHORIZED, {"error": "invalid_api_key", "message": "Send a valid X-Api-Key header."})
        return False

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if not self._authorised():
            return
        path, _, query = self.path.partition("?")
        params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
        if path == "/me":
            self._send(HTTPStatus.OK, {"account": "Acme Corp", "plan": "demo"})
        elif path == "/contacts":
            contacts = self.crm.list(params.get("q", ""))
            self._send(HTTPStatus.OK, {"contacts": contacts, "total": len(contacts)})
        elif path.startswith("/contacts/") and path[len("/contacts/") :].isdigit():
            found = [c for c in self.crm.list() if c["id"] == int(path[len("/contacts/") :])]
            if found:
                self._send(HTTPStatus.OK, found[0])
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error": "not_found", "message": "No such contact."})
        else:
            self._send(HTTPStatus.NOT_FOUND, {"error": "not_found", "message": f"No route {path}."})

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        if not self._authorised():
            return
        if self.path.partition("?")[0] != "/contacts":
            self._send(HTTPStatus.NOT_FOUND, {"error": "not_found", "message": f"No route {self.path}."})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "too_large", "message": "Body too large."})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send(HTTPStatus.BAD_REQUEST, {"error": "invalid_json", "message": "The body is not JSON."})
            return
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
            self._send(HTTPStatus.BAD_REQUEST, {"error": "invalid", "message": "'name' is required."})
            return
        email = body.get("email") if isinstance(body.get("email"), str) else ""
        self._send(HTTPStatus.CREATED, self.crm.add(body["name"].strip(), email))


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    handler = type("DemoCrmHandler", (Handler,), {"crm": DemoCrm()})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m apps.demo.fake_api", description="Demo CRM on loopback.")
    parser.add_argument("--bind", required=True, help="host:port, e.g. 127.0.0.1:18000")
    args = parser.parse_args(argv)
    host, _, port = args.bind.rpartition(":")
    server = make_server(host or "127.0.0.1", int(port))
    print(f"Demo CRM listening on http://{args.bind} (X-Api-Key: {API_KEY})", flush=True)  # noqa: T201
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
