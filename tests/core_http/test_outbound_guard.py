"""The SSRF guard of apps.core.http: what is refused, what is allowed, and
that the address checked is the address connected to."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from apps.core import http

# --------------------------------------------------------------------------
# Classification (no network)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "metadata"),
        ("169.254.170.2", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("169.254.1.1", "link_local"),
        ("fe80::1", "link_local"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("198.18.0.1", "private"),  # benchmarking range: not globally routable
        ("8.8.8.8", None),
        ("172.32.0.1", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_addresses_are_classified(address: str, reason: str | None) -> None:
    assert http.classify_address(address) == reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "metadata"),
        ("::ffff:10.0.0.1", "private"),
        ("::127.0.0.1", "loopback"),  # IPv4-compatible
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("::ffff:8.8.8.8", None),
    ],
)
def test_ipv6_forms_of_ipv4_addresses_are_judged_by_the_ipv4_address(address: str, reason: str | None) -> None:
    assert http.classify_address(address) == reason


def test_allow_private_lifts_only_private_and_loopback() -> None:
    assert http.address_block_reason("10.0.0.1", allow_private=True) is None
    assert http.address_block_reason("127.0.0.1", allow_private=True) is None
    for address in ("169.254.169.254", "fe80::1", "224.0.0.1", "0.0.0.0", "100.100.100.200", "fd00:ec2::254"):
        assert http.address_block_reason(address, allow_private=True) is not None


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.0.10:8080/",
        "http://100.64.1.1/",
        "http://[fc00::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http://0.0.0.0/",
        "http://[::]/",
    ],
)
def test_check_destination_refuses_each_class_without_connecting(url: str) -> None:
    with pytest.raises(http.BlockedDestination):
        http.check_destination(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    ["http://metadata.google.internal/computeMetadata/v1/", "http://METADATA.GOOGLE.INTERNAL./", "http://metadata/"],
)
def test_metadata_host_names_are_refused_before_resolving(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError("must not resolve")

    monkeypatch.setattr(http, "_resolve", no_dns)
    with pytest.raises(http.BlockedDestination) as caught:
        http.request("GET", url, allow_private=True)
    assert caught.value.reason == "metadata"


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "_resolve", lambda host, port: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(http.BlockedDestination, match="10.0.0.7"):
        http.check_destination("https://mixed.example/")


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://127.0.0.1/", "/relative/path"])
def test_non_http_schemes_are_refused(url: str) -> None:
    with pytest.raises(http.BlockedDestination) as caught:
        http.request("GET", url, allow_private=True)
    assert caught.value.reason == "scheme"


# --------------------------------------------------------------------------
# End to end against loopback servers
# --------------------------------------------------------------------------


def test_loopback_is_refused_by_default(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("secret internal page")
    with pytest.raises(http.BlockedDestination) as caught:
        http.request("GET", httpserver.url_for("/"))
    assert caught.value.reason == "loopback"
    assert not caught.value.retryable
    assert httpserver.log == []  # nothing reached the server


def test_loopback_is_allowed_with_allow_private(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hello").respond_with_json({"hi": 1})
    response = http.request("GET", httpserver.url_for("/hello"), allow_private=True)
    assert response.status == 200
    assert response.json == {"hi": 1}


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",  # 127.0.0.1 as one decimal number
        "0x7f.1",  # hex and short form
        "017700000001",  # octal
        "127.1",
        "0x7f000001",
        "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
        "localhost",
    ],
)
def test_numeric_and_named_forms_of_loopback_do_not_bypass_the_guard(httpserver: HTTPServer, host: str) -> None:
    httpserver.expect_request("/").respond_with_data("internal")
    url = f"http://{host}:{httpserver.port}/"
    with pytest.raises(http.BlockedDestination) as caught:
        http.request("GET", url, allow_private=False)
    assert caught.value.reason == "loopback"
    assert httpserver.log == []


def test_decimal_loopback_works_when_private_is_allowed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("ok")
    response = http.request("GET", f"http://2130706433:{httpserver.port}/", allow_private=True)
    assert response.body == b"ok"


def test_the_checked_address_is_the_one_connected_to_and_host_header_is_kept(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rebinding resolver: the first answer is public, later ones point
    # inside. The guard resolves once per connection, checks, and connects
    # to exactly what it checked.
    answers = iter([["127.0.0.1"], ["169.254.169.254"], ["169.254.169.254"]])
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    monkeypatch.setattr(http, "_resolve", resolve)
    httpserver.expect_request("/", headers={"Host": f"api.rebind.test:{httpserver.port}"}).respond_with_data("pinned")
    response = http.request("GET", f"http://api.rebind.test:{httpserver.port}/", allow_private=True)
    assert response.body == b"pinned"
    assert calls == ["api.rebind.test"]


def test_every_redirect_hop_is_checked_again(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        http, "_resolve", lambda host, port: ["127.0.0.1"] if host == "public.test" else ["169.254.169.254"]
    )
    httpserver.expect_request("/start").respond_with_data(
        "", status=302, headers={"Location": f"http://sneaky.test:{httpserver.port}/latest/meta-data/"}
    )
    with pytest.raises(http.BlockedDestination) as caught:
        http.request("GET", f"http://public.test:{httpserver.port}/start", allow_private=True, max_redirects=3)
    assert caught.value.reason == "metadata"
    assert [entry[0].path for entry in httpserver.log] == ["/start"]


def test_redirects_to_metadata_hostnames_and_other_schemes_are_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data(
        "", status=301, headers={"Location": "http://metadata.google.internal/"}
    )
    httpserver.expect_request("/b").respond_with_data("", status=301, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(http.BlockedDestination):
        http.request("GET", httpserver.url_for("/a"), allow_private=True, max_redirects=2)
    with pytest.raises(http.BlockedDestination):
        http.request("GET", httpserver.url_for("/b"), allow_private=True, max_redirects=2)


def test_redirects_are_not_followed_unless_asked(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_data("", status=302, headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data("new")
    response = http.request("GET", httpserver.url_for("/old"), allow_private=True)
    assert response.status == 302
    followed = http.request("GET", httpserver.url_for("/old"), allow_private=True, max_redirects=1)
    assert followed.status == 200 and followed.redirects == 1
    assert followed.url.endswith("/new")


def test_too_many_redirects_is_an_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    with pytest.raises(http.TooManyRedirects):
        http.request("GET", httpserver.url_for("/loop"), allow_private=True, max_redirects=3)


def test_credentials_are_dropped_when_a_redirect_leaves_the_origin(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "_resolve", lambda host, port: ["127.0.0.1"])
    seen: list[str | None] = []

    def record(request):  # type: ignore[no-untyped-def]
        from werkzeug import Response

        seen.append(request.headers.get("Authorization"))
        return Response("landed")

    httpserver.expect_request("/out").respond_with_data(
        "", status=307, headers={"Location": f"http://other.test:{httpserver.port}/landing"}
    )
    httpserver.expect_request("/landing").respond_with_handler(record)
    http.request(
        "GET",
        f"http://first.test:{httpserver.port}/out",
        headers={"Authorization": "Bearer tok-123456"},
        allow_private=True,
        max_redirects=1,
    )
    assert seen == [None]


# --------------------------------------------------------------------------
# TLS: pinning the IP keeps SNI and certificate checks on the host name
# --------------------------------------------------------------------------


def _certificates(tmp_path: Path, hostname: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fastn test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "leaf.pem", tmp_path / "leaf.key"
    cert_file.write_bytes(leaf_cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    client_context = ssl.create_default_context(cadata=ca_cert.public_bytes(serialization.Encoding.PEM).decode())
    return server_context, client_context


def test_https_to_a_pinned_address_verifies_the_certificate_for_the_host_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_context, client_context = _certificates(tmp_path, "api.fastn.test")
    monkeypatch.setattr(http, "_resolve", lambda host, port: ["127.0.0.1"])
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=server_context)
    server.start()
    try:
        server.expect_request("/secure", headers={"Host": f"api.fastn.test:{server.port}"}).respond_with_json(
            {"tls": True}
        )
        response = http.request(
            "GET", f"https://api.fastn.test:{server.port}/secure", allow_private=True, ssl_context=client_context
        )
        assert response.json == {"tls": True}
        # The same server under a name its certificate does not carry fails.
        with pytest.raises(http.TLSVerificationFailed) as caught:
            http.request(
                "GET", f"https://other.fastn.test:{server.port}/secure", allow_private=True, ssl_context=client_context
            )
        assert not caught.value.retryable
    finally:
        server.clear()
        server.stop()
