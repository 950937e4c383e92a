"""The verifier proves a passphrase before anything is decrypted."""

from __future__ import annotations

import pytest

from praktor_vault.crypto import KdfParams, VaultKey
from praktor_vault.verifier import (
    KNOWN_PLAINTEXT,
    VerifierError,
    accepts,
    b64,
    check_verifier,
    make_verifier,
    unb64,
)


@pytest.fixture(scope="module")
def key() -> VaultKey:
    return VaultKey.derive("the right passphrase")


@pytest.fixture(scope="module")
def other_key() -> VaultKey:
    return VaultKey.derive("another passphrase")


def test_the_key_that_made_it_is_accepted(key: VaultKey) -> None:
    record = make_verifier(key)
    check_verifier(key, record)
    assert key.decrypt(unb64(record["value"]), unb64(record["nonce"])) == KNOWN_PLAINTEXT


def test_another_key_is_refused(key: VaultKey, other_key: VaultKey) -> None:
    record = make_verifier(key)
    with pytest.raises(VerifierError, match="does not open"):
        check_verifier(other_key, record)
    assert not accepts(other_key, record)


def test_a_record_made_with_other_kdf_parameters_is_refused_not_misread(key: VaultKey) -> None:
    record = make_verifier(key, KdfParams(time_cost=3))
    with pytest.raises(VerifierError, match="key-derivation parameters"):
        check_verifier(key, record)


def test_the_record_names_the_parameters_and_holds_no_key(key: VaultKey) -> None:
    record = make_verifier(key)
    assert record["kdf"]["algorithm"] == "argon2id"
    assert record["kdf"]["memory_kib"] == 65536
    assert record["kdf"]["parallelism"] == 4
    assert set(record) == {"format", "kdf", "nonce", "value"}


def test_a_damaged_record_is_an_error(key: VaultKey) -> None:
    record = make_verifier(key)
    with pytest.raises(VerifierError, match="damaged"):
        check_verifier(key, {**record, "nonce": "not base64!"})
    with pytest.raises(VerifierError, match="format"):
        check_verifier(key, {**record, "format": 99})


def test_a_different_plaintext_under_the_right_key_is_refused(key: VaultKey) -> None:
    sealed = key.encrypt(b"something else")
    record = {**make_verifier(key), "nonce": b64(sealed.nonce), "value": b64(sealed.ciphertext)}
    with pytest.raises(VerifierError, match="unexpected"):
        check_verifier(key, record)
