"""JavaScript values in, JSON-safe rows out.

Parameters (`$1, $2 …`), as the runtime hands them over from JSON:

- null → NULL; booleans → boolean; strings → untyped text, so PostgreSQL
  reads them as whatever the context needs (a date, a uuid, an enum …);
- whole numbers → bigint (numeric beyond 64 bits); other numbers → double;
- objects → jsonb;
- arrays → a PostgreSQL array when every item is a string, every item a
  number or every item a boolean (nulls allowed, nested arrays rectangular);
  any other array (objects, mixed kinds) → jsonb.

Rows come back as objects keyed by column name (a later duplicate name wins,
as in node-postgres). Values:

- smallint/integer/oid → number; bigint → number when JavaScript holds it
  exactly (|n| ≤ 2^53 − 1), else a string; numeric → number when the
  double prints back to the same value, else a string (cast to text in SQL
  for always-strings); real/double → number, NaN/±Infinity → "NaN",
  "Infinity", "-Infinity";
- boolean → boolean; json/jsonb → parsed; arrays → arrays of these values;
- timestamptz → ISO 8601 in UTC with microseconds, "2024-05-01T12:00:00.123456Z";
  timestamp → "2024-05-01T12:00:00"; date → "2024-05-01"; time/timetz as
  PostgreSQL prints them; interval → ISO 8601 duration ("P1DT2H"); the
  infinite and BC values as PostgreSQL prints them;
- uuid, text, inet, money, ranges and every other type → their text;
  bytea → base64 (write binary with `decode($1, 'base64')`).
"""

from __future__ import annotations

import base64
import math
from decimal import Decimal, InvalidOperation

import psycopg
from psycopg.adapt import AdaptersMap, Loader
from psycopg.types.json import Jsonb
from psycopg.types.numeric import Float8, Int8, IntNumeric

from .exceptions import SandboxDbError

MAX_SAFE_INTEGER = 2**53 - 1
_INT8_MIN, _INT8_MAX = -(2**63), 2**63 - 1


def params_to_postgres(params) -> list:
    """The workflow's params as values psycopg sends with the types above."""
    if params is None:
        return []
    if not isinstance(params, list | tuple):
        raise SandboxDbError("params must be an array.", "invalid_params")
    if len(params) > 65_535:
        raise SandboxDbError("A statement takes at most 65,535 parameters.", "invalid_params")
    return [_param(value, position) for position, value in enumerate(params, start=1)]


def _param(value, position: int):
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return Int8(value) if _INT8_MIN <= value <= _INT8_MAX else IntNumeric(value)
    if isinstance(value, float):
        return Float8(value)
    if isinstance(value, dict):
        return Jsonb(value)
    if isinstance(value, list | tuple):
        array = _array(list(value))
        return Jsonb(list(value)) if array is None else array
    raise SandboxDbError(f"Parameter ${position} is not a JSON value.", "invalid_params")


def _array(items: list) -> list | None:
    """`items` as a PostgreSQL array, or None when it is not one kind of scalar."""
    leaves: list = []
    if not _rectangular(items, leaves):
        return None
    kinds = {_kind(leaf) for leaf in leaves if leaf is not None}
    if len(kinds) > 1 or "other" in kinds:
        return None
    if kinds == {"number"}:
        if any(isinstance(leaf, float) for leaf in leaves):
            return _map(items, lambda v: None if v is None else Float8(float(v)))
        if all(leaf is None or _INT8_MIN <= leaf <= _INT8_MAX for leaf in leaves):
            return _map(items, lambda v: None if v is None else Int8(v))
        return _map(items, lambda v: None if v is None else IntNumeric(v))
    return items


def _rectangular(items: list, leaves: list) -> bool:
    nested = [isinstance(item, list | tuple) for item in items]
    if any(nested):
        if not all(nested):
            return False
        lengths = {len(item) for item in items}
        return len(lengths) == 1 and all(_rectangular(list(item), leaves) for item in items)
    leaves.extend(items)
    return True


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "str"
    return "other"


def _map(items: list, convert) -> list:
    return [_map(list(item), convert) if isinstance(item, list | tuple) else convert(item) for item in items]


# --- Result values ------------------------------------------------------------


def _text(data) -> str:
    return bytes(data).decode("utf-8")


class _TextLoader(Loader):
    def load(self, data):
        return _text(data)


class _Int8Loader(Loader):
    def load(self, data):
        value = int(bytes(data))
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else str(value)


class _NumericLoader(Loader):
    def load(self, data):
        text = _text(data)
        try:
            exact = Decimal(text)
        except InvalidOperation:
            return text
        if not exact.is_finite():
            return text  # NaN, Infinity, -Infinity
        if exact == exact.to_integral_value() and "." not in text and "e" not in text.lower():
            value = int(exact)
            return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else text
        number = float(exact)
        # A number only when the double reads back as the same decimal value.
        return number if math.isfinite(number) and Decimal(repr(number)) == exact else text


class _FloatLoader(Loader):
    def load(self, data):
        value = float(bytes(data))
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value


class _ByteaLoader(Loader):
    def load(self, data):
        raw = bytes(data)
        if raw.startswith(b"\\x"):  # bytea_output = hex, set on every session
            return base64.b64encode(bytes.fromhex(raw[2:].decode("ascii"))).decode("ascii")
        return base64.b64encode(raw).decode("ascii")


class _TimestampLoader(Loader):
    def load(self, data):
        text = _text(data)
        if text[:1].isdigit() and not text.endswith(" BC"):
            return text.replace(" ", "T", 1)
        return text  # infinity, -infinity, BC


class _TimestampTzLoader(Loader):
    def load(self, data):
        text = _text(data)
        # The session's TimeZone is UTC, so every value ends in "+00".
        if text[:1].isdigit() and text.endswith("+00"):
            return text[:-3].replace(" ", "T", 1) + "Z"
        return text


def _adapters() -> AdaptersMap:
    adapters = AdaptersMap(psycopg.adapters)
    types = psycopg.postgres.types
    custom = {
        "int8": _Int8Loader,
        "numeric": _NumericLoader,
        "float4": _FloatLoader,
        "float8": _FloatLoader,
        "bytea": _ByteaLoader,
        "timestamp": _TimestampLoader,
        "timestamptz": _TimestampTzLoader,
    }
    for name, loader in custom.items():
        adapters.register_loader(types[name].oid, loader)
    # Types psycopg would turn into Python objects that are not JSON: keep text.
    as_text = [
        "uuid",
        "date",
        "time",
        "timetz",
        "interval",
        "inet",
        "cidr",
        "record",
        "money",
        "int4range",
        "int8range",
        "numrange",
        "daterange",
        "tsrange",
        "tstzrange",
        "int4multirange",
        "int8multirange",
        "nummultirange",
        "datemultirange",
        "tsmultirange",
        "tstzmultirange",
    ]
    for name in as_text:
        info = types.get(name)
        if info is not None:
            adapters.register_loader(info.oid, _TextLoader)
    return adapters


# Connections to sandbox roles load results with these; arrays of any of the
# types above use the element loaders registered here.
ADAPTERS = _adapters()
