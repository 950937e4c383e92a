"""NATS JWTs: signed by nkeys, readable back, refused when tampered with."""

from __future__ import annotations

import base64
import json

import pytest

from praktor_common.identities.jwt import (
    InvalidJwtError,
    KeyKind,
    decode_jwt,
    encode_jwt,
    keypair_from_seed,
    new_keypair,
    public_key,
    seed_text,
)


def _payload(token: str) -> dict[str, object]:
    part = token.split(".")[1]
    doc: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return doc


@pytest.mark.parametrize(
    ("kind", "letter"), [(KeyKind.OPERATOR, "O"), (KeyKind.ACCOUNT, "A"), (KeyKind.USER, "U")]
)
def test_new_keys_have_the_role_letter_and_survive_their_seed(kind: KeyKind, letter: str) -> None:
    key = new_keypair(kind)
    assert public_key(key).startswith(letter)
    assert seed_text(key).startswith("S" + letter)
    assert public_key(keypair_from_seed(seed_text(key), kind)) == public_key(key)


def test_a_seed_of_another_role_is_refused() -> None:
    with pytest.raises(ValueError, match="not a user seed"):
        keypair_from_seed(seed_text(new_keypair(KeyKind.ACCOUNT)), KeyKind.USER)


def test_claims_carry_issuer_subject_expiry_and_version() -> None:
    account, user = new_keypair(KeyKind.ACCOUNT), new_keypair(KeyKind.USER)
    token = encode_jwt(
        signer=account,
        subject=public_key(user),
        name="router",
        nats={"pub": {"allow": ["a.b"]}, "type": "user"},
        expires_at=2_000_000_000,
        issued_at=1_900_000_000,
    )
    claims = decode_jwt(token)
    assert claims["iss"] == public_key(account)
    assert claims["sub"] == public_key(user)
    assert claims["name"] == "router"
    assert claims["exp"] == 2_000_000_000
    assert claims["iat"] == 1_900_000_000
    assert claims["nats"] == {"pub": {"allow": ["a.b"]}, "type": "user", "version": 2}
    assert isinstance(claims["jti"], str)
    assert claims["jti"]


def test_a_tampered_token_fails_its_signature_check() -> None:
    signer = new_keypair(KeyKind.ACCOUNT)
    token = encode_jwt(
        signer=signer, subject=public_key(new_keypair(KeyKind.USER)), name="x", nats={}
    )
    header, _payload_part, signature = token.split(".")
    claims = _payload(token)
    claims["name"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidJwtError, match="signature"):
        decode_jwt(f"{header}.{forged}.{signature}")
    # without verification the (forged) claims are readable
    assert decode_jwt(f"{header}.{forged}.{signature}", verify=False)["name"] == "someone-else"


def test_garbage_is_not_a_jwt() -> None:
    with pytest.raises(InvalidJwtError):
        decode_jwt("not-a-jwt")
