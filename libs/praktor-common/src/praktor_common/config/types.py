"""Field types of the YAML config: what each accepts, and the message when it does not."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Final
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    SecretStr,
    SerializationInfo,
)

from praktor_common.ids import AGENT_ID_MAX, InvalidAgentIdError, validate_agent_id

REVEAL_SECRETS: Final = "reveal_secrets"
"""Serialization context key: ``{"reveal_secrets": True}`` writes secrets in clear."""


class Sensitive:
    """Marker in ``Annotated`` metadata: values under this field are never shown."""


SENSITIVE: Final = Sensitive()


def reveals_secrets(info: SerializationInfo) -> bool:
    context = info.context
    return isinstance(context, dict) and bool(context.get(REVEAL_SECRETS))


def mask(value: str) -> str:
    return "**********" if value else ""


def _dump_secret(value: SecretStr, info: SerializationInfo) -> str:
    return value.get_secret_value() if reveals_secrets(info) else mask(value.get_secret_value())


Secret = Annotated[SecretStr, PlainSerializer(_dump_secret, return_type=str, when_used="json")]
"""A password, token or key: hidden in ``repr``, logs and error messages."""

Port = Annotated[int, Field(ge=1, le=65535)]
NonNegativeInt = Annotated[int, Field(ge=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
NonEmptyStr = Annotated[str, Field(min_length=1)]


def _http_base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("must be an http(s) base URL like 'https://api.example.com'")
    return value.rstrip("/")


HttpBaseUrl = Annotated[str, AfterValidator(_http_base_url)]
"""An ``http(s)://host[:port][/path]`` base URL, stored without a trailing slash."""


def _optional_path(value: object) -> object:
    return None if value == "" else value


OptionalPath = Annotated[Path | None, BeforeValidator(_optional_path)]
"""A path; empty or absent means "the default"."""


_CAPABILITY_NAMES: Final = """
    AUDIT_CONTROL AUDIT_READ AUDIT_WRITE BLOCK_SUSPEND BPF CHECKPOINT_RESTORE CHOWN
    DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID IPC_LOCK IPC_OWNER KILL LEASE LINUX_IMMUTABLE
    MAC_ADMIN MAC_OVERRIDE MKNOD NET_ADMIN NET_BIND_SERVICE NET_BROADCAST NET_RAW PERFMON
    SETFCAP SETGID SETPCAP SETUID SYSLOG SYS_ADMIN SYS_BOOT SYS_CHROOT SYS_MODULE SYS_NICE
    SYS_PACCT SYS_PTRACE SYS_RAWIO SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG WAKE_ALARM ALL
"""
LINUX_CAPABILITIES: Final = frozenset(_CAPABILITY_NAMES.split())
"""Names of ``man 7 capabilities`` without ``CAP_``, plus ``ALL``."""


def _capability(value: str) -> str:
    name = value.strip().upper().removeprefix("CAP_")
    if name not in LINUX_CAPABILITIES:
        raise ValueError(
            "is not a Linux capability; use names like CHOWN, DAC_OVERRIDE, FOWNER, "
            "SETUID, SETGID, NET_BIND_SERVICE (see `man 7 capabilities`)"
        )
    return name


Capability = Annotated[str, AfterValidator(_capability)]
"""A Linux capability name, stored upper-case without ``CAP_`` (``cap_chown`` → ``CHOWN``)."""

_FILE_MODE = re.compile(r"[0-7]{3,4}")


def _file_mode(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            'must be an octal string in quotes, e.g. "0600" (unquoted, YAML reads 0600 '
            "as the number 384)"
        )
    if isinstance(value, str) and not _FILE_MODE.fullmatch(value.removeprefix("0o")):
        raise ValueError('must be an octal file mode like "0600", "0644" or "0400"')
    return value


FileMode = Annotated[str, BeforeValidator(_file_mode)]


def _container_path(value: str) -> str:
    path = PurePosixPath(value)
    if not path.is_absolute() or ".." in path.parts or path == PurePosixPath("/"):
        raise ValueError(
            "must be an absolute file path inside the container, like '/home/praktor/.netrc'"
        )
    return value


ContainerPath = Annotated[str, AfterValidator(_container_path)]

RESERVED_WORKSPACES: Final = frozenset({"global"})
_WORKSPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def _workspace(value: str) -> str:
    if value == "":
        return value  # filled with the agent id by the enclosing config
    if not _WORKSPACE.fullmatch(value):
        raise ValueError(
            "must be 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    if value in RESERVED_WORKSPACES:
        raise ValueError(
            f"'{value}' is reserved for the instructions every agent shares; "
            "choose another workspace name"
        )
    return value


Workspace = Annotated[str, AfterValidator(_workspace)]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(
            "is not an environment variable name; use letters, digits and '_', "
            "not starting with a digit"
        )
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]


def _env_value(value: object) -> object:
    """YAML reads ``DEBUG: true`` or ``PORT: 8080`` as bool / int; env values are text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


EnvValue = Annotated[str, BeforeValidator(_env_value)]


AGENT_ID_RULE: Final = (
    f"use 1-{AGENT_ID_MAX} lowercase letters, digits and single hyphens, "
    "starting with a letter (e.g. 'coder' or 'home-assistant')"
)


def _agent_id(value: str) -> str:
    try:
        return validate_agent_id(value)
    except InvalidAgentIdError:
        raise ValueError(f"is not a valid agent id; {AGENT_ID_RULE}") from None


ConfigAgentId = Annotated[str, AfterValidator(_agent_id)]
"""An agent id (:func:`praktor_common.ids.validate_agent_id`) with a config-style message."""


def _optional_agent_id(value: str) -> str:
    return _agent_id(value) if value else value


OptionalAgentId = Annotated[str, AfterValidator(_optional_agent_id)]
