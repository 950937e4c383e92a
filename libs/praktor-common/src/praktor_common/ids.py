"""Identifiers that travel on the bus and name containers, pods and volumes.

An agent id becomes a NATS subject token (``agent.{id}.input``), a container
name (``praktor-agent-{id}``) and a Kubernetes object name, so it must be safe in
all three: lowercase letters, digits and single hyphens, starting with a letter,
at most 40 characters (so derived names stay within DNS-label limits).
"""

from __future__ import annotations

import re
from typing import Annotated

import uuid_utils
from pydantic import AfterValidator

AGENT_ID_MAX = 40
_AGENT_ID_RE = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,39}$")


class InvalidAgentIdError(ValueError):
    """An agent id that cannot be used as a subject token or object name."""


def validate_agent_id(value: str) -> str:
    """Return ``value`` if it is a valid agent id, else raise with what is allowed."""
    if not _AGENT_ID_RE.fullmatch(value):
        raise InvalidAgentIdError(
            f"invalid agent id {value!r}: use 1-{AGENT_ID_MAX} lowercase letters, digits and "
            "single hyphens, starting with a letter (e.g. 'coder' or 'home-assistant')"
        )
    return value


AgentId = Annotated[str, AfterValidator(validate_agent_id)]


def new_id() -> str:
    """A new sortable message id (UUIDv7, text form)."""
    return str(uuid_utils.uuid7())


def is_subject_token(value: str) -> bool:
    """True when ``value`` can stand as one token of a NATS subject."""
    return bool(value) and not any(c in value for c in ". *>\t\r\n")
