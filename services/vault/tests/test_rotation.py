"""Rotating the passphrase: everything re-encrypted, or — if interrupted — nothing lost."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from praktor_common.contracts.vault import (
    SecretResolveRequest,
    SecretRotateRequest,
    SecretSetRequest,
)
from praktor_common.db.engine import session_factory
from praktor_vault import rotation, store
from praktor_vault.crypto import VaultKey
from praktor_vault.rotation import Stage
from praktor_vault.unlock import UnlockError
from praktor_vault.vault import Vault, VaultError
from services.vault.tests.support import PASSPHRASE, passphrase

pytestmark = pytest.mark.integration

NEW_PASSPHRASE = "a brand new passphrase"
BINARY = bytes(range(256)) * 4
SECRETS: dict[str, bytes] = {
    "api-key": b"sk-0123456789",
    "empty": b"",
    "cert.der": BINARY,
    "unicode": "pässwörd ✓".encode(),
}


class Crash(Exception):
    """Stands for the process dying at a given point."""


async def fill(vault: Vault) -> None:
    for name, value in SECRETS.items():
        await vault.set_secret(
            SecretSetRequest(
                name=name,
                value=SecretStr(base64.b64encode(value).decode()),
                encoding="base64",
                is_global=True,
            )
        )


async def values(vault: Vault) -> dict[str, bytes]:
    """Every secret's plaintext, as an agent gets it."""
    reply = await vault.resolve(SecretResolveRequest(agent_id="coder", all_accessible=True))
    assert reply.failed == []
    return {
        s.name: (
            base64.b64decode(s.value.get_secret_value())
            if s.encoding == "base64"
            else s.value.get_secret_value().encode()
        )
        for s in reply.secrets
    }


async def rows(engine: AsyncEngine) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT id, value, nonce, updated_at FROM secrets ORDER BY id")
        )
        return [tuple(r) for r in result]


async def meta_keys(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(text("SELECT key FROM vault_meta"))).scalars())


def rotate_to(new: str = NEW_PASSPHRASE, current: str = PASSPHRASE) -> SecretRotateRequest:
    return SecretRotateRequest(current_passphrase=SecretStr(current), new_passphrase=SecretStr(new))


def crash_at(stage: Stage) -> rotation.Checkpoint:
    async def checkpoint(reached: Stage) -> None:
        if reached == stage:
            raise Crash(stage)

    return checkpoint


async def test_a_rotation_re_encrypts_every_secret_under_the_new_passphrase(
    vault: Vault, migrated_engine: AsyncEngine
) -> None:
    await fill(vault)
    before = await rows(migrated_engine)
    reply = await vault.rotate(rotate_to())
    assert reply.rotated == len(SECRETS)
    after = await rows(migrated_engine)
    assert all(
        old[1] != new[1] and old[2] != new[2] for old, new in zip(before, after, strict=True)
    )
    assert [r[3] for r in after] == [r[3] for r in before], "re-encryption is not an update"
    assert await values(vault) == SECRETS  # the running vault switched to the new key
    reopened = await Vault.open(migrated_engine, passphrase(NEW_PASSPHRASE))
    assert await values(reopened) == SECRETS
    with pytest.raises(UnlockError):
        await Vault.open(migrated_engine, passphrase(PASSPHRASE))
    assert await meta_keys(migrated_engine) == {"verifier"}


async def test_new_secrets_after_a_rotation_use_the_new_passphrase(
    vault: Vault, migrated_engine: AsyncEngine
) -> None:
    await vault.rotate(rotate_to())
    await vault.set_secret(SecretSetRequest(name="later", value=SecretStr("v"), is_global=True))
    reopened = await Vault.open(migrated_engine, passphrase(NEW_PASSPHRASE))
    assert await values(reopened) == {"later": b"v"}


