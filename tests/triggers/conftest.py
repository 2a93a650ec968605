"""Helpers for trigger tests: deployed workflows, triggers, and hook calls."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import urlparse

import pytest

CODE = "export default async function(ctx) { return {input: ctx.input, customer: ctx.customer && ctx.customer.id}; }"


class Setup:
    """Workflows and customers of one organization (tests/factories.py), and
    triggers made through the API (its answer carries the hook URL)."""

    def __init__(self, api, org):
        self.api = api
        self.org = org
        self.client = api(org)
        self.count = 0

    def workflow(self, *, code: str = CODE, tier: str = "standard", deploy: bool = True, **fields) -> str:
        from tests.factories import WorkflowFactory

        slug = fields.pop("slug", f"wf-trg-{uuid.uuid4().hex[:10]}")
        deployed_to = "production" if deploy else None
        WorkflowFactory(org=self.org, name=slug, slug=slug, code=code, tier=tier, deploy=deployed_to, **fields)
        return slug

    def trigger(
        self, type: str = "webhook", *, workflow: str | None = None, config: dict | None = None, **fields
    ) -> dict:
        body = {"type": type, "workflow": workflow or self.workflow(), "config": config or {}, **fields}
        response = self.client.post("/api/v1/triggers", body)
        assert response.status_code == 201, response.json()
        return response.json()

    def customer(self, external_id: str) -> None:
        from apps.settings.exceptions import CustomerExists
        from tests.factories import CustomerFactory

        try:
            CustomerFactory(org=self.org, external_id=external_id, name=external_id)
        except CustomerExists:
            pass


@pytest.fixture
def setup(api):
    return lambda org: Setup(api, org)


def hook_path(trigger: dict) -> str:
    return urlparse(trigger["url"]).path


def post_hook(path: str, body=b"{}", *, content_type: str = "application/json", **headers):
    """POST raw bytes to a hook URL with plain HTTP headers (no API key)."""
    from django.test import Client

    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    return Client().post(path, data=raw, content_type=content_type, **meta)


def fastn_signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


class broker_at:
    """Point this process's Celery producer at another Redis for a block
    (the app's pools are rebuilt; no second Celery app becomes current)."""

    def __init__(self, url: str) -> None:
        self.url = url

    @staticmethod
    def _point(url: str) -> None:
        from fastn.celery import app

        app.conf.broker_url = url
        # Dropped, not closed: other objects (the control mailbox) may hold the old pool.
        app._pool = None
        app.amqp._producer_pool = None

    def __enter__(self):
        from apps.triggers.services.events import broker_reset
        from fastn.celery import app

        self.previous = app.conf.broker_url
        broker_reset()
        self._point(self.url)
        return self

    def __exit__(self, *exc):
        from apps.triggers.services.events import broker_reset

        self._point(self.previous)
        broker_reset()
