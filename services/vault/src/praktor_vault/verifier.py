"""The verifier: a known plaintext sealed under the vault key, kept in ``vault_meta``.

It proves a passphrase right or wrong before anything is decrypted, so a
wrong passphrase is refused at start instead of answering with garbage or
"cannot decrypt" for every secret. Record (JSON, bytes in base64)::

    {"format": 1, "kdf": {...}, "nonce": "...", "value": "..."}

``kdf`` names the parameters the key was derived with; a record made with
other parameters is refused rather than misread.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

from praktor_vault.crypto import UPSTREAM_KDF, DecryptionError, KdfParams, Sealed, VaultKey

META_KEY: Final = "verifier"
FORMAT: Final = 1
KNOWN_PLAINTEXT: Final = b"praktor vault verifier v1"

Record = dict[str, Any]


class VerifierError(Exception):
    """The verifier does not accept this key (or cannot be read)."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("expected base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64: {exc}") from None


def make_verifier(key: VaultKey, params: KdfParams = UPSTREAM_KDF) -> Record:
    """A new verifier record for ``key``."""
    sealed = key.encrypt(KNOWN_PLAINTEXT)
    return {
        "format": FORMAT,
        "kdf": params.describe(),
        "nonce": b64(sealed.nonce),
        "value": b64(sealed.ciphertext),
    }


def check_verifier(key: VaultKey, record: Record, params: KdfParams = UPSTREAM_KDF) -> None:
    """Return when ``key`` opens ``record`` to the known plaintext; else :class:`VerifierError`."""
    if record.get("format") != FORMAT:
        raise VerifierError(f"unknown verifier format {record.get('format')!r}")
    if record.get("kdf") != params.describe():
        raise VerifierError(
            "the vault was sealed with other key-derivation parameters than this version uses"
        )
    try:
        sealed = Sealed(ciphertext=unb64(record.get("value")), nonce=unb64(record.get("nonce")))
    except ValueError as exc:
        raise VerifierError(f"the verifier record is damaged: {exc}") from None
    try:
        plaintext = key.open(sealed)
    except DecryptionError:
        raise VerifierError("the passphrase does not open the verifier") from None
    if plaintext != KNOWN_PLAINTEXT:
        raise VerifierError("the verifier holds an unexpected plaintext")


def accepts(key: VaultKey, record: Record) -> bool:
    try:
        check_verifier(key, record)
    except VerifierError:
        return False
    return True
