"""Quota counters in Redis: one atomic check-and-count per request.

Layout. One hash per (organization, meter, window):

    <prefix>:quota:{<org pk>}:<meter>:<window token>     e.g. …:api_calls:m29473921, …:api_calls:d20261125

with a field per scope: `o` for the organization, `c:<external_id>` for a
customer, and `r:o` / `r:c:<external_id>` for the requests refused there.
Levels (connections, storage) use the token `t` and never expire; window
hashes expire a while after their window ends, once rollups have copied them.
The braces make every key of one organization hash to one Redis Cluster slot.

`<prefix>:quota:{<org pk>}:v` is the organization's limits version: the
services bump it when tiers or customer limits change, and the script returns
it, so every process learns in the same round trip that its cached limits
are stale.

The script checks every Hard Block limit of the request first and counts
nothing if one would be exceeded (then it only counts the refusal); else it
adds the amount to every counter. It runs as one Redis command, so any
number of concurrent requests see a limit of N let exactly N through.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import redis
from django.conf import settings

from apps.core.redis import get_redis, key

# KEYS: the window hashes, then the version key (last).
# ARGV: amount, number of checks, then per check: key index, field, limit
# (-1: none), hard (1/0), seconds to live (0: never expires).
# Returns {admitted (1/0), version, value per check}: the values after the
# increment when admitted, the current values when refused.
CONSUME_LUA = """
local amount = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local values = {}
local refused = false
for i = 0, n - 1 do
  local b = 3 + i * 5
  local k = KEYS[tonumber(ARGV[b])]
  local v = tonumber(redis.call('HGET', k, ARGV[b + 1]) or '0')
  values[i + 1] = v
  local limit = tonumber(ARGV[b + 2])
  if amount > 0 and limit >= 0 and ARGV[b + 3] == '1' and v + amount > limit then
    refused = true
    redis.call('HINCRBY', k, 'r:' .. ARGV[b + 1], 1)
    local ttl = tonumber(ARGV[b + 4])
    if ttl > 0 then redis.call('EXPIRE', k, ttl) end
  end
end
local version = redis.call('GET', KEYS[#KEYS]) or '0'
if refused then
  local out = {0, version}
  for i = 1, n do out[#out + 1] = values[i] end
  return out
end
local out = {1, version}
for i = 0, n - 1 do
  local b = 3 + i * 5
  local k = KEYS[tonumber(ARGV[b])]
  local v = redis.call('HINCRBY', k, ARGV[b + 1], amount)
  if v < 0 then
    redis.call('HSET', k, ARGV[b + 1], 0)
    v = 0
  end
  local ttl = tonumber(ARGV[b + 4])
  if ttl > 0 then redis.call('EXPIRE', k, ttl) end
  out[#out + 1] = v
end
return out
"""

ORG_FIELD = "o"
CUSTOMER_FIELD_PREFIX = "c:"
REFUSED_PREFIX = "r:"
# Window hashes outlive their window by this much, so a rollup that runs
# late still finds them.
MINUTE_KEEP_SECONDS = 60 * 60
DAY_KEEP_SECONDS = 2 * 24 * 60 * 60


def customer_field(external_id: str) -> str:
    return CUSTOMER_FIELD_PREFIX + external_id


def hash_key(organization_pk: int, meter: str, token: str) -> str:
    return key("quota", f"{{{organization_pk}}}", meter, token)


def version_key(organization_pk: int) -> str:
    return key("quota", f"{{{organization_pk}}}", "v")


def redis_url() -> str:
    return settings.FASTN_QUOTA_REDIS_URL or settings.REDIS_URL


def client() -> redis.Redis:
    return get_redis(redis_url())


_scripts: dict[str, object] = {}
_scripts_lock = threading.Lock()


def _consume_script():
    """The script, registered once per Redis URL (EVALSHA, reloaded if Redis forgot it)."""
    url = redis_url()
    script = _scripts.get(url)
    if script is None:
        with _scripts_lock:
            script = _scripts.get(url)
            if script is None:
                script = client().register_script(CONSUME_LUA)
                _scripts[url] = script
    return script


@dataclass(frozen=True)
class Check:
    """One counter the request touches, and the limit it must respect."""

    key: str
    field: str
    limit: int | None
    hard: bool
    ttl: int  # seconds to live; 0 for levels


@dataclass(frozen=True)
class ConsumeResult:
    admitted: bool
    version: int
    values: tuple[int, ...]  # per check: after counting, or current when refused


def consume(checks: list[Check], amount: int, version_key_name: str) -> ConsumeResult:
    """Run the script: one round trip. Raises redis.RedisError when Redis is away."""
    keys: list[str] = []
    index: dict[str, int] = {}
    argv: list[object] = [amount, len(checks)]
    for check in checks:
        position = index.get(check.key)
        if position is None:
            keys.append(check.key)
            position = index[check.key] = len(keys)
        argv.extend(
            (position, check.field, -1 if check.limit is None else check.limit, 1 if check.hard else 0, check.ttl)
        )
    keys.append(version_key_name)
    raw = _consume_script()(keys=keys, args=argv)
    version = raw[1]
    if isinstance(version, bytes):
        version = version.decode()
    return ConsumeResult(bool(raw[0]), int(version), tuple(int(v) for v in raw[2:]))


def bump_version(organization_pk: int) -> None:
    """Tell every process that this organization's limits changed."""
    client().incr(version_key(organization_pk))


def set_levels(organization_pk: int, meter: str, values: dict[str, int]) -> None:
    """Overwrite level counters (reconciliation of connections or storage with their source)."""
    client().hset(hash_key(organization_pk, meter, "t"), mapping={f: max(0, int(v)) for f, v in values.items()})


def read_hashes(keys: list[str]) -> list[dict[str, int]]:
    """HGETALL of several hashes in one round trip: field → integer value."""
    pipe = client().pipeline(transaction=False)
    for name in keys:
        pipe.hgetall(name)
    out = []
    for raw in pipe.execute():
        out.append({f.decode(): int(v) for f, v in raw.items()})
    return out


def delete_organization_counters(organization_pk: int) -> int:
    """Remove every counter of an organization (its deletion, or a test's fresh start)."""
    redis_client = client()
    names = list(redis_client.scan_iter(match=key("quota", f"{{{organization_pk}}}", "*"), count=500))
    if names:
        redis_client.delete(*names)
    return len(names)
