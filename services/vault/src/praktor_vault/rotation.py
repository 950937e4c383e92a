"""Changing the vault passphrase in two phases, so an interruption never loses a secret.

1. **Stage** (one transaction): decrypt every secret with the old key, seal it
   again under the new key and write the copies, with a verifier for the new
   key, into ``vault_meta['rotation']``. ``secrets`` and the current verifier
   are untouched, so the old passphrase keeps working.
2. **Verify**: read the staged copies back and check that the new key opens
   each to exactly the plaintext it had and opens the new verifier.
3. **Switch** (one transaction): replace every secret's value and nonce by its
   staged copy (a secret changed or created since staging is sealed again
   now), replace the verifier, drop the staging row. Only after this commit
   is the new passphrase in effect.

Killed anywhere before the switch commits, the database still holds the old
secrets and the old verifier; a leftover staging row is discarded when the
vault starts (see :mod:`praktor_vault.unlock`). A staged copy remembers the
nonce of the value it was made from: the nonce changes with every new value,
so a secret set again meanwhile is noticed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from praktor_common.db.models import utcnow
from praktor_common.ids import new_id
from praktor_vault import store
from praktor_vault.crypto import DecryptionError, Sealed, VaultKey
from praktor_vault.verifier import META_KEY as VERIFIER_KEY
from praktor_vault.verifier import Record, VerifierError, b64, check_verifier, make_verifier, unb64

log = structlog.get_logger(__name__)

STAGING_KEY: Final = "rotation"

Stage = Literal["staged", "verified", "switching"]
Checkpoint = Callable[[Stage], Awaitable[None]]
"""Called after staging, after verifying, and inside the switch before it commits."""

Failure = Literal["forbidden", "conflict", "unavailable", "internal"]


class RotationError(Exception):
    """The rotation did not happen; the old passphrase is still the one in effect."""

    def __init__(self, code: Failure, message: str) -> None:
        super().__init__(message)
        self.code: Failure = code
        self.message = message


@dataclass(frozen=True)
class RotationResult:
    verifier: Record
    rotated: int


async def _no_checkpoint(_stage: Stage) -> None:
    return None


def _names(ids: list[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:10])
    return shown + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


async def _check_current(session: AsyncSession, verifier: Record) -> None:
    current = await store.get_meta(session, VERIFIER_KEY, lock="update")
    if current != verifier:
        raise RotationError(
            "unavailable",
            "the vault passphrase was changed by another vault process; restart this one",
        )


def _open_all(key: VaultKey, sealed: dict[str, Sealed]) -> dict[str, bytes]:
    plaintexts: dict[str, bytes] = {}
    unreadable: list[str] = []
    for secret_id, value in sealed.items():
        try:
            plaintexts[secret_id] = key.open(value)
        except DecryptionError:
            unreadable.append(secret_id)
    if unreadable:
        raise RotationError(
            "conflict",
            f"cannot rotate: secret(s) {_names(unreadable)} do not decrypt with the current "
            "passphrase (damaged or from another vault); delete them or set them again first",
        )
    return plaintexts


async def stage(
    sessions: async_sessionmaker[AsyncSession],
    old_key: VaultKey,
    old_verifier: Record,
    new_key: VaultKey,
) -> tuple[str, dict[str, bytes]]:
    """Phase 1: write the re-sealed copies; returns the rotation id and the plaintexts."""
    rotation_id = new_id()
    async with sessions() as session, session.begin():
        await _check_current(session, old_verifier)
        sealed = await store.all_sealed(session, lock="share")
        plaintexts = _open_all(old_key, sealed)
        staged: dict[str, dict[str, str]] = {}
        for secret_id, plaintext in plaintexts.items():
            copy = new_key.encrypt(plaintext)
            staged[secret_id] = {
                "from_nonce": b64(sealed[secret_id].nonce),
                "nonce": b64(copy.nonce),
                "value": b64(copy.ciphertext),
            }
        record: dict[str, Any] = {
            "id": rotation_id,
            "started_at": utcnow().isoformat(),
            "verifier": make_verifier(new_key),
            "secrets": staged,
        }
        await store.put_meta(session, STAGING_KEY, record)
    return rotation_id, plaintexts


async def verify(
    sessions: async_sessionmaker[AsyncSession],
    rotation_id: str,
    new_key: VaultKey,
    plaintexts: dict[str, bytes],
) -> Record:
    """Phase 2: the staged copies, read back, open to the same plaintexts; the new verifier."""
    async with sessions() as session:
        record = await store.get_meta(session, STAGING_KEY)
    if record is None or record.get("id") != rotation_id:
        raise RotationError("unavailable", "the staged rotation disappeared; nothing was changed")
    try:
        check_verifier(new_key, record["verifier"])
        staged: dict[str, dict[str, str]] = record["secrets"]
        if set(staged) != set(plaintexts):
            raise RotationError("internal", "the staged copies do not match the secrets")
        for secret_id, copy in staged.items():
            sealed = Sealed(ciphertext=unb64(copy["value"]), nonce=unb64(copy["nonce"]))
            if new_key.open(sealed) != plaintexts[secret_id]:
                raise RotationError("internal", f"the staged copy of {secret_id!r} differs")
    except (VerifierError, DecryptionError, KeyError, TypeError, ValueError) as exc:
        raise RotationError(
            "internal", f"the staged copies did not verify ({type(exc).__name__})"
        ) from None
    verifier: Record = record["verifier"]
    return verifier


async def switch(
    session: AsyncSession,
    rotation_id: str,
    old_key: VaultKey,
    old_verifier: Record,
    new_key: VaultKey,
    new_verifier: Record,
) -> int:
    """Phase 3, inside the caller's transaction: every secret to its new copy, then the verifier."""
    await _check_current(session, old_verifier)
    record = await store.get_meta(session, STAGING_KEY, lock="update")
    if record is None or record.get("id") != rotation_id:
        raise RotationError("unavailable", "the staged rotation disappeared; nothing was changed")
    staged: dict[str, dict[str, str]] = record["secrets"]
    current = await store.all_sealed(session, lock="update")
    resealed: list[str] = []
    for secret_id, sealed in current.items():
        copy = staged.get(secret_id)
        if copy is not None and copy["from_nonce"] == b64(sealed.nonce):
            new = Sealed(ciphertext=unb64(copy["value"]), nonce=unb64(copy["nonce"]))
        else:
            new = new_key.encrypt(_open_all(old_key, {secret_id: sealed})[secret_id])
            resealed.append(secret_id)
        await store.set_sealed(session, secret_id, new)
    await store.put_meta(session, VERIFIER_KEY, new_verifier)
    await store.delete_meta(session, STAGING_KEY)
    if resealed:
        log.info(
            "secrets changed during the rotation were sealed at the switch", count=len(resealed)
        )
    return len(current)


async def discard_staging(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Drop a staging row (a rotation that did not switch); whether there was one."""
    async with sessions() as session, session.begin():
        return await store.delete_meta(session, STAGING_KEY)


async def rotate(
    sessions: async_sessionmaker[AsyncSession],
    old_key: VaultKey,
    old_verifier: Record,
    new_key: VaultKey,
    checkpoint: Checkpoint = _no_checkpoint,
) -> RotationResult:
    """Stage, verify, switch (module docstring). Raises with the old passphrase still in effect."""
    rotation_id, plaintexts = await stage(sessions, old_key, old_verifier, new_key)
    try:
        await checkpoint("staged")
        new_verifier = await verify(sessions, rotation_id, new_key, plaintexts)
        await checkpoint("verified")
        async with sessions() as session, session.begin():
            rotated = await switch(
                session, rotation_id, old_key, old_verifier, new_key, new_verifier
            )
            await checkpoint("switching")
    except BaseException:
        try:
            await discard_staging(sessions)
        except Exception as exc:  # the next start discards it
            log.warning("could not discard the staged rotation", error_type=type(exc).__name__)
        raise
    finally:
        plaintexts.clear()
    return RotationResult(verifier=new_verifier, rotated=rotated)
