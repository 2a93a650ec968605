"""Request headers handed to workflow code, with credentials taken out."""

from __future__ import annotations

from collections.abc import Mapping

# Exact names, and fragments that mark a header as carrying a credential.
_STRIPPED_NAMES = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-fastn-access-key",
        "x-csrftoken",
        "x-xsrf-token",
    }
)
_STRIPPED_FRAGMENTS = ("token", "secret", "password", "api-key", "apikey", "access-key", "signature", "auth")
MAX_HEADERS = 100
MAX_VALUE_LENGTH = 8192


def is_credential_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _STRIPPED_NAMES or any(fragment in lowered for fragment in _STRIPPED_FRAGMENTS)


def strip_credentials(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased headers without credentials, bounded in count and size."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if len(out) >= MAX_HEADERS:
            break
        if not isinstance(name, str) or not isinstance(value, str) or is_credential_header(name):
            continue
        out[name.lower()] = value[:MAX_VALUE_LENGTH]
    return out


def request_headers(meta: Mapping[str, object]) -> dict[str, str]:
    """HTTP headers of a Django request's META, as a plain lower-cased dict."""
    headers: dict[str, str] = {}
    for key, value in meta.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            headers[key[5:].replace("_", "-").lower()] = value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers[key.replace("_", "-").lower()] = str(value)
    return headers
