"""Make JSON values storable in PostgreSQL jsonb.

jsonb refuses the NUL character and unpaired UTF-16 surrogates, both of which
JavaScript strings may hold. Values are checked cheaply first and only walked
when they contain either.
"""

from __future__ import annotations

import json
from typing import Any


def _clean_str(value: str) -> str:
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def _walk(value: Any) -> Any:
    if isinstance(value, str):
        return _clean_str(value)
    if isinstance(value, list):
        return [_walk(item) for item in value]
    if isinstance(value, dict):
        return {_clean_str(str(k)): _walk(v) for k, v in value.items()}
    return value


def jsonb_safe(value: Any) -> Any:
    try:
        text = json.dumps(value, ensure_ascii=False)
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _walk(value)
    except (TypeError, ValueError):
        return _walk(json.loads(json.dumps(value, default=str)))
    return _walk(value) if "\x00" in text or "\\u0000" in text else value
