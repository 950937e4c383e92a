"""What the vault does, independent of the bus: each command as one method.

Every method runs in one database transaction and either returns the reply
contract or raises :class:`VaultError` (a code and a message for a person).
Events (names only) go to an :class:`EventSink` after the commit. Nothing here
logs a value.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable, Iterable
from typing import Final

import structlog
from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from praktor_common.contracts.service import Deleted, Done, ErrorCode
from praktor_common.contracts.vault import (
    ResolvedSecret,
    SecretAssignRequest,
    SecretInfo,
    SecretKind,
    SecretListRequest,
    SecretNameRequest,
    SecretResolveReply,
    SecretResolveRequest,
    SecretRotateReply,
    SecretRotateRequest,
    SecretSetRequest,
    SecretUnassignRequest,
    ValueEncoding,
)
from praktor_common.db.engine import session_factory
from praktor_common.subjects import SecretEvent
from praktor_vault import rotation, store
from praktor_vault.crypto import DecryptionError, VaultKey
from praktor_vault.passphrase import Passphrase
from praktor_vault.unlock import derive_key, unlock
from praktor_vault.verifier import META_KEY as VERIFIER_KEY
from praktor_vault.verifier import Record

log = structlog.get_logger(__name__)

DEFAULT_KIND: Final[SecretKind] = "string"


class VaultError(Exception):
    """A command the vault refuses; ``message`` names what is wrong (never a value)."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


EventSink = Callable[[SecretEvent, str], Awaitable[None]]
"""Announces a change of a secret (by name) once it is committed."""


async def _no_events(_kind: SecretEvent, _name: str) -> None:
    return None


def secret_info(secret: store.StoredSecret) -> SecretInfo:
    kind: SecretKind = "file" if secret.kind == "file" else "string"
    return SecretInfo(
        id=secret.id,
        name=secret.name,
        description=secret.description,
        kind=kind,
        filename=secret.filename,
        is_global=secret.is_global,
        agent_ids=list(secret.agent_ids),
        created_at=secret.created_at,
        updated_at=secret.updated_at,
    )


def decode_value(value: SecretStr, encoding: ValueEncoding) -> bytes:
    """The bytes a request's ``value`` stands for."""
    raw = value.get_secret_value()
    if encoding == "text":
        return raw.encode("utf-8")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise VaultError("invalid", "the value is not valid base64") from None


def encode_value(plaintext: bytes) -> tuple[str, ValueEncoding]:
    """Text when the bytes are UTF-8 (exact round trip), base64 otherwise."""
    try:
        return plaintext.decode("utf-8"), "text"
    except UnicodeDecodeError:
        return base64.b64encode(plaintext).decode("ascii"), "base64"


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _not_found(names: list[str]) -> VaultError:
    noun = "secret" if len(names) == 1 else "secrets"
    return VaultError("not_found", f"no {noun} {_quoted(names)}")


def _no_agents(agent_ids: list[str]) -> VaultError:
    noun = "agent" if len(agent_ids) == 1 else "agents"
    return VaultError(
        "not_found", f"no {noun} {_quoted(agent_ids)} (agents are defined in the config)"
    )