@pytest.mark.parametrize("stage", ["staged", "verified", "switching"])
async def test_an_interrupted_rotation_loses_nothing_and_the_old_passphrase_still_works(
    vault: Vault, migrated_engine: AsyncEngine, stage: Stage
) -> None:
    await fill(vault)
    before = await rows(migrated_engine)
    with pytest.raises(Crash):
        await vault.rotate(rotate_to(), checkpoint=crash_at(stage))
    assert await rows(migrated_engine) == before
    assert await meta_keys(migrated_engine) == {"verifier"}
    assert await values(vault) == SECRETS
    reopened = await Vault.open(migrated_engine, passphrase(PASSPHRASE))
    assert await values(reopened) == SECRETS
    with pytest.raises(UnlockError):
        await Vault.open(migrated_engine, passphrase(NEW_PASSPHRASE))
    # and the rotation can simply be run again
    assert (await vault.rotate(rotate_to())).rotated == len(SECRETS)
    assert await values(await Vault.open(migrated_engine, passphrase(NEW_PASSPHRASE))) == SECRETS


async def test_a_process_killed_between_the_phases_leaves_a_staging_row_the_next_start_discards(
    vault: Vault, migrated_engine: AsyncEngine
) -> None:
    await fill(vault)
    before = await rows(migrated_engine)
    async with session_factory(migrated_engine)() as session:
        verifier = await store.get_meta(session, "verifier")
    assert verifier is not None
    # phase 1 commits, then the process dies: nobody cleans up
    await rotation.stage(
        session_factory(migrated_engine),
        VaultKey.derive(PASSPHRASE),
        verifier,
        VaultKey.derive(NEW_PASSPHRASE),
    )
    assert await meta_keys(migrated_engine) == {"verifier", "rotation"}
    assert await rows(migrated_engine) == before
    with pytest.raises(UnlockError):
        await Vault.open(migrated_engine, passphrase(NEW_PASSPHRASE))
    with capture_logs() as logs:
        restarted = await Vault.open(migrated_engine, passphrase(PASSPHRASE))
    assert any("rotation was interrupted" in e["event"] for e in logs)
    assert await meta_keys(migrated_engine) == {"verifier"}
    assert await values(restarted) == SECRETS


async def test_a_secret_changed_while_the_rotation_runs_is_sealed_again_at_the_switch(
    vault: Vault, migrated_engine: AsyncEngine
) -> None:
    await fill(vault)
    old_key = VaultKey.derive(PASSPHRASE)

    async def another_vault_process_writes(reached: Stage) -> None:
        if reached != "verified":
            return
        async with session_factory(migrated_engine)() as session, session.begin():
            await store.update_secret(session, "api-key", sealed=old_key.encrypt(b"changed"))
            await store.insert_secret(
                session, name="added", kind="string", sealed=old_key.encrypt(b"new"), is_global=True
            )

    reply = await vault.rotate(rotate_to(), checkpoint=another_vault_process_writes)
    assert reply.rotated == len(SECRETS) + 1
    reopened = await Vault.open(migrated_engine, passphrase(NEW_PASSPHRASE))
    assert await values(reopened) == {**SECRETS, "api-key": b"changed", "added": b"new"}


async def test_the_current_passphrase_must_be_right(
    vault: Vault, migrated_engine: AsyncEngine
) -> None:
    await fill(vault)
    before = await rows(migrated_engine)
    with pytest.raises(VaultError) as raised:
        await vault.rotate(rotate_to(current="not the current one"))
    assert raised.value.code == "forbidden"
    assert await rows(migrated_engine) == before
    assert await values(vault) == SECRETS


async def test_rotating_to_the_same_passphrase_is_refused(vault: Vault) -> None:
    with pytest.raises(VaultError) as raised:
        await vault.rotate(rotate_to(new=PASSPHRASE))
    assert raised.value.code == "invalid"


async def test_a_secret_that_does_not_decrypt_stops_the_rotation_before_anything_changes(
    vault: Vault, migrated_engine: AsyncEngine
) -> None:
    await fill(vault)
    async with session_factory(migrated_engine)() as session, session.begin():
        await store.insert_secret(
            session,
            name="foreign",
            kind="string",
            sealed=VaultKey.derive("some other vault").encrypt(b"x"),
        )
    before = await rows(migrated_engine)
    with pytest.raises(VaultError) as raised:
        await vault.rotate(rotate_to())
    assert raised.value.code == "conflict"
    assert "'foreign'" in raised.value.message
    assert await rows(migrated_engine) == before
    assert await meta_keys(migrated_engine) == {"verifier"}
