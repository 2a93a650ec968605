"""Browser origins: how they are written, compared and checked.

An origin is `scheme://host[:port]`, lower-case, without a path and without
the scheme's default port — the form browsers send in the `Origin` header,
so that a stored origin compares equal to the header by plain string.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from apps.core.errors import InvalidInput

MAX_ORIGIN_LENGTH = 255
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_normalise(value: object, *, field: str) -> str:
    """`value` as a canonical origin, or InvalidInput naming `field`."""
    message = "Use an origin: http(s)://host[:port], without a path, query or credentials."
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ORIGIN_LENGTH:
        raise InvalidInput.for_field(field, message)
    raw = value.strip()
    if not raw.isascii() or any(c in raw for c in " \t\r\n\\*"):
        raise InvalidInput.for_field(field, message + " (Write international host names in punycode.)")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise InvalidInput.for_field(field, message) from None
    if (
        parts.scheme.lower() not in DEFAULT_PORTS
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or raw.endswith("?")
        or raw.endswith("#")
    ):
        raise InvalidInput.for_field(field, message)
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def origin_of_header(value: str | None) -> str | None:
    """The canonical form of an `Origin` header, or None when absent or opaque ("null")."""
    if not value or value == "null":
        return None
    try:
        return origin_normalise(value, field="origin")
    except InvalidInput:
        return None


def own_origins(request) -> set[str]:
    """Fastn's own origins: the public URL's and the request's host. The
    dashboard's Live Preview calls the end-user API from there."""
    found = set()
    parts = urlsplit(settings.FASTN_PUBLIC_URL)
    public = origin_of_header(urlunsplit((parts.scheme, parts.netloc, "", "", "")))
    if public:
        found.add(public)
    try:
        host = request.get_host()
    except Exception:  # noqa: BLE001 - a host not in ALLOWED_HOSTS is not ours
        return found
    mine = origin_of_header(f"{request.scheme}://{host}")
    if mine:
        found.add(mine)
    return found
