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

import hashlib
import os
import threading
from dataclasses import dataclass

import redis
from django.conf import settings

from apps.core.redis import get_redis, key

# KEYS: the window hashes, then the version key (last).
# ARGV[1]: the amount; ARGV[2]: the checks, "key,field,limit,hard,ttl;..." as
# numbers (key and field are indexes into KEYS and into ARGV[3...], limit -1
# for none, hard 1/0, ttl 0 for never); ARGV[3...]: the hash fields. Numbers
# travel packed in one string: fewer arguments to encode on every request.
# Returns {admitted (1/0), version, value per check}: the values after the
# increment when admitted, the current values when refused.
CONSUME_LUA = """
local amount = tonumber(ARGV[1])
local checks = {}
for k, f, limit, hard, ttl in string.gmatch(ARGV[2], '(%d+),(%d+),(-?%d+),(%d),(%d+)') do
  checks[#checks + 1] = {KEYS[tonumber(k)], ARGV[2 + tonumber(f)], tonumber(limit), hard == '1', tonumber(ttl)}
end
local values = {}
local refused = false
for i, c in ipairs(checks) do
  local v = tonumber(redis.call('HGET', c[1], c[2]) or '0')
  values[i] = v
  if amount > 0 and c[4] and c[3] >= 0 and v + amount > c[3] then
    refused = true
    redis.call('HINCRBY', c[1], 'r:' .. c[2], 1)
    if c[5] > 0 then redis.call('EXPIRE', c[1], c[5]) end
  end
end
local version = redis.call('GET', KEYS[#KEYS]) or '0'
if refused then
  local out = {0, version}
  for i = 1, #checks do out[#out + 1] = values[i] end
  return out
end
local out = {1, version}
for i, c in ipairs(checks) do
  local v = redis.call('HINCRBY', c[1], c[2], amount)
  if v < 0 then
    redis.call('HSET', c[1], c[2], 0)
    v = 0
  end
  -- A window hash gets its expiry when a field of it is created (the hash
  -- with it); later increments leave it alone.
  if c[5] > 0 and v == amount then redis.call('EXPIRE', c[1], c[5]) end
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


def organization_key_prefix(organization_pk: int) -> str:
    """`<prefix>:quota:{<pk>}:`, the start of every quota key of an organization."""
    return f"{settings.REDIS_KEY_PREFIX}:quota:{{{organization_pk}}}:"


def hash_key(organization_pk: int, meter: str, token: str) -> str:
    return key("quota", f"{{{organization_pk}}}", meter, token)


def version_key(organization_pk: int) -> str:
    return key("quota", f"{{{organization_pk}}}", "v")


def redis_url() -> str:
    return settings.FASTN_QUOTA_REDIS_URL or settings.REDIS_URL


def client() -> redis.Redis:
    return get_redis(redis_url())


CONSUME_SHA = hashlib.sha1(CONSUME_LUA.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1

_local = threading.local()


def _connection():
    """This thread's own connection to the counters' Redis (same settings as get_redis()).

    The hot path sends one command and reads one answer on it. Through the
    client's pool, redis-py also polls every borrowed connection for stray
    data and toggles its blocking mode: three times the system calls of the
    round trip itself, which measurably dominated the check's cost.
    """
    url = redis_url()
    conn = getattr(_local, "conn", None)
    if conn is None or _local.url != url or _local.pid != os.getpid():
        pool = client().connection_pool
        conn = pool.connection_class(**pool.connection_kwargs)
        _local.conn, _local.url, _local.pid = conn, url, os.getpid()
    return conn


def _run_consume(keys: list[str], args: list[object]) -> list:
    """EVALSHA the script (EVAL once when Redis does not know it yet); one round trip."""
    conn = _connection()
    try:
        try:
            conn.send_command("EVALSHA", CONSUME_SHA, len(keys), *keys, *args)
            return conn.read_response()
        except redis.exceptions.NoScriptError:
            # A restarted or flushed Redis forgot the script: EVAL loads it again.
            conn.send_command("EVAL", CONSUME_LUA, len(keys), *keys, *args)
            return conn.read_response()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
        conn.disconnect()  # the next call starts on a new connection
        raise


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
    fields: list[str] = []
    specs: list[str] = []
    for check in checks:
        try:
            key_index = keys.index(check.key) + 1
        except ValueError:
            keys.append(check.key)
            key_index = len(keys)
        try:
            field_index = fields.index(check.field) + 1
        except ValueError:
            fields.append(check.field)
            field_index = len(fields)
        limit = -1 if check.limit is None else check.limit
        specs.append(f"{key_index},{field_index},{limit},{1 if check.hard else 0},{check.ttl}")
    keys.append(version_key_name)
    raw = _run_consume(keys, [amount, ";".join(specs), *fields])
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