class Vault:
    """The unlocked vault: its key, its verifier, and the database."""

    def __init__(
        self,
        engine: AsyncEngine,
        key: VaultKey,
        verifier: Record,
        events: EventSink = _no_events,
    ) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self._key = key
        self._verifier = verifier
        self.events: EventSink = events
        # Encrypting writes and the rotation's switch exclude each other, so no
        # value is ever sealed under a key that is no longer the vault's.
        self._sealing = asyncio.Lock()

    @classmethod
    async def open(
        cls, engine: AsyncEngine, passphrase: Passphrase, events: EventSink = _no_events
    ) -> Vault:
        """Derive the key and prove it (:func:`praktor_vault.unlock.unlock`)."""
        key = await derive_key(passphrase)
        verifier = await unlock(session_factory(engine), key, passphrase)
        log.info("vault unlocked", passphrase_source=passphrase.source)
        return cls(engine, key, verifier, events)

    async def _check_key(self, session: AsyncSession) -> None:
        """Still the vault's key? (Another vault process may have rotated the passphrase.)"""
        current = await store.get_meta(session, VERIFIER_KEY, lock="share")
        if current != self._verifier:
            raise VaultError(
                "unavailable",
                "the vault passphrase was changed by another vault process; "
                "restart this vault with the new passphrase",
            )

    async def _publish(self, kind: SecretEvent, names: Iterable[str]) -> None:
        for name in names:
            try:
                await self.events(kind, name)
            except Exception as exc:  # the change is committed; the feed is best effort
                log.warning(
                    "secret event not published",
                    kind=kind,
                    secret=name,
                    error_type=type(exc).__name__,
                )

    # ------------------------------------------------------------------ CRUD

    async def set_secret(self, request: SecretSetRequest) -> SecretInfo:
        name = request.name
        plaintext = None if request.value is None else decode_value(request.value, request.encoding)
        async with self._sealing:
            try:
                created, info = await self._set(request, plaintext)
            except IntegrityError:
                raise VaultError(
                    "conflict", f"secret {name!r} was changed at the same time; try again"
                ) from None
        log.info("secret saved", secret=name, created=created, kind=info.kind)
        await self._publish("created" if created else "updated", [name])
        return info

    async def _set(
        self, request: SecretSetRequest, plaintext: bytes | None
    ) -> tuple[bool, SecretInfo]:
        name = request.name
        async with self._sessions() as session, session.begin():
            await self._check_key(session)
            existing = await store.get_secret(session, name, lock="update")
            if existing is not None and request.create_only:
                raise VaultError("conflict", f"secret {name!r} already exists")
            if existing is None and plaintext is None:
                raise VaultError(
                    "invalid", f"secret {name!r} does not exist; a new secret needs a value"
                )
            if request.agent_ids is not None:
                missing = sorted(
                    set(request.agent_ids) - await store.existing_agents(session, request.agent_ids)
                )
                if missing:
                    raise _no_agents(missing)
            sealed = None if plaintext is None else self._key.encrypt(plaintext)
            if existing is None:
                assert sealed is not None
                kind: SecretKind = request.kind or ("file" if request.filename else DEFAULT_KIND)
                await store.insert_secret(
                    session,
                    name=name,
                    kind=kind,
                    sealed=sealed,
                    description=request.description or "",
                    filename=request.filename,
                    is_global=bool(request.is_global),
                )
            else:
                changes: dict[str, object] = {}
                if sealed is not None:
                    changes["sealed"] = sealed
                for column in ("description", "kind", "filename", "is_global"):
                    value = getattr(request, column)
                    if value is not None:
                        changes[column] = value
                await store.update_secret(session, name, **changes)
            if request.agent_ids is not None:
                await store.replace_secret_agents(session, name, request.agent_ids)
            saved = await store.get_secret(session, name)
            assert saved is not None
        return existing is None, secret_info(saved)

    async def get_secret(self, request: SecretNameRequest) -> SecretInfo:
        async with self._sessions() as session:
            secret = await store.get_secret(session, request.name)
        if secret is None:
            raise _not_found([request.name])
        return secret_info(secret)

    async def list_secrets(self, request: SecretListRequest) -> list[SecretInfo]:
        async with self._sessions() as session:
            secrets = await store.list_secrets(session, agent_id=request.agent_id)
        return [secret_info(s) for s in secrets]

    async def delete_secret(self, request: SecretNameRequest) -> Deleted:
        async with self._sessions() as session, session.begin():
            deleted = await store.delete_secret(session, request.name)
        if deleted:
            log.info("secret deleted", secret=request.name)
            await self._publish("deleted", [request.name])
        return Deleted(deleted=deleted)

    # ------------------------------------------------------------------ assignments

    async def assign(self, request: SecretAssignRequest) -> Done:
        agent_id = request.agent_id
        names = list(dict.fromkeys(request.names))
        async with self._sessions() as session, session.begin():
            if not await store.existing_agents(session, [agent_id]):
                raise _no_agents([agent_id])
            missing = sorted(set(names) - await store.existing_names(session, names))
            if missing:
                raise _not_found(missing)
            before = await store.assigned_names(session, agent_id)
            if request.exclusive:
                await store.replace_agent_secrets(session, agent_id, names)
                changed = before ^ set(names)
            else:
                await store.assign(session, agent_id, names)
                changed = set(names) - before
        log.info(
            "secrets assigned",
            agent_id=agent_id,
            secrets=sorted(changed),
            exclusive=request.exclusive,
        )
        await self._publish("updated", sorted(changed))
        return Done()

    async def unassign(self, request: SecretUnassignRequest) -> Done:
        agent_id = request.agent_id
        names = list(dict.fromkeys(request.names))
        async with self._sessions() as session, session.begin():
            missing = sorted(set(names) - await store.existing_names(session, names))
            if missing:
                raise _not_found(missing)
            changed = sorted(await store.assigned_names(session, agent_id) & set(names))
            await store.unassign(session, agent_id, names)
        log.info("secrets unassigned", agent_id=agent_id, secrets=changed)
        await self._publish("updated", changed)
        return Done()

    # ------------------------------------------------------------------ values

    async def resolve(self, request: SecretResolveRequest) -> SecretResolveReply:
        """The values ``request.agent_id`` may use: global or assigned (spec §10.2, §10.4)."""
        asked = list(dict.fromkeys(request.names))
        async with self._sessions() as session:
            accessible = await store.list_secrets(session, agent_id=request.agent_id)
            existing = await store.existing_names(session, asked)
        by_name = {s.id: s for s in accessible}
        missing = [n for n in asked if n not in existing]
        denied = [n for n in asked if n in existing and n not in by_name]
        chosen = (
            accessible if request.all_accessible else [by_name[n] for n in asked if n in by_name]
        )
        resolved: list[ResolvedSecret] = []
        failed: list[str] = []
        for secret in chosen:
            try:
                plaintext = self._key.open(secret.sealed)
            except DecryptionError:
                failed.append(secret.id)
                continue
            value, encoding = encode_value(plaintext)
            resolved.append(
                ResolvedSecret(
                    name=secret.name,
                    kind=secret_info(secret).kind,
                    filename=secret.filename,
                    value=SecretStr(value),
                    encoding=encoding,
                )
            )
        if missing or denied or failed:
            log.warning(
                "secrets not resolved",
                agent_id=request.agent_id,
                missing=missing,
                denied=denied,
                failed=failed,
            )
        log.info("secrets resolved", agent_id=request.agent_id, count=len(resolved))
        return SecretResolveReply(secrets=resolved, denied=denied, missing=missing, failed=failed)

    async def rotate(
        self,
        request: SecretRotateRequest,
        checkpoint: rotation.Checkpoint | None = None,
    ) -> SecretRotateReply:
        """Re-encrypt everything under a new passphrase (:mod:`praktor_vault.rotation`)."""
        current = request.current_passphrase.get_secret_value()
        new = request.new_passphrase.get_secret_value()
        if new == current:
            raise VaultError("invalid", "the new passphrase is the current one")
        current_key = await asyncio.to_thread(VaultKey.derive, current)
        if not current_key.same_as(self._key):
            raise VaultError("forbidden", "the current passphrase is wrong; nothing was changed")
        new_key = await asyncio.to_thread(VaultKey.derive, new)
        async with self._sealing:
            try:
                result = await rotation.rotate(
                    self._sessions,
                    self._key,
                    self._verifier,
                    new_key,
                    checkpoint or _no_checkpoint,
                )
            except rotation.RotationError as exc:
                log.warning("passphrase rotation refused", reason=exc.message)
                raise VaultError(exc.code, exc.message) from None
            self._key, self._verifier = new_key, result.verifier
        log.info("vault passphrase rotated", secrets=result.rotated)
        return SecretRotateReply(rotated=result.rotated)


async def _no_checkpoint(_stage: rotation.Stage) -> None:
    return None
