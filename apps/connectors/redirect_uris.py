"""The organization's allow-list of OAuth return URLs (pure: no Django models).

`GET /api/v1/oauth/{connector}/authorize?redirect_uri=…` sends the browser
back to `redirect_uri` with the outcome (`status`, `connection_id`). Without
a list, any URL would do, and a link naming someone else's site would hand
it the outcome. An entry is an absolute http(s) URL without query or
fragment; a return URL matches it when the scheme, host and port are equal
and its path is the entry's path or below it (`https://app.example/oauth`
allows `/oauth` and `/oauth/done`, not `/oauthx`). A host may start with
`*.` to allow every subdomain (not the bare domain): a SaaS with one
subdomain per customer lists `https://*.app.example/integrations`.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

MAX_URI = 2048
MAX_ENTRIES = 100
_DEFAULT_PORTS = {"http": 80, "https": 443}


class RedirectUriError(ValueError):
    """An entry or a return URL that cannot be used; the message says why."""


def _parts(url: str, *, entry: bool):
    if not isinstance(url, str) or not url:
        raise RedirectUriError("Give an absolute http(s) URL.")
    if len(url) > MAX_URI:
        raise RedirectUriError(f"Use at most {MAX_URI} characters.")
    if any(ch in url for ch in "\\ \t\r\n") or any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise RedirectUriError("A URL may not contain spaces, backslashes or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RedirectUriError("This is not a valid URL.") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise RedirectUriError("Use an absolute http(s) URL.")
    if parts.username is not None or parts.password is not None:
        raise RedirectUriError("A URL may not carry credentials.")
    host = parts.hostname.lower()
    if "*" in host and not (entry and host.startswith("*.") and "*" not in host[2:] and host.count(".") >= 2):
        raise RedirectUriError("A wildcard is only allowed as the first label of the host (https://*.app.example).")
    if entry and (parts.query or parts.fragment or url.endswith(("?", "#"))):
        raise RedirectUriError("An allowed URL has no query string or fragment.")
    segments = unquote(parts.path).split("/")
    if any(segment in (".", "..") for segment in segments):
        raise RedirectUriError("A URL may not contain '.' or '..' path segments.")
    return parts.scheme, host, port or _DEFAULT_PORTS[parts.scheme], parts.path or "/"


def normalize_entry(url: str) -> str:
    """The canonical form of an allow-list entry (lower-case scheme and host,
    default port dropped). Raises RedirectUriError."""
    scheme, host, port, path = _parts(url.strip() if isinstance(url, str) else url, entry=True)
    netloc = host if port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    if ":" in host:  # IPv6 literal
        netloc = f"[{host}]" if port == _DEFAULT_PORTS[scheme] else f"[{host}]:{port}"
    return f"{scheme}://{netloc}{path}"


def _host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def _path_matches(allowed: str, path: str) -> bool:
    if allowed == "/" or path == allowed:
        return True
    prefix = allowed if allowed.endswith("/") else allowed + "/"
    return path.startswith(prefix)


def return_url_allowed(url: str, allowed: list[str]) -> bool:
    """Whether `url` may receive the outcome under the allow-list `allowed`
    (entries as `normalize_entry` makes them). Raises RedirectUriError when
    `url` itself is not usable."""
    scheme, host, port, path = _parts(url, entry=False)
    for entry in allowed:
        try:
            e_scheme, e_host, e_port, e_path = _parts(entry, entry=True)
        except RedirectUriError:
            continue
        if e_scheme == scheme and e_port == port and _host_matches(e_host, host) and _path_matches(e_path, path):
            return True
    return False
