"""Encryption at rest for secrets and credentials (Fernet, with key rotation).

`FASTN_ENCRYPTION_KEYS` lists keys newest first: the first encrypts, every key
decrypts, and `rotate()` re-encrypts a token under the newest key.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionFailed(Exception):
    """A ciphertext no configured key can open (wrong keys or tampering)."""


def _fernet_for(key: str) -> Fernet:
    raw = key.strip().encode()
    try:
        return Fernet(raw)
    except ValueError:
        # Accept any passphrase too: derive a Fernet key from it.
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(raw).digest()))


@functools.lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FASTN_ENCRYPTION_KEYS must hold at least one key.")
    return MultiFernet([_fernet_for(key) for key in keys])


def _current() -> MultiFernet:
    return _multi_fernet(tuple(k for k in settings.FASTN_ENCRYPTION_KEYS if k.strip()))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise DecryptionFailed("The value cannot be decrypted with the configured keys.") from exc


def rotate(token: str) -> str:
    """Re-encrypt under the newest key (no-op in meaning, new ciphertext)."""
    try:
        return _current().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise DecryptionFailed("The value cannot be decrypted with the configured keys.") from exc
