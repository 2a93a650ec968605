"""The one way Fastn talks to the outside world over HTTP (STYLE.md rule 7).

Connector calls, OAuth token exchanges, OIDC discovery and alert webhooks all go
through :func:`request`. It gives every caller the same guarantees:

* **A deadline.** Callers give a budget as a ``time.monotonic()`` deadline
  (and/or :class:`Timeouts`). Every connect, TLS handshake, read and write is
  capped by what is left of it, so a slow-drip server cannot hold a worker past
  the deadline.
* **An SSRF guard.** The host is resolved at connection time, *every* resolved
  address is checked (link-local, cloud metadata, multicast, unspecified and
  reserved are always refused; private and loopback unless
  ``allow_private=True``), and the socket connects to the address that was
  checked — there is no second DNS lookup to rebind. The URL keeps its host
  name, so the ``Host`` header, SNI and certificate checks are unchanged.
  Because the check sits under the connection pool, redirect hops are checked
  the same way. Numeric tricks (``http://2130706433/``, ``http://0x7f.1/``,
  ``[::ffff:127.0.0.1]``) are resolved by the system first and so checked as
  the address they really are.
* **Bounded retries** with backoff inside the budget, and ``Retry-After``.
* **A response size cap**, enforced while streaming.
* **Redaction.** Secrets given by the caller never appear in the messages of
  the errors raised here, nor in the URL reported back.

Non-2xx responses are *returned*, not raised: what a 404 means is the caller's
business. Errors raised are :class:`OutboundError` subclasses, each marked
``retryable`` or permanent.
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import json as _json
import random
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

import httpcore
import httpx

__all__ = [
    "ALWAYS_BLOCKED_REASONS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUTS",
    "MAX_REDIRECTS",
    "MAX_RETRIES",
    "REDACTED",
    "BlockedDestination",
    "ConnectionFailed",
    "InvalidRequest",
    "OutboundError",
    "OutboundResponse",
    "OutboundTimeout",
    "Redactor",
    "ResponseTooLarge",
    "Timeouts",
    "TLSVerificationFailed",
    "TooManyRedirects",
    "address_block_reason",
    "check_destination",
    "classify_address",
    "parse_retry_after",
    "redact",
    "redact_url",
    "request",
    "retry_delay",
]

REDACTED = "[REDACTED]"
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 10
MAX_RETRIES = 5
USER_AGENT = "Fastn/1.0 (+https://fastn.ai)"

# Methods a server must treat as idempotent (RFC 9110 §9.2.2): retrying them
# cannot create a second order or send a second email.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# 429 means the server refused the request without acting on it, so it is
# retried for any method; the others only for idempotent methods (or on request).
RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class OutboundError(Exception):
    """Base of every error raised by this module.

    ``retryable`` says whether trying the same request again later may work.
    ``str(error)`` never contains a secret passed to :func:`request`.
    """

    code = "outbound_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        url: str | None = None,
        elapsed_ms: int | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url  # always redacted
        self.elapsed_ms = elapsed_ms
        self.attempts = attempts


class InvalidRequest(OutboundError):
    """The request cannot be sent as given (malformed URL, bad arguments)."""

    code = "invalid_request"


class BlockedDestination(OutboundError):
    """The SSRF guard refused the destination. ``reason`` names the class."""

    code = "blocked_destination"

    def __init__(self, message: str, *, reason: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reason = reason


class OutboundTimeout(OutboundError):
    """The deadline or a per-operation timeout ran out."""

    code = "outbound_timeout"
    retryable = True


class ConnectionFailed(OutboundError):
    """The host could not be resolved or reached, or the connection broke."""

    code = "connection_failed"
    retryable = True


class TLSVerificationFailed(OutboundError):
    """The server's certificate does not verify for the host name. Not retried:
    it will not fix itself in a second."""

    code = "tls_verification_failed"


class ResponseTooLarge(OutboundError):
    """The response body is larger than the cap; reading stopped at the cap."""

    code = "response_too_large"


class TooManyRedirects(OutboundError):
    """More redirects than the caller allowed."""

    code = "too_many_redirects"


# --------------------------------------------------------------------------
# Redaction
# --------------------------------------------------------------------------

# Query parameters whose values are credentials whatever the caller says.
SENSITIVE_QUERY_KEYS = frozenset(
    {
        "access_key",
        "access_token",
        "accesskey",
        "api-key",
        "api_key",
        "api_token",
        "apikey",
        "apitoken",
        "auth",
        "authorization",
        "client_secret",
        "code",
        "code_verifier",
        "hapikey",
        "id_token",
        "jwt",
        "key",
        "passwd",
        "password",
        "private_token",
        "pwd",
        "refresh_token",
        "secret",
        "secret_key",
        "session",
        "sig",
        "signature",
        "token",
        "x-api-key",
    }
)

# Shorter strings are not worth hiding and would shred every message they
# occur in ("X" as a dummy password, "1" as an id).
_MIN_SECRET_LENGTH = 4


class Redactor:
    """Replaces known secret strings by ``[REDACTED]``.

    Each secret is also matched in the encoded forms it takes in URLs and
    JSON (percent-encoded, form-encoded, JSON-escaped), longest first so a
    secret that contains another is hidden whole.
    """

    def __init__(self, secrets: Iterable[str] = (), sensitive_query_keys: Iterable[str] = ()) -> None:
        self._secrets = tuple(s for s in secrets if isinstance(s, str) and len(s) >= _MIN_SECRET_LENGTH)
        self._extra_keys = frozenset(k.lower() for k in sensitive_query_keys)
        variants: set[str] = set()
        for secret in self._secrets:
            variants.add(secret)
            variants.add(quote(secret, safe=""))
            variants.add(quote_plus(secret, safe=""))
            variants.add(_json.dumps(secret)[1:-1])
        self._variants = sorted(variants, key=len, reverse=True)
        self._sensitive_keys = SENSITIVE_QUERY_KEYS | self._extra_keys

    def __bool__(self) -> bool:
        return bool(self._variants)

    def extend(self, secrets: Iterable[str] = (), sensitive_query_keys: Iterable[str] = ()) -> Redactor:
        """A new redactor that also hides ``secrets``."""
        return Redactor([*self._secrets, *secrets], [*self._extra_keys, *sensitive_query_keys])

    def redact(self, text: str) -> str:
        for variant in self._variants:
            if variant in text:
                text = text.replace(variant, REDACTED)
        return text

    def redact_bytes(self, data: bytes) -> bytes:
        return self.redact(data.decode("utf-8", errors="replace")).encode("utf-8")

    def redact_url(self, url: str) -> str:
        """The URL without user info, with credential query values and any
        known secret replaced by ``[REDACTED]``."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return self.redact(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode(
                [(k, REDACTED if k.lower() in self._sensitive_keys else v) for k, v in pairs],
                safe="[]",
            )
        return self.redact(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (and its URL/JSON-encoded forms) replaced."""
    return Redactor(secrets).redact(text)


def redact_url(url: str, secrets: Iterable[str] = (), sensitive_query_keys: Iterable[str] = ()) -> str:
    """``url`` safe to log: no user info, no credential query values, no secrets."""
    return Redactor(secrets, sensitive_query_keys).redact_url(url)


# --------------------------------------------------------------------------
# SSRF guard
# --------------------------------------------------------------------------

# Names that reach a cloud provider's instance metadata service without
# resolving to its address from the outside.
BLOCKED_HOSTNAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, ...
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
_UNSPECIFIED_V4 = _V4("0.0.0.0/8")  # "this network": 0.0.0.0 reaches localhost on Linux
_LINK_LOCAL = (_V4("169.254.0.0/16"), _V6("fe80::/10"))
_MULTICAST = (_V4("224.0.0.0/4"), _V6("ff00::/8"))
_RESERVED_V4 = _V4("240.0.0.0/4")  # includes 255.255.255.255
_LOOPBACK = (_V4("127.0.0.0/8"), _V6("::1/128"))
_PRIVATE = (
    _V4("10.0.0.0/8"),
    _V4("172.16.0.0/12"),
    _V4("192.168.0.0/16"),
    _V4("100.64.0.0/10"),  # carrier-grade NAT, also used inside cloud networks
    _V6("fc00::/7"),
    _V6("fec0::/10"),  # deprecated site-local
)
_NAT64 = _V6("64:ff9b::/96")
_V4_COMPATIBLE = _V6("::/96")

ALWAYS_BLOCKED_REASONS = frozenset({"metadata", "link_local", "multicast", "unspecified", "reserved"})
PRIVATE_REASONS = frozenset({"loopback", "private"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the forms
    that route to IPv4 (mapped, compatible, NAT64, 6to4)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _V4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def classify_address(address: str | IPAddress) -> str | None:
    """Why ``address`` is special, or ``None`` for an ordinary public address.

    One of ``metadata``, ``unspecified``, ``link_local``, ``multicast``,
    ``reserved`` (always refused), ``loopback``, ``private`` (refused unless
    private destinations are allowed). Anything else that is not globally
    routable is reported as ``private``.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if ip in _METADATA_ADDRESSES:
        return "metadata"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        if ip == ipaddress.IPv6Address("::"):
            return "unspecified"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return classify_address(embedded)
    elif ip in _UNSPECIFIED_V4:
        return "unspecified"
    if any(ip in net for net in _LINK_LOCAL if net.version == ip.version):
        return "link_local"
    if any(ip in net for net in _MULTICAST if net.version == ip.version):
        return "multicast"
    if ip.version == 4 and ip in _RESERVED_V4:
        return "reserved"
    if any(ip in net for net in _LOOPBACK if net.version == ip.version):
        return "loopback"
    if any(ip in net for net in _PRIVATE if net.version == ip.version):
        return "private"
    if not ip.is_global:
        return "private"
    return None


def address_block_reason(address: str | IPAddress, *, allow_private: bool) -> str | None:
    """The reason to refuse ``address`` under this policy, or ``None``."""
    reason = classify_address(address)
    if reason is None or (allow_private and reason in PRIVATE_REASONS):
        return None
    return reason


def _normalise_hostname(host: str) -> str:
    return host.strip().rstrip(".").lower().strip("[]")


def _resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order.

    A seam for tests; numeric forms the URL parser leaves alone
    (``2130706433``, ``0x7f.1``) are turned into addresses here, by the same
    resolver the socket would use.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[str] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _check_hostname(host: str) -> None:
    name = _normalise_hostname(host)
    if name in BLOCKED_HOSTNAMES:
        raise BlockedDestination(f"Destination host {name!r} is a cloud metadata service", reason="metadata")


def resolve_and_check(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Resolve ``host`` and return its addresses if *all* of them are allowed.

    One refused address refuses the host: a name that answers with one public
    and one private address must not get a second chance to hit the private
    one. Raises :class:`BlockedDestination` or :class:`ConnectionFailed`.
    """
    _check_hostname(host)
    try:
        addresses = _resolve(_normalise_hostname(host), port)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConnectionFailed(f"Could not resolve host {host!r}: {exc}") from None
    if not addresses:
        raise ConnectionFailed(f"Host {host!r} has no address")
    for address in addresses:
        reason = address_block_reason(address, allow_private=allow_private)
        if reason is not None:
            shown = "it" if _normalise_hostname(host) == address else address
            label = reason.replace("_", "-")
            article = "an" if label[0] in "aeiou" else "a"
            raise BlockedDestination(
                f"Destination {host!r} is not allowed: {shown} is {article} {label} address",
                reason=reason,
            )
    return addresses


def check_destination(url: str, *, allow_private: bool = False) -> list[str]:
    """Check ``url`` as :func:`request` would before connecting.

    For early validation (e.g. when a definition or an alert URL is saved).
    Returns the addresses the host resolves to; raises
    :class:`InvalidRequest`, :class:`BlockedDestination` or
    :class:`ConnectionFailed`. :func:`request` checks again at connection time,
    so passing this check is never a reason to skip that one.
    """
    parsed = _parse_url(url)
    return resolve_and_check(parsed.host, parsed.port or _default_port(parsed.scheme), allow_private=allow_private)


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


# --------------------------------------------------------------------------
# The guarded connection layer
# --------------------------------------------------------------------------


class _DeadlineStream(httpcore.NetworkStream):
    """Caps every socket operation's timeout by what is left of the deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def _cap(self, timeout: float | None, error: type[Exception]) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise error("deadline exceeded")
        return remaining if timeout is None else min(timeout, remaining)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._cap(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._cap(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(ssl_context, server_hostname, self._cap(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _GuardedNetworkBackend(httpcore.NetworkBackend):
    """Resolves, checks, then connects to the checked address.

    This is where the SSRF guard really lives: every TCP connection httpx
    opens — first request, redirect hop, retry — comes through here.
    """

    def __init__(self, *, allow_private: bool, deadline: float) -> None:
        self._allow_private = allow_private
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve_and_check(host, port, allow_private=self._allow_private)
        last_error: Exception | None = None
        for address in addresses:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise httpcore.ConnectTimeout("deadline exceeded")
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    timeout=remaining if timeout is None else min(timeout, remaining),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                last_error = exc  # try the host's next address
                continue
            return _DeadlineStream(stream, self._deadline)
        assert last_error is not None
        raise last_error

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise BlockedDestination("Unix sockets are not an outbound destination", reason="scheme")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, *, backend: _GuardedNetworkBackend, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False, retries=0)
        # httpx has no parameter for the network backend, so the pool it built
        # is replaced by an equivalent one that connects through the guard.
        # tests/core_http prove the guard is in force on every connection; if
        # an httpx upgrade changes this attribute, they fail.
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=10,
            max_keepalive_connections=10,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=backend,
        )


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs milliseconds; do it once per process.
    return httpx.create_ssl_context()


# --------------------------------------------------------------------------
# Request and response
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeouts:
    """Caps for each phase, in seconds. ``total`` bounds the whole call
    (retries and redirects included) when the caller gives no deadline, and
    caps it when the caller does."""

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    total: float = 60.0


DEFAULT_TIMEOUTS = Timeouts()


@dataclass(frozen=True)
class OutboundResponse:
    """What came back. ``url`` is the final URL, redacted."""

    method: str
    url: str
    status: int
    headers: httpx.Headers
    body: bytes
    json: Any  # the parsed body when the response is JSON, else None
    is_json: bool
    elapsed_ms: int
    request_bytes: int
    response_bytes: int
    attempts: int
    redirects: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.body.decode(_charset(self.headers), errors="replace")

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait, from ``Retry-After``."""
        return parse_retry_after(self.headers.get("retry-after"))

    def trace(self) -> dict[str, Any]:
        """A log-safe summary of the exchange."""
        return {
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "elapsed_ms": self.elapsed_ms,
            "request_bytes": self.request_bytes,
            "response_bytes": self.response_bytes,
            "attempts": self.attempts,
            "redirects": self.redirects,
        }


def _charset(headers: httpx.Headers) -> str:
    content_type = headers.get("content-type", "")
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            try:
                "".encode(value.strip('"'))
            except LookupError:
                break
            return str(value.strip('"'))
    return "utf-8"


def _is_json_content_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date.

    ``None`` when absent or unreadable; never negative.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def retry_delay(attempt: int, *, base: float = 0.5, cap: float = 10.0) -> float:
    """Backoff before retry number ``attempt`` (1-based): exponential, capped,
    with jitter so that many workers do not retry in step."""
    delay: float = min(cap, base * (2 ** (attempt - 1)))
    return delay * random.uniform(0.5, 1.0)


@dataclass
class _Body:
    content: bytes | None = None
    content_type: str | None = None

    @property
    def size(self) -> int:
        return len(self.content) if self.content else 0


_NO_JSON = object()


def _encode_body(json: Any, form: Mapping[str, Any] | None, content: bytes | str | None) -> _Body:
    given = [json is not _NO_JSON, form is not None, content is not None]
    if sum(given) > 1:
        raise InvalidRequest("Give at most one of json, form and content")
    if json is not _NO_JSON:
        encoded = _json.dumps(json, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return _Body(encoded, "application/json")
    if form is not None:
        pairs = [(k, v) for k, v in form.items() if v is not None]
        return _Body(urlencode(pairs, doseq=True).encode("ascii"), "application/x-www-form-urlencoded")
    if content is not None:
        return _Body(content.encode("utf-8") if isinstance(content, str) else content, None)
    return _Body()


def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise InvalidRequest(f"Invalid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise BlockedDestination(
            f"Only http and https URLs can be called, not {parsed.scheme or 'a relative URL'!r}",
            reason="scheme",
        )
    if not parsed.host:
        raise InvalidRequest("The URL has no host")
    _check_hostname(parsed.host)
    return parsed


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return [_query_value(v) for v in value if v is not None]
    return value


def _read_capped(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(f"Response of {int(declared)} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > limit:
            raise ResponseTooLarge(f"Response is over the {limit}-byte limit; reading stopped")
        chunks.append(chunk)
    return b"".join(chunks)


def _is_same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port or _default_port(a.scheme)) == (
        b.scheme,
        b.host,
        b.port or _default_port(b.scheme),
    )


# Headers that carry credentials: dropped when a redirect leaves the origin.
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def request(
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    json: Any = _NO_JSON,
    form: Mapping[str, Any] | None = None,
    content: bytes | str | None = None,
    deadline: float | None = None,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    allow_private: bool = False,
    max_redirects: int = 0,
    retries: int = 0,
    retry_non_idempotent: bool = False,
    backoff_base: float = 0.5,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    secrets: Iterable[str] = (),
    sensitive_query_keys: Iterable[str] = (),
    ssl_context: ssl.SSLContext | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> OutboundResponse:
    """Send one HTTP request to the outside world and return the response.

    ``deadline`` is a ``time.monotonic()`` instant; the effective deadline is
    the earlier of it and ``now + timeouts.total``. Redirects are followed only
    when ``max_redirects`` > 0 (at most :data:`MAX_REDIRECTS`); credentials
    headers are dropped when a redirect leaves the origin.

    ``retries`` extra attempts (at most :data:`MAX_RETRIES`) are made, with
    jittered exponential backoff (or the server's ``Retry-After``), for
    timeouts, connection failures and 408/429/502/503/504 — but only when
    repeating cannot do a thing twice: idempotent methods, any method on 429
    or when the connection failed before anything was sent, or anything when
    ``retry_non_idempotent`` is set. A wait that does not fit before the
    deadline is not made: the last response is returned as it is (a 429 with
    a long ``Retry-After`` comes back at once) or the last error raised.

    ``secrets`` (and ``sensitive_query_keys``' values) are kept out of the
    URL reported back and out of every error message.

    Raises :class:`OutboundError` subclasses; returns responses of any status.
    """
    started = time.monotonic()
    redactor = Redactor(secrets, sensitive_query_keys)
    method = method.upper()
    if not 0 <= retries <= MAX_RETRIES:
        raise InvalidRequest(f"retries must be between 0 and {MAX_RETRIES}")
    if not 0 <= max_redirects <= MAX_REDIRECTS:
        raise InvalidRequest(f"max_redirects must be between 0 and {MAX_REDIRECTS}")
    end = started + timeouts.total if deadline is None else min(deadline, started + timeouts.total)

    try:
        target = _parse_url(url)
    except BlockedDestination as exc:
        raise BlockedDestination(redactor.redact(exc.message), reason=exc.reason, method=method) from None
    except OutboundError as exc:
        raise type(exc)(redactor.redact(exc.message), method=method) from None
    if params:
        items = params.items() if isinstance(params, Mapping) else params
        cleaned = [(k, _query_value(v)) for k, v in items if v is not None]
        merged: list[tuple[str, Any]] = list(target.params.multi_items())
        for key, value in cleaned:
            for single in value if isinstance(value, list) else [value]:
                merged.append((key, single))
        target = target.copy_with(params=httpx.QueryParams(merged))
    body = _encode_body(json, form, content)
    base_headers = httpx.Headers({"User-Agent": USER_AGENT, "Accept": "application/json, */*;q=0.5"})
    if body.content_type:
        base_headers["Content-Type"] = body.content_type
    if headers:
        for name, value in headers.items():
            base_headers[name] = value

    shown_url = redactor.redact_url(str(target))
    retry_any_method = retry_non_idempotent or method in IDEMPOTENT_METHODS

    def fail(error_type: type[OutboundError], message: str, attempts: int, **extra: Any) -> OutboundError:
        return error_type(
            redactor.redact(f"{method} {shown_url}: {message}"),
            method=method,
            url=shown_url,
            elapsed_ms=int((time.monotonic() - started) * 1000),
            attempts=attempts,
            **extra,
        )

    backend = _GuardedNetworkBackend(allow_private=allow_private, deadline=end)
    transport = _GuardedTransport(backend=backend, ssl_context=ssl_context or _default_ssl_context())
    with httpx.Client(transport=transport, trust_env=False, follow_redirects=False) as client:
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = _send_following_redirects(
                    client,
                    method,
                    target,
                    base_headers,
                    body,
                    end=end,
                    timeouts=timeouts,
                    max_redirects=max_redirects,
                    max_response_bytes=max_response_bytes,
                )
            except _AttemptFailed as failure:
                error = fail(failure.error_type, failure.message, attempt, **failure.extra)
                may_retry = error.retryable and (retry_any_method or failure.nothing_sent)
                if may_retry and attempt <= retries and _wait(retry_delay(attempt, base=backoff_base), end, sleep):
                    continue
                raise error from None

            response, response_body, hops, final_url = outcome
            status = response.status_code
            if attempt <= retries and status in RETRYABLE_STATUSES and (retry_any_method or status == 429):
                asked = parse_retry_after(response.headers.get("retry-after"))
                delay = asked if asked is not None else retry_delay(attempt, base=backoff_base)
                if _wait(delay, end, sleep):
                    continue
            return _build_response(
                method,
                redactor.redact_url(str(final_url)),
                response,
                response_body,
                started=started,
                request_bytes=body.size,
                attempts=attempt,
                redirects=hops,
            )


def _wait(delay: float, end: float, sleep: Callable[[float], None]) -> bool:
    """Sleep ``delay`` if that leaves time for another attempt; say whether it did."""
    # An attempt needs some time of its own: waiting until the very deadline
    # only to time out at once would be a wasted retry.
    if time.monotonic() + delay + 0.05 >= end:
        return False
    sleep(delay)
    return True


class _AttemptFailed(Exception):
    def __init__(
        self, error_type: type[OutboundError], message: str, *, nothing_sent: bool = False, **extra: Any
    ) -> None:
        self.error_type = error_type
        self.message = message
        self.nothing_sent = nothing_sent
        self.extra = extra


def _send_following_redirects(
    client: httpx.Client,
    method: str,
    target: httpx.URL,
    headers: httpx.Headers,
    body: _Body,
    *,
    end: float,
    timeouts: Timeouts,
    max_redirects: int,
    max_response_bytes: int,
) -> tuple[httpx.Response, bytes, int, httpx.URL]:
    hops = 0
    current_method, current_url, current_headers, current_body = method, target, headers.copy(), body
    while True:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise _AttemptFailed(OutboundTimeout, "deadline exceeded before sending")
        timeout = httpx.Timeout(
            connect=min(timeouts.connect, remaining),
            read=min(timeouts.read, remaining),
            write=min(timeouts.write, remaining),
            pool=remaining,
        )
        try:
            outgoing = client.build_request(
                current_method, current_url, headers=current_headers, content=current_body.content, timeout=timeout
            )
            response = client.send(outgoing, stream=True)
        except BlockedDestination as exc:
            raise _AttemptFailed(BlockedDestination, exc.message, reason=exc.reason) from None
        except ConnectionFailed as exc:
            raise _AttemptFailed(ConnectionFailed, exc.message, nothing_sent=True) from None
        except httpx.ConnectTimeout:
            raise _AttemptFailed(OutboundTimeout, "timed out while connecting", nothing_sent=True) from None
        except httpx.TimeoutException:
            raise _AttemptFailed(OutboundTimeout, "timed out waiting for the response") from None
        except httpx.ConnectError as exc:
            if _is_certificate_error(exc):
                raise _AttemptFailed(TLSVerificationFailed, f"the TLS certificate does not verify ({exc})") from None
            raise _AttemptFailed(ConnectionFailed, f"could not connect ({exc})", nothing_sent=True) from None
        except httpx.UnsupportedProtocol as exc:
            raise _AttemptFailed(BlockedDestination, str(exc), reason="scheme") from None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise _AttemptFailed(ConnectionFailed, f"the connection failed ({type(exc).__name__})") from None

        try:
            is_redirect = response.status_code in REDIRECT_STATUSES and "location" in response.headers
            if is_redirect and max_redirects > 0:
                # The body of a redirect is not wanted, but it is drained
                # (within the cap) so the connection can be reused.
                _read_capped(response, max_response_bytes)
                if hops >= max_redirects:
                    raise _AttemptFailed(TooManyRedirects, f"more than {max_redirects} redirects")
                hops += 1
                next_url = _redirect_target(current_url, response.headers["location"])
                if not _is_same_origin(current_url, next_url):
                    current_headers = current_headers.copy()
                    for name in _CREDENTIAL_HEADERS:
                        current_headers.pop(name, None)
                if response.status_code == 303 or (response.status_code in (301, 302) and current_method == "POST"):
                    current_method = "GET" if current_method != "HEAD" else "HEAD"
                    current_body = _Body()
                    current_headers = current_headers.copy()
                    current_headers.pop("content-type", None)
                current_url = next_url
                continue
            response_body = _read_capped(response, max_response_bytes)
        except ResponseTooLarge as exc:
            raise _AttemptFailed(ResponseTooLarge, exc.message) from None
        except httpx.TimeoutException:
            raise _AttemptFailed(OutboundTimeout, "timed out while reading the response") from None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise _AttemptFailed(ConnectionFailed, f"reading the response failed ({type(exc).__name__})") from None
        finally:
            response.close()
        return response, response_body, hops, current_url


def _is_certificate_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _redirect_target(current: httpx.URL, location: str) -> httpx.URL:
    try:
        next_url = current.join(location)
    except (httpx.InvalidURL, ValueError) as exc:
        raise _AttemptFailed(InvalidRequest, f"unreadable redirect location ({exc})") from None
    if next_url.scheme not in ("http", "https"):
        raise _AttemptFailed(BlockedDestination, f"redirect to a {next_url.scheme!r} URL", reason="scheme")
    try:
        _check_hostname(next_url.host)
    except BlockedDestination as exc:
        raise _AttemptFailed(BlockedDestination, f"redirect refused: {exc.message}", reason=exc.reason) from None
    return next_url.copy_with(fragment=None)


def _build_response(
    method: str,
    shown_url: str,
    response: httpx.Response,
    body: bytes,
    *,
    started: float,
    request_bytes: int,
    attempts: int,
    redirects: int,
) -> OutboundResponse:
    parsed: Any = None
    is_json = False
    if body and _is_json_content_type(response.headers.get("content-type", "")):
        try:
            parsed = _json.loads(body)
            is_json = True
        except ValueError:
            pass  # a server that lies about its content type gets its bytes back
    return OutboundResponse(
        method=method,
        url=shown_url,
        status=response.status_code,
        headers=response.headers,
        body=body,
        json=parsed,
        is_json=is_json,
        elapsed_ms=int((time.monotonic() - started) * 1000),
        request_bytes=request_bytes,
        response_bytes=len(body),
        attempts=attempts,
        redirects=redirects,
    )
