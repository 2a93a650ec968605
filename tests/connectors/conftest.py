"""Fixtures for the connector layer's tests (pure: no Django, no database).

Like tests/core_http, sockets may only go to loopback.
"""

from __future__ import annotations

import copy
import ipaddress
import socket
from typing import Any

import pytest
from pytest_httpserver import HTTPServer


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0] if isinstance(address, tuple) else address).split("%", 1)[0]
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise AssertionError(f"a test tried to connect to {host}")
        real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)


MINIMAL: dict[str, Any] = {
    "slug": "acme-crm",
    "name": "Acme CRM",
    "base_url": "https://api.acme.example/v2",
    "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
    "actions": {
        "listContacts": {"method": "GET", "path": "/contacts"},
        "getContact": {"method": "GET", "path": "/contacts/{id}"},
        "createContact": {"method": "POST", "path": "/contacts"},
    },
}


@pytest.fixture
def minimal() -> dict[str, Any]:
    """API.md's minimal definition (a fresh copy)."""
    return copy.deepcopy(MINIMAL)


@pytest.fixture
def local_definition(httpserver: HTTPServer):  # type: ignore[no-untyped-def]
    """Build a definition whose base URL is the test server."""

    def build(
        auth: dict[str, Any] | None = None, actions: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        definition = copy.deepcopy(MINIMAL)
        definition["base_url"] = httpserver.url_for("/v2")
        if auth is not None:
            definition["auth"] = auth
        if actions is not None:
            definition["actions"] = actions
        definition.update(extra)
        return definition

    return build
