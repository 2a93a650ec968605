"""Mint Fastn customer sessions from your own backend (standard library only).

Copy this file into your project, or import it from here. Your API key stays
on your server; the token goes to your front end for `<fastn-hub>` or the JS
client, and acts for one customer, on the end-user API only, until it
expires or you revoke it.

    from fastn_embed import FastnEmbed

    fastn = FastnEmbed("https://fastn.example.com", account_id="…", api_key="fastn_live_…")
    session = fastn.create_session("user-42", ttl_seconds=3600, allowed_origin="https://app.example.com")
    render(page, fastn_token=session["token"])      # <fastn-hub session-token="…">
    ...
    fastn.revoke_sessions("user-42")                # on sign-out: every session of theirs stops now
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

__all__ = ["FastnEmbed", "FastnError"]


class FastnError(Exception):
    """An error answer of the Fastn API: `status`, `code` and `details` as sent."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


class FastnEmbed:
    def __init__(self, base_url: str, *, account_id: str, api_key: str, timeout: float = 10.0) -> None:
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError("base_url must be an http(s) URL.")
        self.base_url = base_url.rstrip("/")
        self.account_id = account_id
        self.api_key = api_key
        self.timeout = timeout

    def create_session(
        self,
        customer: str,
        *,
        ttl_seconds: int | None = None,
        integrations: Sequence[str] | None = None,
        allowed_origin: str | None = None,
    ) -> dict[str, Any]:
        """A new session for the customer with this external id:
        `{"token", "expires_at", "customer", "id", …}`."""
        body: dict[str, Any] = {}
        if ttl_seconds is not None:
            body["ttl_seconds"] = ttl_seconds
        if integrations is not None:
            body["integrations"] = list(integrations)
        if allowed_origin is not None:
            body["allowed_origin"] = allowed_origin
        return self._request("POST", f"/api/v1/customers/{self._quote(customer)}/sessions", body)

    def revoke_sessions(self, customer: str) -> None:
        """Every session of the customer stops working at once."""
        self._request("DELETE", f"/api/v1/customers/{self._quote(customer)}/sessions")

    def create_customer(self, external_id: str, name: str, **fields: Any) -> dict[str, Any]:
        """Register a customer (sessions are for existing customers)."""
        return self._request("POST", "/api/v1/customers", {"external_id": external_id, "name": name, **fields})

    @staticmethod
    def _quote(value: str) -> str:
        return urllib.parse.quote(value, safe="")

    def _request(self, method: str, path: str, body: dict | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked in __init__
            self.base_url + path,
            data=data,
            method=method,
            headers={
                "x-fastn-access-key": self.api_key,
                "x-fastn-account-id": self.account_id,
                "content-type": "application/json",
                "accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - the caller's URL
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                error = json.loads(raw)["error"]
            except (ValueError, KeyError, TypeError):
                raise FastnError(exc.code, "http_error", raw[:200].decode(errors="replace")) from None
            raise FastnError(
                exc.code, error.get("code", "error"), error.get("message", ""), error.get("details")
            ) from None
        return json.loads(raw) if raw else None
