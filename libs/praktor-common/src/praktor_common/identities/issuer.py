"""Agent credentials at runtime: mint at container start, revoke at stop.

The orchestrator holds an :class:`AgentCredentialIssuer`. It signs agent users
with the ``PRAKTOR`` account's signing key (from the identity directory) and
pushes account updates over a ``sys-admin`` connection in the system account.
Revoking reads the account JWT the server holds first, so revocations made by
another replica are kept.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import nats
import structlog

from praktor_common.identities.authority import Authority
from praktor_common.identities.credentials import Credentials

if TYPE_CHECKING:
    from nats.aio.client import Client

log = structlog.get_logger(__name__)

CLAIMS_UPDATE: Final = "$SYS.REQ.CLAIMS.UPDATE"
DEFAULT_AGENT_LIFETIME: Final = timedelta(days=7)


class AccountUpdateError(RuntimeError):
    """The server refused (or did not answer) an account JWT update."""


def _claims_lookup(account: str) -> str:
    return f"$SYS.REQ.ACCOUNT.{account}.CLAIMS.LOOKUP"


async def push_account_jwt(system: Client, account_jwt: str, reply_within: float = 5.0) -> None:
    """Send an account JWT to the server(s); raise unless one accepted it."""
    try:
        reply = await system.request(CLAIMS_UPDATE, account_jwt.encode(), timeout=reply_within)
    except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
        raise AccountUpdateError(f"no server answered the account update: {exc!r}") from exc
    try:
        body: dict[str, Any] = json.loads(reply.data)
    except ValueError as exc:
        raise AccountUpdateError("unreadable answer to the account update") from exc
    if "error" in body:
        error = body["error"]
        raise AccountUpdateError(
            f"server refused the account update: {error.get('description', error)}"
        )
    code = body.get("data", {}).get("code")
    if code != 200:
        raise AccountUpdateError(f"unexpected answer to the account update: {body}")


async def lookup_account_jwt(system: Client, account: str, reply_within: float = 5.0) -> str | None:
    """The account JWT the server currently holds, or None when it has none."""
    try:
        reply = await system.request(_claims_lookup(account), b"", timeout=reply_within)
    except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
        return None
    text = reply.data.decode().strip()
    return text if text.count(".") == 2 else None


async def connect_system(authority: Authority, url: str, **kwargs: Any) -> Client:
    """A ``sys-admin`` connection (system account) for pushing account updates."""
    creds = authority.system_credentials()
    client: Client = await nats.connect(
        url,
        user_credentials=creds.raw(),
        inbox_prefix=creds.inbox_prefix.encode(),
        name="praktor-sys-admin",
        **kwargs,
    )
    return client


async def revoke_and_push(
    authority: Authority, system: Client, public_keys: str | Iterable[str]
) -> None:
    """Revoke user keys and make the running server(s) apply it at once."""
    keys = [public_keys] if isinstance(public_keys, str) else list(public_keys)
    current = await lookup_account_jwt(system, authority.account_public_key)
    account_jwt = await asyncio.to_thread(authority.revoke, keys, known_account_jwt=current)
    await push_account_jwt(system, account_jwt)
    log.info("nats users revoked", count=len(keys))


class AgentCredentialIssuer:
    """Mints, tracks and revokes the credentials of running agents."""

    def __init__(self, authority: Authority, system: Client) -> None:
        self._authority = authority
        self._system = system
        self._active: dict[str, Credentials] = {}
        self._lock = asyncio.Lock()

    @classmethod
    async def connect(cls, directory: Path, url: str) -> AgentCredentialIssuer:
        authority = await asyncio.to_thread(Authority.load, directory)
        return cls(authority, await connect_system(authority, url))

    async def close(self) -> None:
        await self._system.close()

    @property
    def active(self) -> Mapping[str, Credentials]:
        """Agent id → the credentials currently issued to it."""
        return dict(self._active)

    async def issue(
        self,
        agent_id: str,
        *,
        expires_in: timedelta = DEFAULT_AGENT_LIFETIME,
        swarm_chats: Iterable[str] = (),
    ) -> Credentials:
        """New credentials for ``agent_id``; any it held before are revoked."""
        async with self._lock:
            creds = self._authority.mint_agent_credentials(
                agent_id, expires_in, swarm_chats=swarm_chats
            )
            previous = self._active.get(agent_id)
            self._active[agent_id] = creds
        if previous is not None:
            await revoke_and_push(self._authority, self._system, previous.public_key)
        log.info("agent credentials issued", agent_id=agent_id, expires_at=creds.expires_at)
        return creds

    async def revoke(self, agent_id: str) -> bool:
        """Revoke the agent's credentials (disconnects it); False if it held none."""
        async with self._lock:
            creds = self._active.pop(agent_id, None)
        if creds is None:
            return False
        await revoke_and_push(self._authority, self._system, creds.public_key)
        log.info("agent credentials revoked", agent_id=agent_id)
        return True

    async def revoke_public_key(self, public_key: str) -> None:
        """Revoke any user key of the account (e.g. credentials minted elsewhere)."""
        async with self._lock:
            for agent_id, creds in list(self._active.items()):
                if creds.public_key == public_key:
                    del self._active[agent_id]
        await revoke_and_push(self._authority, self._system, public_key)

    async def revoke_all(self) -> int:
        async with self._lock:
            held = list(self._active.values())
            self._active.clear()
        if held:
            await revoke_and_push(self._authority, self._system, [c.public_key for c in held])
        return len(held)
