"""The vault's cipher: AES-256-GCM under an Argon2id key, byte-compatible with upstream.

Spec §10.1, exactly:

* salt = the first 16 bytes of SHA-256(passphrase as UTF-8);
* key = Argon2id(passphrase, salt, time 1, memory 64 MiB, parallelism 4, 32 bytes)
  — deterministic, so nothing but the passphrase is needed to get the key back;
* every encryption draws a fresh random 12-byte nonce, no associated data;
  what is stored is ``ciphertext‖16-byte tag`` (the ``value`` column) and the
  nonce (the ``nonce`` column).

A wrong key and a tampered value look the same to GCM: :class:`DecryptionError`.
The key never appears in ``repr`` and is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Final

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SALT_BYTES: Final = 16
KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters (spec §10.1); the salt is derived from the passphrase."""

    time_cost: int = 1
    memory_kib: int = 64 * 1024
    parallelism: int = 4
    key_bytes: int = KEY_BYTES

    def describe(self) -> dict[str, object]:
        """What the verifier records, so a change of parameters is noticed, not misread."""
        return {
            "algorithm": "argon2id",
            "version": 19,
            "time_cost": self.time_cost,
            "memory_kib": self.memory_kib,
            "parallelism": self.parallelism,
            "key_bytes": self.key_bytes,
            "salt": "sha256(passphrase)[:16]",
            "cipher": "aes-256-gcm",
        }


UPSTREAM_KDF: Final = KdfParams()
"""The parameters upstream uses; the only ones that can read an upstream database."""


class DecryptionError(Exception):
    """A value did not decrypt: wrong passphrase, or the stored bytes were altered."""


@dataclass(frozen=True)
class Sealed:
    """An encrypted value as stored: ``ciphertext`` (with its tag) and its ``nonce``."""

    ciphertext: bytes
    nonce: bytes


def passphrase_bytes(passphrase: str) -> bytes:
    """The passphrase as upstream hands it to SHA-256 and Argon2 (Go ``[]byte(s)``: UTF-8)."""
    return passphrase.encode("utf-8")


def salt_for(passphrase: str) -> bytes:
    return hashlib.sha256(passphrase_bytes(passphrase)).digest()[:SALT_BYTES]


class VaultKey:
    """An AES-256-GCM key derived from a passphrase."""

    __slots__ = ("_aead", "_key")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"an AES-256 key has {KEY_BYTES} bytes, not {len(key)}")
        self._key = key
        self._aead = AESGCM(key)

    @classmethod
    def derive(cls, passphrase: str, params: KdfParams = UPSTREAM_KDF) -> VaultKey:
        """Argon2id over the passphrase (about 64 MiB and ~0.1 s: call it off the event loop)."""
        if not passphrase:
            raise ValueError("the vault passphrase is empty")
        secret = passphrase_bytes(passphrase)
        key = hash_secret_raw(
            secret=secret,
            salt=salt_for(passphrase),
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=params.key_bytes,
            type=Type.ID,
        )
        return cls(key)

    def __repr__(self) -> str:
        return "VaultKey(<hidden>)"

    def same_as(self, other: VaultKey) -> bool:
        """Whether two keys are equal (constant time)."""
        return hmac.compare_digest(self._key, other._key)

    def encrypt(self, plaintext: bytes, *, nonce: bytes | None = None) -> Sealed:
        """Seal ``plaintext`` under a fresh random nonce (``nonce`` only for known-answer tests)."""
        if nonce is None:
            nonce = os.urandom(NONCE_BYTES)
        elif len(nonce) != NONCE_BYTES:
            raise ValueError(f"a nonce has {NONCE_BYTES} bytes, not {len(nonce)}")
        return Sealed(ciphertext=self._aead.encrypt(nonce, plaintext, None), nonce=nonce)

    def decrypt(self, ciphertext: bytes, nonce: bytes) -> bytes:
        """The plaintext of a stored value; :class:`DecryptionError` when it does not open."""
        if len(nonce) != NONCE_BYTES:
            raise DecryptionError(f"stored nonce has {len(nonce)} bytes, expected {NONCE_BYTES}")
        if len(ciphertext) < TAG_BYTES:
            raise DecryptionError("stored value is shorter than a GCM tag")
        try:
            return self._aead.decrypt(nonce, ciphertext, None)
        except InvalidTag:
            raise DecryptionError(
                "value does not decrypt: wrong vault passphrase, or the stored bytes were altered"
            ) from None

    def open(self, sealed: Sealed) -> bytes:
        return self.decrypt(sealed.ciphertext, sealed.nonce)
