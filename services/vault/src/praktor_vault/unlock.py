"""Opening the vault at start: derive the key, prove it right, or refuse to start.

* A verifier exists → the key must open it.
* No verifier but secrets (a database imported from upstream) → the key must
  open at least one secret (GCM authenticates, so one success proves the key);
  then the verifier is written.
* Nothing yet (first start) → the verifier is written.

A wrong passphrase changes nothing in the database. A staging row left by a
rotation that never switched is discarded once the passphrase is proven.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from praktor_vault import store
from praktor_vault.crypto import DecryptionError, VaultKey
from praktor_vault.passphrase import Passphrase, pending_file
from praktor_vault.rotation import STAGING_KEY
from praktor_vault.verifier import META_KEY as VERIFIER_KEY
from praktor_vault.verifier import Record, VerifierError, check_verifier, make_verifier

log = structlog.get_logger(__name__)


class UnlockError(RuntimeError):
    """The vault cannot open with this passphrase; the message says what to do."""


def _wrong_passphrase(passphrase: Passphrase, why: str) -> UnlockError:
    message = (
        f"the vault passphrase from {passphrase.source} does not unlock this vault ({why}): "
        "the secrets were encrypted with another passphrase. Nothing was changed; "
        "put the right passphrase there and start again."
    )
    if passphrase.file is not None and pending_file(passphrase.file).exists():
        message += (
            f" A `praktor vault rotate` was not confirmed: its new passphrase is in "
            f"{pending_file(passphrase.file)}; if the rotation went through, move that file "
            f"to {passphrase.file}."
        )
    return UnlockError(message)


async def derive_key(passphrase: Passphrase) -> VaultKey:
    """The key for ``passphrase`` (Argon2id in a worker thread: 64 MiB, ~0.1 s)."""
    return await asyncio.to_thread(VaultKey.derive, passphrase.value)


async def _first_verifier(
    session: AsyncSession, key: VaultKey, passphrase: Passphrase
) -> Record | None:
    """Prove ``key`` on the stored secrets (if any) and write a verifier; None if another won."""
    sealed = await store.all_sealed(session)
    if sealed:
        unreadable: list[str] = []
        for secret_id, value in sealed.items():
            try:
                key.open(value)
            except DecryptionError:
                unreadable.append(secret_id)
        if len(unreadable) == len(sealed):
            raise _wrong_passphrase(passphrase, f"none of the {len(sealed)} secrets decrypts")
        if unreadable:
            log.warning(
                "some secrets do not decrypt with the vault passphrase (damaged?)",
                secrets=sorted(unreadable),
            )
        log.info("vault verifier created from the existing secrets", secrets=len(sealed))
    else:
        log.info("vault verifier created (empty vault)")
    record = make_verifier(key)
    return record if await store.add_meta(session, VERIFIER_KEY, record) else None


async def unlock(
    sessions: async_sessionmaker[AsyncSession], key: VaultKey, passphrase: Passphrase
) -> Record:
    """Prove ``key`` right for this database; return the verifier record in effect."""
    async with sessions() as session, session.begin():
        record = await store.get_meta(session, VERIFIER_KEY, lock="share")
        if record is None:
            record = await _first_verifier(session, key, passphrase)
        if record is None:  # another vault process wrote it first
            record = await store.get_meta(session, VERIFIER_KEY, lock="share")
            assert record is not None
        try:
            check_verifier(key, record)
        except VerifierError as exc:
            raise _wrong_passphrase(passphrase, str(exc)) from None
        if await store.delete_meta(session, STAGING_KEY):
            log.warning(
                "a passphrase rotation was interrupted before its switch: the current "
                "passphrase stays in effect, the staged copies were discarded"
            )
    return record
