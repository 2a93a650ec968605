"""Signing keys for customer JWTs (sessions the organization mints itself).

Instead of `POST /api/v1/customers/{id}/sessions` per page view, a backend
can sign a short JWT with its private key:

    header  {"alg": "RS256", "kid": "<the key's kid>"}
    claims  {"sub": "<customer external_id>", "aud": "<account id>",
             "iat": now, "exp": now + ≤ 86400,
             "integrations"?: [slugs], "allowed_origin"?: "https://…"}

Fastn keeps only the public key (`POST /api/v1/embed-keys` with yours, or
without one to have a pair generated and the private key shown once).
Several keys may be live at once, so rotation is: add the new key, sign
with it, revoke the old one (its tokens answer 401 at once).
"""

from __future__ import annotations

import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from apps.accounts.principals import Principal
from apps.core.errors import InvalidInput
from apps.settings.services import audit_record
from apps.widgets.exceptions import SessionNotFound
from apps.widgets.shared.models import EmbedSigningKey

MIN_RSA_BITS = 2048
MAX_PEM_LENGTH = 10_000


def _public_pem(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_PEM_LENGTH:
        raise InvalidInput.for_field("public_key", "Must be an RSA public key in PEM form.")
    try:
        key = serialization.load_pem_public_key(value.strip().encode())
    except (ValueError, TypeError):
        raise InvalidInput.for_field(
            "public_key", "Must be an RSA public key in PEM form (BEGIN PUBLIC KEY)."
        ) from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        raise InvalidInput.for_field("public_key", f"Must be an RSA key of at least {MIN_RSA_BITS} bits (RS256).")
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def embed_key_create(*, actor: Principal, name: Any, public_key: Any = None) -> tuple[EmbedSigningKey, str | None]:
    """Register a public key, or generate a pair. Returns (key, the private
    key in PEM when generated: shown this once, never stored)."""
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise InvalidInput.for_field("name", "Must be a non-empty string of at most 100 characters.")
    private_pem = None
    if public_key is None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
        private_pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public_pem = (
            private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
    else:
        public_pem = _public_pem(public_key)
    key = EmbedSigningKey.objects.create(
        kid="fk_" + secrets.token_urlsafe(12),
        organization=actor.organization,
        name=name.strip(),
        public_key=public_pem,
        created_by=actor.label[:255],
    )
    audit_record(
        actor=actor,
        action="embed_key.create",
        resource_type="embed_key",
        resource_id=key.kid,
        changes={"name": key.name, "generated": private_pem is not None},
    )
    return key, private_pem


def embed_key_revoke(*, actor: Principal, kid: str) -> EmbedSigningKey:
    key = EmbedSigningKey.objects.filter(organization=actor.organization, kid=kid).first()
    if key is None:
        raise SessionNotFound("No signing key with this kid.", code="embed_key_not_found")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="embed_key.revoke", resource_type="embed_key", resource_id=kid)
    return key
