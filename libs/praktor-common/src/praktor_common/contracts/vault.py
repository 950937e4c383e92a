"""``svc.vault.*``: secrets (spec §10.2-10.4, §15.6). Values travel only here.

These subjects are request/reply and never captured, so a secret never rests
in a stream. Values are :class:`~pydantic.SecretStr`: hidden in ``repr`` and
logs, written out in JSON.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, Self

from pydantic import Field, SecretStr, StringConstraints, field_serializer, model_validator

from praktor_common.contracts.base import AgentId, Contract, SecretName, UtcDatetime
from praktor_common.contracts.files import FileName
from praktor_common.contracts.service import Command, Deleted, Done

SERVICE: Final = "vault"

SecretKind = Literal["string", "file"]
ValueEncoding = Literal["text", "base64"]
"""How ``value`` holds the secret: as text, or base64 of raw bytes (file secrets)."""

MAX_SECRET_CHARS: Final = 1024 * 1024


def _reveal(value: SecretStr) -> str:
    return value.get_secret_value()


class SecretInfo(Contract):
    """A secret's metadata; values are never listed."""

    id: SecretName
    name: SecretName
    description: str = ""
    kind: SecretKind
    filename: FileName | None = None
    is_global: bool
    """Every agent may use it (``global`` in the web API)."""
    agent_ids: list[AgentId]
    """Agents it is assigned to."""
    created_at: UtcDatetime
    updated_at: UtcDatetime


class SecretSetRequest(Contract):
    """Create or replace a secret (id = name). Absent fields keep their stored value.

    ``value`` is required to create; ``agent_ids`` present (even ``[]``)
    replaces the assignments.
    """

    name: SecretName
    value: SecretStr | None = Field(default=None, max_length=MAX_SECRET_CHARS)
    encoding: ValueEncoding = "text"
    kind: SecretKind | None = None
    description: str | None = None
    filename: FileName | None = None
    is_global: bool | None = None
    agent_ids: list[AgentId] | None = None
    create_only: bool = False
    """Refuse (``conflict``) when the name exists instead of replacing it."""

    @field_serializer("value", when_used="json")
    def _value(self, value: SecretStr | None) -> str | None:
        return None if value is None else _reveal(value)


class SecretNameRequest(Contract):
    name: SecretName


class SecretListRequest(Contract):
    """All secrets by name, or those an agent may use (global + assigned)."""

    agent_id: AgentId | None = None


class SecretAssignRequest(Contract):
    """Give an agent secrets; ``exclusive`` makes ``names`` the agent's whole set."""

    agent_id: AgentId
    names: list[SecretName]
    exclusive: bool = False


class SecretUnassignRequest(Contract):
    agent_id: AgentId
    names: list[SecretName] = Field(min_length=1)


class SecretReply(Contract):
    secret: SecretInfo


class SecretList(Contract):
    secrets: list[SecretInfo]


class SecretResolveRequest(Contract):
    """Values an agent may use, for its container start (spec §10.4) and redaction (§10.5).

    Names the agent may not use come back in ``denied``; with ``all_accessible``
    every secret the agent may use is returned (what redaction needs).
    """

    agent_id: AgentId
    names: list[SecretName] = []
    all_accessible: bool = False

    @model_validator(mode="after")
    def _asks_something(self) -> Self:
        if not self.names and not self.all_accessible:
            raise ValueError("name the secrets to resolve or set all_accessible")
        return self


class ResolvedSecret(Contract):
    name: SecretName
    kind: SecretKind
    filename: FileName | None = None
    value: SecretStr
    encoding: ValueEncoding = "text"

    @field_serializer("value", when_used="json")
    def _value(self, value: SecretStr) -> str:
        return _reveal(value)


class SecretResolveReply(Contract):
    secrets: list[ResolvedSecret]
    denied: list[SecretName] = []
    """Asked for but not global nor assigned to the agent."""
    missing: list[SecretName] = []
    """Asked for but no secret has that name."""
    failed: list[SecretName] = []
    """Assigned but could not be decrypted."""


Passphrase = Annotated[SecretStr, StringConstraints(min_length=8, max_length=1024)]
# The passphrase in use may be short (an upstream install); a new one may not.
CurrentPassphrase = Annotated[SecretStr, StringConstraints(min_length=1, max_length=1024)]


class SecretRotateRequest(Contract):
    """Re-encrypt every secret under a new passphrase (two phases, with a verifier)."""

    current_passphrase: CurrentPassphrase
    new_passphrase: Passphrase

    @field_serializer("current_passphrase", "new_passphrase", when_used="json")
    def _value(self, value: SecretStr) -> str:
        return _reveal(value)


class SecretRotateReply(Contract):
    rotated: int = Field(ge=0)
    """How many secrets were re-encrypted."""


_ADMIN = ("web", "cli")

SECRET_SET: Final = Command(
    SERVICE, "set", SecretSetRequest, SecretReply, "Create or replace a secret.", _ADMIN
)
SECRET_GET: Final = Command(
    SERVICE, "get", SecretNameRequest, SecretReply, "A secret's metadata (never its value).", _ADMIN
)
SECRET_LIST: Final = Command(
    SERVICE, "list", SecretListRequest, SecretList, "Secrets' metadata, by name.", _ADMIN
)
SECRET_DELETE: Final = Command(
    SERVICE, "delete", SecretNameRequest, Deleted, "Delete a secret and its assignments.", _ADMIN
)
SECRET_ASSIGN: Final = Command(
    SERVICE, "assign", SecretAssignRequest, Done, "Let an agent use secrets.", _ADMIN
)
SECRET_UNASSIGN: Final = Command(
    SERVICE, "unassign", SecretUnassignRequest, Done, "Take secrets from an agent.", _ADMIN
)
SECRET_RESOLVE: Final = Command(
    SERVICE,
    "resolve",
    SecretResolveRequest,
    SecretResolveReply,
    "Decrypt the secrets an agent may use (container start, redaction).",
    ("orchestrator",),
)
SECRET_ROTATE: Final = Command(
    SERVICE,
    "rotate",
    SecretRotateRequest,
    SecretRotateReply,
    "Change the vault passphrase, re-encrypting every secret.",
    ("cli",),
)

COMMANDS: Final[tuple[Command[Any, Any], ...]] = (
    SECRET_SET,
    SECRET_GET,
    SECRET_LIST,
    SECRET_DELETE,
    SECRET_ASSIGN,
    SECRET_UNASSIGN,
    SECRET_RESOLVE,
    SECRET_ROTATE,
)
