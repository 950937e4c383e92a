"""NATS JWT v2 claims: nkeys key pairs, encoding and signature checks.

Keys, seeds and signatures come from :mod:`nkeys`. The claim documents are
written here rather than with ``nats-jwt`` (0.2.x): that package serialises
account revocations as an empty object, names the JetStream limits
``memory_storage`` (the server reads ``mem_storage``) and the response
permission ``max_msgs``/``expires`` (the server reads ``max``/``ttl``), so a
revocation or an ``allow_responses`` made with it would silently not exist.
The documents below follow the Go ``nats-io/jwt/v2`` field names, and the
tests check them against a real ``nats-server``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Mapping
from enum import Enum
from typing import Any, Final

import nkeys
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

JWT_VERSION: Final = 2
_HEADER: Final = {"typ": "JWT", "alg": "ed25519-nkey"}


class KeyKind(Enum):
    """The role of an nkey; the first letter of its public key says which."""

    OPERATOR = nkeys.PREFIX_BYTE_OPERATOR
    ACCOUNT = nkeys.PREFIX_BYTE_ACCOUNT
    USER = nkeys.PREFIX_BYTE_USER

    @property
    def letter(self) -> str:
        return {"OPERATOR": "O", "ACCOUNT": "A", "USER": "U"}[self.name]


class InvalidJwtError(ValueError):
    """A token that is not a well-formed, correctly signed NATS JWT."""


def new_keypair(kind: KeyKind) -> nkeys.KeyPair:
    """A fresh random key pair of ``kind``."""
    seed = nkeys.encode_seed(os.urandom(32), kind.value)
    return nkeys.from_seed(bytearray(seed))


def keypair_from_seed(seed: str | bytes, kind: KeyKind | None = None) -> nkeys.KeyPair:
    """The key pair of an encoded seed (``S…``); checks its role when ``kind`` is given."""
    raw = seed.encode() if isinstance(seed, str) else bytes(seed)
    keypair = nkeys.from_seed(bytearray(raw.strip()))
    if kind is not None and not public_key(keypair).startswith(kind.letter):
        raise ValueError(f"seed is not a {kind.name.lower()} seed")
    return keypair


def public_key(keypair: nkeys.KeyPair) -> str:
    key: bytes = keypair.public_key
    return key.decode()


def seed_text(keypair: nkeys.KeyPair) -> str:
    seed: bytes = keypair.seed
    return bytes(seed).decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _canonical(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def encode_jwt(
    *,
    signer: nkeys.KeyPair,
    subject: str,
    name: str,
    nats: Mapping[str, Any],
    expires_at: int | None = None,
    issued_at: int | None = None,
) -> str:
    """Sign a claims document for ``subject`` with ``signer`` (operator, account or key)."""
    claims: dict[str, Any] = {
        "iat": int(time.time()) if issued_at is None else issued_at,
        "iss": public_key(signer),
        "name": name,
        "sub": subject,
    }
    if expires_at is not None:
        claims["exp"] = expires_at
    claims["nats"] = {**nats, "version": JWT_VERSION}
    # Like the Go library: the id is a hash of the claims without it.
    digest = hashlib.new("sha512_256", _canonical(claims)).digest()
    claims = {"jti": base64.b32encode(digest).rstrip(b"=").decode(), **claims}
    signing_input = f"{_b64(_canonical(_HEADER))}.{_b64(_canonical(claims))}"
    signature: bytes = signer.sign(signing_input.encode())
    return f"{signing_input}.{_b64(signature)}"


def _verify_key(public: str) -> VerifyKey:
    raw = base64.b32decode(public + "=" * (-len(public) % 8))
    # prefix byte + 32 key bytes + 2 crc bytes
    if len(raw) != 35:
        raise InvalidJwtError(f"not an nkey public key: {public[:8]}…")
    return VerifyKey(raw[1:33])


def decode_jwt(token: str, *, verify: bool = True) -> dict[str, Any]:
    """The claims of ``token``; with ``verify`` the signature must match its issuer."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise InvalidJwtError("a JWT has three dot-separated parts")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
    except ValueError as exc:
        raise InvalidJwtError("JWT header or claims are not base64 JSON") from exc
    if not isinstance(claims, dict) or header.get("alg") != _HEADER["alg"]:
        raise InvalidJwtError("not an ed25519-nkey JWT")
    if verify:
        try:
            _verify_key(str(claims.get("iss", ""))).verify(
                f"{parts[0]}.{parts[1]}".encode(), _unb64(parts[2])
            )
        except (BadSignatureError, ValueError) as exc:
            raise InvalidJwtError("JWT signature does not match its issuer") from exc
    return claims
