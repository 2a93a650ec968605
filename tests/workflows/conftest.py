"""Helpers for tests that run workflows on real Celery workers."""

from __future__ import annotations

import time

import pytest


class Deployed:
    """A workflow created, published and deployed through the API of a live organization."""

    def __init__(self, client, slug: str):
        self.client = client
        self.slug = slug

    def run(self, payload=None, **headers):
        return self.client.post(f"/api/v1/workflows/{self.slug}/run", payload if payload is not None else {}, **headers)

    def execution(self, execution_id: str) -> dict:
        return self.client.get(f"/api/v1/executions/{execution_id}").json()

    def wait(self, execution_id: str, *, timeout: float = 30, until=("completed", "failed", "timeout")) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            detail = self.execution(execution_id)
            if detail["status"] in until:
                return detail
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"execution still {detail['status']} after {timeout} s: {detail}\n{_broker_state()}"
                )
            time.sleep(0.05)


@pytest.fixture
def deploy(api):
    """deploy(org, code, tier="instant", **fields) → Deployed (published v1, deployed to production)."""
    from tests.factories import WorkflowFactory

    counter = {"n": 0}

    def make(org, code: str, *, tier: str = "instant", customer: str | None = None, **fields) -> Deployed:
        counter["n"] += 1
        slug = fields.pop("slug", f"wf-{counter['n']}")
        WorkflowFactory(org=org, name=slug, slug=slug, code=code, tier=tier, deploy="production", **fields)
        return Deployed(api(org, customer=customer), slug)

    return make


def _broker_state() -> str:
    """What the broker holds for this test process, to explain a stuck execution."""
    from django.conf import settings

    from apps.core.redis import get_redis

    redis = get_redis()
    lines = []
    for raw in redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:celery:*"):
        name = raw.decode()
        kind = redis.type(raw).decode()
        size = {"list": redis.llen, "hash": redis.hlen, "zset": redis.zcard, "set": redis.scard}.get(kind)
        lines.append(f"{name} {kind} {size(raw) if size else ''}")
    from django.db import connection

    state = f"autocommit={connection.get_autocommit()} in_atomic={connection.in_atomic_block} "
    state += f"callbacks={len(connection.run_on_commit)}"
    return state + "\nbroker keys:\n" + "\n".join(sorted(line for line in lines if "task-meta" not in line))
