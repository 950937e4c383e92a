"""Opening the vault at start: a wrong passphrase is refused and changes nothing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from praktor_common.contracts.vault import SecretResolveRequest, SecretSetRequest
from praktor_common.db.engine import session_factory
from praktor_vault import store
from praktor_vault.crypto import Sealed
from praktor_vault.passphrase import Passphrase
from praktor_vault.unlock import UnlockError
from praktor_vault.vault import Vault
from services.vault.tests.support import PASSPHRASE, add_agents, passphrase

pytestmark = pytest.mark.integration


def upstream_seal(passphrase: str, plaintext: bytes) -> Sealed:
    """A value as upstream's Go vault stores it (spec §10.1), built without our code."""
    secret = passphrase.encode()
    key = hash_secret_raw(secret, hashlib.sha256(secret).digest()[:16], 1, 65536, 4, 32, Type.ID)
    nonce = os.urandom(12)
    return Sealed(ciphertext=AESGCM(key).encrypt(nonce, plaintext, None), nonce=nonce)


async def import_upstream(engine: AsyncEngine, secrets: dict[str, Sealed]) -> None:
    """Rows as an import of upstream's ``secrets`` table leaves them: no verifier."""
    async with session_factory(engine)() as session, session.begin():
        for name, sealed in secrets.items():
            await store.insert_secret(session, name=name, kind="string", sealed=sealed)


async def snapshot(
    engine: AsyncEngine,
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    async with engine.connect() as conn:
        secrets = list(await conn.execute(text("SELECT id, value, nonce FROM secrets ORDER BY id")))
        meta = list(await conn.execute(text("SELECT key, value FROM vault_meta ORDER BY key")))
    return [tuple(r) for r in secrets], [tuple(r) for r in meta]


async def verifier_of(engine: AsyncEngine) -> dict[str, object] | None:
    async with session_factory(engine)() as session:
        return await store.get_meta(session, "verifier")


async def test_the_first_start_writes_a_verifier_and_the_next_start_accepts_it(
    migrated_engine: AsyncEngine,
) -> None:
    assert await verifier_of(migrated_engine) is None
    await Vault.open(migrated_engine, passphrase())
    first = await verifier_of(migrated_engine)
    assert first is not None
    await Vault.open(migrated_engine, passphrase())
    assert await verifier_of(migrated_engine) == first


async def test_a_wrong_passphrase_is_refused_at_start_and_changes_nothing(
    vault: Vault, migrated_engine: AsyncEngine
) -> None:
    await vault.set_secret(SecretSetRequest(name="token", value=SecretStr("s3cret-value")))
    before = await snapshot(migrated_engine)
    with pytest.raises(UnlockError) as raised:
        await Vault.open(
            migrated_engine, Passphrase("not the passphrase", "PRAKTOR_VAULT_PASSPHRASE")
        )
    message = str(raised.value)
    assert "from PRAKTOR_VAULT_PASSPHRASE does not unlock this vault" in message
    assert "Nothing was changed" in message
    assert "not the passphrase" not in message
    assert await snapshot(migrated_engine) == before


async def test_an_upstream_database_without_verifier_opens_with_its_passphrase(
    migrated_engine: AsyncEngine,
) -> None:
    await add_agents(migrated_engine, "coder")
    await import_upstream(
        migrated_engine,
        {
            "github-token": upstream_seal(PASSPHRASE, b"ghp_upstream"),
            "empty": upstream_seal(PASSPHRASE, b""),
        },
    )
    vault = await Vault.open(migrated_engine, passphrase())
    assert await verifier_of(migrated_engine) is not None
    async with session_factory(migrated_engine)() as session, session.begin():
        await store.assign(session, "coder", ["github-token", "empty"])
    reply = await vault.resolve(
        SecretResolveRequest(agent_id="coder", names=["github-token", "empty"])
    )
    assert {s.name: s.value.get_secret_value() for s in reply.secrets} == {
        "github-token": "ghp_upstream",
        "empty": "",
    }


async def test_an_upstream_database_refuses_a_wrong_passphrase_by_trial_decryption(
    migrated_engine: AsyncEngine,
) -> None:
    await import_upstream(
        migrated_engine,
        {"a": upstream_seal(PASSPHRASE, b"one"), "b": upstream_seal(PASSPHRASE, b"two")},
    )
    before = await snapshot(migrated_engine)
    with pytest.raises(UnlockError, match="none of the 2 secrets decrypts"):
        await Vault.open(migrated_engine, passphrase("a different passphrase"))
    assert await snapshot(migrated_engine) == before
    assert await verifier_of(migrated_engine) is None


async def test_one_damaged_secret_does_not_make_the_right_passphrase_look_wrong(
    migrated_engine: AsyncEngine,
) -> None:
    sealed = upstream_seal(PASSPHRASE, b"damaged-plaintext-4711")
    damaged = Sealed(
        ciphertext=bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:], nonce=sealed.nonce
    )
    fine = upstream_seal(PASSPHRASE, b"fine-plaintext-0815")
    await import_upstream(migrated_engine, {"damaged": damaged, "fine": fine})
    with capture_logs() as logs:
        await Vault.open(migrated_engine, passphrase())
    [warning] = [e for e in logs if e["log_level"] == "warning"]
    assert warning["secrets"] == ["damaged"]
    assert "plaintext" not in str(logs)
    assert await verifier_of(migrated_engine) is not None


async def test_the_refusal_points_at_a_rotation_that_was_never_confirmed(
    vault: Vault, migrated_engine: AsyncEngine, tmp_path: Path
) -> None:
    file = tmp_path / "vault-passphrase"
    (tmp_path / "vault-passphrase.new").write_text("the new one\n")
    with pytest.raises(UnlockError) as raised:
        await Vault.open(migrated_engine, Passphrase("stale passphrase", f"file {file}", file))
    assert f"its new passphrase is in {tmp_path / 'vault-passphrase.new'}" in str(raised.value)
