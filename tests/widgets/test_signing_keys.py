"""Customer JWTs signed by the organization's own key (Paragon's model):
accepted like session tokens; rotation, revocation, exp and aud checked."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.widgets.conftest import EmbedClient

pytestmark = pytest.mark.django_db


def make_token(key: dict, org, customer: str, *, private_key: str | None = None, ttl: int = 600, **claims) -> str:
    now = int(time.time())
    body = {"sub": customer, "aud": org.account_id, "iat": now, "exp": now + ttl, **claims}
    return jwt.encode(body, private_key or key["private_key"], algorithm="RS256", headers={"kid": key["kid"]})


def hs256_with_public_key(key: dict, org, customer: str, now: int) -> str:
    """A token "signed" with HS256 using the public key as the secret (PyJWT
    refuses to make one, so by hand): it must never verify."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key["kid"]}).encode())
    claims = b64(json.dumps({"sub": customer, "aud": org.account_id, "iat": now, "exp": now + 60}).encode())
    signature = hmac.new(key["public_key"].encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(signature)}"


@pytest.fixture
def keys(org_a, embedding):
    side = embedding(org_a)

    def make(name="backend", **body):
        response = side.client.post("/api/v1/embed-keys", {"name": name, **body})
        assert response.status_code == 201, response.content
        return response.json()

    make.side = side
    return make


def config(token: str):
    return EmbedClient(token).get("/api/v1/embed/config")


def test_a_generated_key_signs_tokens_the_end_user_api_accepts(keys, org_a):
    key = keys()
    assert key["private_key"].startswith("-----BEGIN PRIVATE KEY-----") and key["kid"].startswith("fk_")
    customer = keys.side.customer()
    response = config(make_token(key, org_a, customer, integrations=["x"], allowed_origin="https://app.example"))
    assert response.status_code == 200, response.content
    assert response.json()["customer"]["external_id"] == customer
    assert response.json()["session"]["allowed_origin"] == "https://app.example"
    listed = keys.side.client.get("/api/v1/embed-keys").json()["results"]
    assert [k["kid"] for k in listed] == [key["kid"]] and "private_key" not in listed[0]


def test_a_key_of_your_own_is_registered_by_its_public_half(keys, org_a):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key = keys(public_key=public_pem)
    assert key["private_key"] is None
    assert config(make_token(key, org_a, keys.side.customer(), private_key=private_pem)).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"public_key": "not a key"}, "public_key"),
        ({"public_key": 5}, "public_key"),
        ({"name": ""}, "name"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_key_bodies_answer_400_naming_the_field(keys, body, field):
    response = keys.side.client.post("/api/v1/embed-keys", {"name": "k", **body})
    assert response.status_code == 400 and field in response.json()["error"]["details"]["fields"]


def test_small_or_non_rsa_keys_are_refused(keys):
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    pem = small.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert keys.side.client.post("/api/v1/embed-keys", {"name": "k", "public_key": pem}).status_code == 400


def test_expired_wrong_audience_too_long_and_forged_tokens_are_refused(keys, org_a, org_b):
    key = keys()
    customer = keys.side.customer()
    now = int(time.time())
    expired = make_token(key, org_a, customer, iat=now - 700, exp=now - 100)
    assert config(expired).json()["error"]["code"] == "session_expired"
    for token in (
        make_token(key, org_b, customer),  # another organization's audience
        make_token(key, org_a, customer, ttl=86401),  # lives too long
        make_token(key, org_a, "no-such-customer"),
        make_token({**key, "kid": "fk_unknown"}, org_a, customer),
        hs256_with_public_key(key, org_a, customer, now),  # the classic algorithm confusion
        make_token(key, org_a, customer)[:-4] + "AAAA",  # tampered signature
        make_token(key, org_a, customer, integrations="all"),
    ):
        response = config(token)
        assert response.status_code == 401, (token[:40], response.content)
    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    assert config(make_token(key, org_a, customer, private_key=other)).status_code == 401


def test_rotation_two_live_keys_then_the_old_one_revoked_at_once(keys, org_a):
    old, new = keys("old"), keys("new")
    customer = keys.side.customer()
    old_token, new_token = make_token(old, org_a, customer), make_token(new, org_a, customer)
    assert config(old_token).status_code == 200 and config(new_token).status_code == 200
    assert keys.side.client.delete(f"/api/v1/embed-keys/{old['kid']}").status_code == 204
    refused = config(old_token)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "session_revoked"
    assert config(new_token).status_code == 200
    assert keys.side.client.delete("/api/v1/embed-keys/fk_nope").status_code == 404


def test_revoking_a_customers_sessions_refuses_the_jwts_issued_before(keys, org_a):
    key = keys()
    customer = keys.side.customer()
    now = int(time.time())
    before = make_token(key, org_a, customer, iat=now - 5, exp=now + 600)
    assert config(before).status_code == 200
    assert keys.side.client.delete(f"/api/v1/customers/{customer}/sessions").status_code == 204
    assert config(before).json()["error"]["code"] == "session_revoked"
    later = int(time.time()) + 1  # issued after the revocation (iat has one-second resolution)
    after = make_token(key, org_a, customer, iat=later, exp=later + 600)
    assert config(after).status_code == 200


def test_only_admins_manage_signing_keys(keys, org_a, api, role_key):
    for role in ("developer", "viewer", "end_user"):
        client = api(org_a, key=role_key(org_a, role))
        assert client.post("/api/v1/embed-keys", {"name": "x"}).status_code == 403, role


def test_a_jwt_is_no_api_key_elsewhere(keys, org_a):
    token = make_token(keys(), org_a, keys.side.customer())
    assert EmbedClient(token).get("/api/v1/workflows").status_code == 401
