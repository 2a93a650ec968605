"""One Redis client per URL for the process, with short timeouts.

Callers name keys through `key()`, which puts the stack's prefix in front, so
that several stacks or test runs can share a server.
"""

from __future__ import annotations

import functools
import time

import redis
from django.conf import settings


@functools.lru_cache(maxsize=8)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=1,
        socket_timeout=2,
        health_check_interval=30,
        decode_responses=False,
    )


def get_redis(url: str | None = None) -> redis.Redis:
    return _client(url or settings.REDIS_URL)


@functools.lru_cache(maxsize=8)
def _blocking_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=None, decode_responses=False)


def get_blocking_redis(url: str | None = None) -> redis.Redis:
    """A client for blocking commands (BLPOP) whose wait is longer than the
    regular client's 2 s socket timeout; pass the wait as the command's own timeout."""
    return _blocking_client(url or settings.REDIS_URL)


def blpop_within(keys: list[str], timeout_s: float, *, url: str | None = None) -> tuple | None:
    """BLPOP for up to `timeout_s`, or None.

    The shared client's socket timeout (2 s) is shorter than a long wait, and
    a single long BLPOP would end in a TimeoutError after 2 s; so wait in
    slices of at most one second. A Redis that goes away still fails fast.
    """
    client = get_redis(url)
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        reply = client.blpop(keys, timeout=min(1.0, max(remaining, 0.01)))
        if reply is not None or remaining <= 1.0:
            return reply


def key(*parts: object) -> str:
    return ":".join([settings.REDIS_KEY_PREFIX, *(str(p) for p in parts)])
