"""The vault cipher reads and writes exactly what upstream does (spec §10.1).

The expected values are computed here without :mod:`praktor_vault.crypto`:
SHA-256 from :mod:`hashlib`, Argon2id from ``argon2.low_level``, AES-GCM from
``cryptography`` — and the fixed vector below was sealed by a third
implementation (Node.js ``crypto``), so a drift in any parameter (salt, cost,
lanes, nonce size, tag placement, text encoding) fails.
"""

from __future__ import annotations

import hashlib

import pytest
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from praktor_vault.crypto import (
    NONCE_BYTES,
    TAG_BYTES,
    DecryptionError,
    KdfParams,
    Sealed,
    VaultKey,
    salt_for,
)

# ---- a fixed vector --------------------------------------------------------------------
# passphrase → salt = SHA-256(UTF-8)[:16] → Argon2id(t=1, m=65536 KiB, p=4, 32 bytes) → key;
# the ciphertexts (ciphertext‖tag) were produced with Node.js crypto's aes-256-gcm.
GOLDEN_PASSPHRASE = "Praktor golden passphrase – ünïcödé"  # noqa: RUF001 - non-ASCII on purpose
GOLDEN_SALT = bytes.fromhex("49b8c3601eb1f27a44e0a14c030370aa")
GOLDEN_KEY = bytes.fromhex("6befd127f59e257b2e243a987f199c3915016e0f6e8d1342bdc843c1887f90b9")
GOLDEN_SEALED = [
    # (plaintext, nonce, ciphertext‖tag)
    (
        b"sk-live-0123456789abcdef",
        bytes.fromhex("000102030405060708090a0b"),
        bytes.fromhex(
            "5b4a4cf3b9e8aa0c988cb8d5de2cd956738bf7528ff70e0cb62a5532db50a422a038715fcd06811b"
        ),
    ),
    (
        b"",
        bytes.fromhex("a1b2c3d4e5f60718293a4b5c"),
        bytes.fromhex("06cc29bee57ed51a1d155bf677a243cc"),
    ),
    (
        bytes.fromhex("00ff01fe89504e470d0a1a0a00"),
        bytes.fromhex("ffeeddccbbaa998877665544"),
        bytes.fromhex("4e5c565af0ccda24fe4b176413291a19aeeb6746fd4e2c1fc395993a61"),
    ),
]


@pytest.fixture(scope="module")
def golden_key() -> VaultKey:
    return VaultKey.derive(GOLDEN_PASSPHRASE)


def spec_key(passphrase: str) -> bytes:
    """Spec §10.1 written out with the libraries directly."""
    secret = passphrase.encode("utf-8")
    return hash_secret_raw(
        secret=secret,
        salt=hashlib.sha256(secret).digest()[:16],
        time_cost=1,
        memory_cost=65536,
        parallelism=4,
        hash_len=32,
        type=Type.ID,
    )


def test_the_argon2_library_matches_the_reference_implementations_vector() -> None:
    # phc-winner-argon2 src/test.c: Argon2id v1.3, t=2, m=2^16 KiB, p=1, "password"/"somesalt"
    tag = hash_secret_raw(b"password", b"somesalt", 2, 65536, 1, 32, Type.ID)
    assert tag.hex() == "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7"


def test_the_salt_is_the_first_16_bytes_of_the_sha256_of_the_utf8_passphrase() -> None:
    assert salt_for(GOLDEN_PASSPHRASE) == GOLDEN_SALT
    assert hashlib.sha256(GOLDEN_PASSPHRASE.encode()).digest()[:16] == GOLDEN_SALT


def test_the_key_is_argon2id_with_upstreams_parameters() -> None:
    assert spec_key(GOLDEN_PASSPHRASE) == GOLDEN_KEY
    assert KdfParams() == KdfParams(time_cost=1, memory_kib=65536, parallelism=4, key_bytes=32)


@pytest.mark.parametrize(("plaintext", "nonce", "stored"), GOLDEN_SEALED)
def test_a_value_sealed_by_another_implementation_opens(
    golden_key: VaultKey, plaintext: bytes, nonce: bytes, stored: bytes
) -> None:
    assert golden_key.decrypt(stored, nonce) == plaintext


@pytest.mark.parametrize(("plaintext", "nonce", "stored"), GOLDEN_SEALED)
def test_sealing_with_a_given_nonce_gives_the_same_bytes_as_upstream(
    golden_key: VaultKey, plaintext: bytes, nonce: bytes, stored: bytes
) -> None:
    assert golden_key.encrypt(plaintext, nonce=nonce) == Sealed(ciphertext=stored, nonce=nonce)


def test_what_the_vault_seals_opens_with_the_spec_construction(golden_key: VaultKey) -> None:
    sealed = golden_key.encrypt(b"a value")
    assert len(sealed.nonce) == NONCE_BYTES == 12
    assert len(sealed.ciphertext) == len(b"a value") + TAG_BYTES
    assert AESGCM(GOLDEN_KEY).decrypt(sealed.nonce, sealed.ciphertext, None) == b"a value"


def test_every_encryption_draws_a_fresh_nonce(golden_key: VaultKey) -> None:
    nonces = {golden_key.encrypt(b"same").nonce for _ in range(50)}
    assert len(nonces) == 50


def test_the_same_passphrase_gives_the_same_key_across_restarts() -> None:
    sealed = VaultKey.derive("restart me").encrypt(b"kept")
    assert VaultKey.derive("restart me").open(sealed) == b"kept"


def test_a_wrong_passphrase_fails_clearly_and_never_returns_garbage(golden_key: VaultKey) -> None:
    _, nonce, stored = GOLDEN_SEALED[0]
    wrong = VaultKey.derive(GOLDEN_PASSPHRASE + " ")
    with pytest.raises(DecryptionError, match="wrong vault passphrase"):
        wrong.decrypt(stored, nonce)


@pytest.mark.parametrize("where", ["ciphertext", "tag", "nonce"])
def test_tampering_is_detected(golden_key: VaultKey, where: str) -> None:
    _, nonce, stored = GOLDEN_SEALED[0]
    body, tag = bytearray(stored[:-TAG_BYTES]), bytearray(stored[-TAG_BYTES:])
    changed_nonce = bytearray(nonce)
    target = {"ciphertext": body, "tag": tag, "nonce": changed_nonce}[where]
    target[0] ^= 0x01
    with pytest.raises(DecryptionError, match="altered"):
        golden_key.decrypt(bytes(body + tag), bytes(changed_nonce))


def test_truncated_values_and_bad_nonces_are_refused(golden_key: VaultKey) -> None:
    _, nonce, stored = GOLDEN_SEALED[0]
    with pytest.raises(DecryptionError):
        golden_key.decrypt(stored[: TAG_BYTES - 1], nonce)
    with pytest.raises(DecryptionError, match="nonce"):
        golden_key.decrypt(stored, nonce[:8])
    with pytest.raises(ValueError, match="nonce"):
        golden_key.encrypt(b"x", nonce=b"short")


def test_the_key_never_shows_in_its_repr(golden_key: VaultKey) -> None:
    assert GOLDEN_KEY.hex() not in repr(golden_key)
    assert repr(golden_key) == "VaultKey(<hidden>)"


def test_an_empty_passphrase_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        VaultKey.derive("")
