"""Vault secrets at agent start (spec §10.4) and for redaction (§10.5).

An agent's config refers to vault secrets two ways: an ``env`` value
``secret:NAME`` and a ``files`` entry (``secret``, ``target``, ``mode``).
:func:`resolve_for_start` asks the vault (``svc.vault.resolve``, the
orchestrator's alone) for those names *as that agent*: the vault answers only
secrets that are global or assigned to it. A reference the vault cannot
satisfy — no such secret, not assigned to this agent, not decryptable — stops
the agent from starting; :class:`SecretResolutionError` names each one and
says how to fix it, and the lifecycle tells whoever waits.

The same answer carries every secret the agent may use (``all_accessible``):
:class:`AgentSecretBook` keeps those values for redacting the agent's output.
After an orchestrator restart (an adopted agent) the book asks the vault again.

An agent whose config refers to no secret starts even when the vault does not
answer: it was given no secret, so it has none to leak.

Values are never logged; names are.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

import nats.errors
import structlog
from nats.aio.client import Client

from praktor_common.config import PraktorConfig
from praktor_common.contracts.service import ServiceError
from praktor_common.contracts.vault import (
    SECRET_RESOLVE,
    ResolvedSecret,
    SecretResolveReply,
    SecretResolveRequest,
)

from .launch import AgentDefinition, UnknownAgentError, definition_for
from .runtime.base import AgentFile

log = structlog.get_logger(__name__)

VAULT_TIMEOUT: Final = 10.0


class VaultUnavailableError(RuntimeError):
    """The vault did not answer or refused the request."""


class SecretResolutionError(RuntimeError):
    """A secret the agent's config refers to cannot be given to it (text for a person)."""


class Vault(Protocol):
    async def resolve(self, request: SecretResolveRequest) -> SecretResolveReply:
        """Raises :class:`VaultUnavailableError`."""
        ...


class NatsVault:
    """``svc.vault.resolve`` over core NATS request/reply (never a stream)."""

    def __init__(self, nc: Client, timeout: float = VAULT_TIMEOUT) -> None:
        self._nc = nc
        self._timeout = timeout

    async def resolve(self, request: SecretResolveRequest) -> SecretResolveReply:
        body = request.model_dump_json().encode()
        try:
            reply = await self._nc.request(SECRET_RESOLVE.subject, body, timeout=self._timeout)
        except nats.errors.NoRespondersError:
            raise VaultUnavailableError(
                "the vault service is not running (start it, then try again)"
            ) from None
        except nats.errors.TimeoutError:
            raise VaultUnavailableError("the vault did not answer in time") from None
        answer = SECRET_RESOLVE.parse_reply(reply.data)
        if isinstance(answer, ServiceError):
            raise VaultUnavailableError(f"the vault refused: {answer.error}")
        return answer


@dataclass(frozen=True)
class AgentSecrets:
    """What an agent is started with from the vault, and what its output is cleaned of."""

    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    files: tuple[AgentFile, ...] = ()
    """Secret files, written into the container by the runtime before the runner starts."""
    values: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Every secret the agent may use, by name (for redaction)."""


NO_SECRETS: Final = AgentSecrets()


def _bytes(secret: ResolvedSecret) -> bytes:
    raw = secret.value.get_secret_value()
    if secret.encoding == "text":
        return raw.encode()
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise SecretResolutionError(
            f"the vault returned secret {secret.name!r} in a form that could not be read"
        ) from None


def _text_for_redaction(secret: ResolvedSecret) -> str:
    """The value as it can appear in text; binary values appear only in encodings,
    so their base64 (which is how the vault sends them) is what is matched."""
    return secret.value.get_secret_value()


def _problems(agent_id: str, reply: SecretResolveReply, names: set[str]) -> list[str]:
    problems = [
        f"secret {name!r} does not exist (create it: praktor vault set {name})"
        for name in reply.missing
        if name in names
    ]
    problems += [
        f"secret {name!r} is not assigned to agent {agent_id!r} "
        f"(assign it: praktor vault assign {name} {agent_id})"
        for name in reply.denied
        if name in names
    ]
    problems += [
        f"secret {name!r} could not be decrypted (was the vault passphrase changed?)"
        for name in reply.failed
        if name in names
    ]
    return problems


async def resolve_for_start(vault: Vault, definition: AgentDefinition) -> AgentSecrets:
    """The agent's secret env and files, and every value it may use.

    Raises :class:`SecretResolutionError` naming each secret it cannot have.
    """
    agent_id = definition.agent_id
    wanted = {*definition.secret_env.values(), *(f.secret for f in definition.secret_files)}
    try:
        reply = await vault.resolve(
            SecretResolveRequest(agent_id=agent_id, names=sorted(wanted), all_accessible=True)
        )
    except VaultUnavailableError as exc:
        if not wanted:
            log.warning(
                "vault not reachable; the agent refers to no secret and starts without",
                agent_id=agent_id,
                reason=str(exc),
            )
            return NO_SECRETS
        names = ", ".join(sorted(wanted))
        raise SecretResolutionError(f"its secrets ({names}) could not be read: {exc}") from exc
    problems = _problems(agent_id, reply, wanted)
    by_name = {s.name: s for s in reply.secrets}
    problems += [
        f"secret {name!r} was not returned by the vault"
        for name in sorted(wanted)
        if name not in by_name and not _problems(agent_id, reply, {name})
    ]
    if problems:
        log.error("agent secrets not resolved", agent_id=agent_id, problems=len(problems))
        raise SecretResolutionError("; ".join(problems))
    env: dict[str, str] = {}
    for variable, name in definition.secret_env.items():
        try:
            env[variable] = _bytes(by_name[name]).decode()
        except UnicodeDecodeError:
            raise SecretResolutionError(
                f"secret {name!r} is binary and cannot be the value of ${variable}; "
                f"give it to the agent as a file (files: - secret: {name})"
            ) from None
    files = tuple(
        AgentFile(target=f.target, content=_bytes(by_name[f.secret]), mode=f.mode_bits)
        for f in definition.secret_files
    )
    values = {s.name: _text_for_redaction(s) for s in reply.secrets}
    log.info(
        "agent secrets resolved",
        agent_id=agent_id,
        env=sorted(env),
        files=[f.target for f in files],
        known=len(values),
    )
    return AgentSecrets(env=env, files=files, values=values)


class ConfigSource(Protocol):
    @property
    def current(self) -> PraktorConfig: ...


class AgentSecretBook:
    """The secret values each agent may use, for redacting its output.

    Filled at each start (:meth:`remember`); an agent it has not seen start
    (adopted after a restart) is looked up in the vault once. Values stay after
    the agent stops: its last output may arrive later.
    """

    def __init__(self, vault: Vault, config: ConfigSource) -> None:
        self._vault = vault
        self._config = config
        self._values: dict[str, Mapping[str, str]] = {}

    def remember(self, agent_id: str, secrets: AgentSecrets) -> None:
        self._values[agent_id] = secrets.values

    async def values_for(self, agent_id: str) -> Mapping[str, str]:
        known = self._values.get(agent_id)
        if known is not None:
            return known
        try:
            reply = await self._vault.resolve(
                SecretResolveRequest(agent_id=agent_id, all_accessible=True)
            )
        except VaultUnavailableError:
            if self._refers_to_secrets(agent_id):
                raise  # the output waits (retried) rather than leave uncleaned
            return {}
        values = {s.name: _text_for_redaction(s) for s in reply.secrets}
        self._values[agent_id] = values
        return values

    def _refers_to_secrets(self, agent_id: str) -> bool:
        try:
            definition = definition_for(self._config.current, agent_id)
        except UnknownAgentError:
            return False
        return bool(definition.secret_env or definition.secret_files)
