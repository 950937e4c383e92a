"""The YAML config as Pydantic models: every key of spec §2.2 plus ours, with defaults.

Each section refuses unknown keys (a typo is an error naming the allowed keys),
and an empty section (``telegram:`` with nothing under it) means "all defaults".
Secrets are :data:`~praktor_common.config.types.Secret`: hidden in ``repr``, logs
and error messages; :func:`~praktor_common.config.loader.to_json` writes them in
clear for distribution on the (authenticated) bus.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from praktor_common.config.durations import Duration
from praktor_common.config.errors import ConfigProblem, CrossFieldError, show_value
from praktor_common.config.timezones import detect_local_timezone, validate_timezone
from praktor_common.config.types import (
    SENSITIVE,
    Capability,
    ConfigAgentId,
    ContainerPath,
    EnvName,
    EnvValue,
    FileMode,
    HttpBaseUrl,
    NonEmptyStr,
    NonNegativeFloat,
    NonNegativeInt,
    OptionalAgentId,
    OptionalPath,
    Port,
    Secret,
    Workspace,
    mask,
    reveals_secrets,
)
from praktor_common.settings import default_data_dir

SERVICES: Final = (
    "gateway-telegram",
    "router",
    "orchestrator",
    "scheduler",
    "swarm",
    "vault",
    "model-proxy",
    "web",
)
"""Every service of the suite, as ``praktor service NAME`` names it."""

DEFAULT_CAPABILITIES: Final = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID")


class Section(BaseModel):
    """A block of the YAML file: frozen, no unknown keys, empty means defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_means_defaults(cls, data: Any) -> Any:
        return {} if data is None else data


class TelegramConfig(Section):
    token: Secret = SecretStr("")
    """Bot token from @BotFather; empty disables the Telegram gateway."""
    allow_from: list[Annotated[int, Field(ge=1)]] = []
    """Telegram user ids allowed to talk to the bot. Empty = nobody (not everybody)."""
    main_chat_id: int = 0
    """Chat for scheduled-task output, swarm results, mail notices; 0 = none.
    Negative ids are groups, so negative numbers are allowed here."""
    api_base_url: HttpBaseUrl = "https://api.telegram.org"
    """Bot API server; set it to use a self-hosted ``telegram-bot-api``."""

    @property
    def enabled(self) -> bool:
        return bool(self.token.get_secret_value())

    def allows(self, user_id: int) -> bool:
        """True when ``user_id`` is listed in ``allow_from`` (an empty list allows nobody)."""
        return user_id in self.allow_from


class SecurityProfile(Section):
    """Hardening of an agent container (spec §6.6)."""

    no_new_privileges: bool = True
    drop_capabilities: bool = True
    """Drop ALL capabilities, then add back ``add_capabilities``."""
    add_capabilities: list[Capability] = list(DEFAULT_CAPABILITIES)
    pids_limit: NonNegativeInt = 1024
    """0 = unlimited."""
    memory_mb: NonNegativeInt = 0
    """0 = unlimited."""
    cpus: NonNegativeFloat = 0.0
    """0 = unlimited."""
    tmpfs: bool = True
    """tmpfs on /tmp and /var/tmp."""
    readonly_rootfs: bool = False


class SecurityOverride(Section):
    """Per-agent security: the fields given replace those of ``defaults.security``;
    the fields not given inherit them (unlike upstream, where they became zero)."""

    no_new_privileges: bool | None = None
    drop_capabilities: bool | None = None
    add_capabilities: list[Capability] | None = None
    pids_limit: NonNegativeInt | None = None
    memory_mb: NonNegativeInt | None = None
    cpus: NonNegativeFloat | None = None
    tmpfs: bool | None = None
    readonly_rootfs: bool | None = None

    def over(self, base: SecurityProfile) -> SecurityProfile:
        """``base`` with every field this override sets replaced."""
        given = {name: value for name, value in self if value is not None}
        return base.model_copy(update=given)


class DefaultsConfig(Section):
    image: NonEmptyStr = "praktor-agent:latest"
    model: NonEmptyStr = "claude-opus-4-7"
    model_api_base_url: HttpBaseUrl = "https://api.anthropic.com"
    """Anthropic-compatible API the model proxy forwards to (e.g. an LLM gateway)."""
    max_running: Annotated[int, Field(ge=1)] = 5
    idle_timeout: Duration = timedelta(minutes=10)
    """Stop an agent's container after this long without work; "0s" never stops it."""
    anthropic_api_key: Secret = SecretStr("")
    oauth_token: Secret = SecretStr("")
    security: SecurityProfile = SecurityProfile()


class SecretFile(Section):
    """A vault secret written as a file into the agent's container."""

    secret: NonEmptyStr
    """Name of the vault secret."""
    target: ContainerPath
    mode: FileMode = "0600"
    """Octal permission string, quoted: "0600"."""

    @property
    def mode_bits(self) -> int:
        return int(self.mode.removeprefix("0o"), 8)


class AgentConfig(Section):
    description: str = ""
    """What this agent is for; the router reads it to pick an agent."""
    model: str = ""
    """Empty = ``defaults.model``."""
    image: str = ""
    """Empty = ``defaults.image``."""
    claude_md: str = ""
    """Kept for upstream configs; it has no effect."""
    workspace: Workspace = ""
    """Name of the agent's workspace (volumes, files); empty = the agent id."""
    env: Annotated[dict[EnvName, EnvValue], SENSITIVE] = Field(default={}, repr=False)
    """Environment of the container; a value ``secret:NAME`` is read from the vault."""
    files: list[SecretFile] = []
    allowed_tools: list[str] = []
    """Restricts Claude's built-in tools; empty = all."""
    nix_enabled: bool = False
    agentmail_inbox_id: str = ""
    security: SecurityOverride | None = None
    """Merged over ``defaults.security``; absent = inherit all."""

    @field_serializer("env", when_used="json")
    def _dump_env(self, env: dict[str, str], info: SerializationInfo) -> dict[str, str]:
        """Env values may hold credentials: masked unless secrets are revealed."""
        if reveals_secrets(info):
            return env
        return {name: mask(value) for name, value in env.items()}


class RouterConfig(Section):
    default_agent: OptionalAgentId = ""
    """Agent for messages no rule routes elsewhere; required once any agent exists."""


class NatsConfig(Section):
    data_dir: OptionalPath = None
    """Where JetStream stores (for the embedded server of ``praktor up``).
    Empty = ``<data_dir>/nats/store``; a relative path is under ``data_dir``."""


class WebConfig(Section):
    enabled: bool = True
    port: Port = 8080
    """Mission Control (HTTP) port."""
    auth: Secret = SecretStr("")
    """Password of Mission Control; empty = no login."""


class ModelProxyConfig(Section):
    port: Port = 8091
    """Port agents reach the model proxy on."""


class SchedulerConfig(Section):
    poll_interval: Duration = timedelta(seconds=30)

    @field_validator("poll_interval")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError('must be more than 0s; write e.g. "30s"')
        return value


class VaultConfig(Section):
    passphrase: Secret = SecretStr("")
    """Unlocks the secrets vault; required by the vault service."""


class AgentMailConfig(Section):
    api_key: Secret = SecretStr("")


class SpeechConfig(Section):
    api_key: Secret = SecretStr("")
    """Key of the OpenAI-compatible speech API; empty disables voice."""
    base_url: HttpBaseUrl = "https://api.openai.com/v1"
    tts_enabled: bool = False
    tts_mode: Literal["voice", "always", "never"] = "voice"
    """voice = answer a voice note with voice; always; never."""
    tts_voice: NonEmptyStr = "alloy"
    stt_model: NonEmptyStr = "whisper-1"
    """Transcription model name (another OpenAI-compatible server may name it differently)."""
    tts_model: NonEmptyStr = "tts-1"
    """Text-to-speech model name."""

    @property
    def enabled(self) -> bool:
        return bool(self.api_key.get_secret_value())


class HealthPorts(Section):
    """``/healthz``, ``/readyz`` and ``/metrics`` port of each service."""

    gateway_telegram: Port = 9101
    router: Port = 9102
    orchestrator: Port = 9103
    scheduler: Port = 9104
    swarm: Port = 9105
    vault: Port = 9106
    model_proxy: Port = 9107
    web: Port = 9108


class PortsConfig(Section):
    health: HealthPorts = HealthPorts()

    def health_ports(self) -> dict[str, int]:
        """Health port of each service by service name (``{"gateway-telegram": 9101, ...}``)."""
        return {name.replace("_", "-"): port for name, port in self.health}


def cross_field_problems(
    agent_ids: Sequence[str], default_agent: str, ports: Mapping[str, int]
) -> list[ConfigProblem]:
    """Checks that involve several keys: the default agent, and ports used twice."""
    problems: list[ConfigProblem] = []
    if agent_ids and not default_agent:
        problems.append(
            ConfigProblem(
                "router.default_agent",
                f"'' — required when agents are defined; name one of: {', '.join(agent_ids)}",
            )
        )
    elif default_agent and default_agent not in agent_ids:
        known = ", ".join(agent_ids) or "none defined"
        problems.append(
            ConfigProblem(
                "router.default_agent",
                f"{show_value(default_agent)} — must name an agent under 'agents' ({known})",
            )
        )
    used: dict[int, str] = {}
    for key, port in ports.items():
        if port in used:
            problems.append(
                ConfigProblem(key, f"{port} — already used by {used[port]}; pick a free port")
            )
        else:
            used[port] = key
    return problems


def _timezone(value: str) -> str:
    return validate_timezone(value)


def _local_timezone() -> str:
    return detect_local_timezone(os.environ)


class PraktorConfig(Section):
    """The whole YAML file. Build it with :func:`~praktor_common.config.loader.load_config`."""

    timezone: Annotated[str, AfterValidator(_timezone)] = Field(default_factory=_local_timezone)
    """IANA zone for cron schedules and times shown to people; storage is UTC."""
    data_dir: OptionalPath = None
    """Where Praktor keeps its state. ``$PRAKTOR_DATA_DIR`` wins over this."""
    telegram: TelegramConfig = TelegramConfig()
    defaults: DefaultsConfig = DefaultsConfig()
    agents: dict[ConfigAgentId, AgentConfig] = {}
    router: RouterConfig = RouterConfig()
    web: WebConfig = WebConfig()
    model_proxy: ModelProxyConfig = ModelProxyConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    vault: VaultConfig = VaultConfig()
    agentmail: AgentMailConfig = AgentMailConfig()
    speech: SpeechConfig = SpeechConfig()
    nats: NatsConfig = NatsConfig()
    ports: PortsConfig = PortsConfig()

    @field_validator("timezone", mode="before")
    @classmethod
    def _empty_timezone_is_local(cls, value: Any) -> Any:
        return _local_timezone() if value in ("", None) else value

    @field_validator("agents", mode="before")
    @classmethod
    def _workspace_defaults_to_id(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        filled: dict[Any, Any] = {}
        for agent_id, body in value.items():
            if body is None:
                body = {}
            if isinstance(body, dict) and not body.get("workspace"):
                body = {**body, "workspace": agent_id}
            filled[agent_id] = body
        return filled

    @model_validator(mode="after")
    def _cross_checks(self) -> PraktorConfig:
        problems = cross_field_problems(
            list(self.agents), self.router.default_agent, self.listening_ports()
        )
        if problems:
            raise CrossFieldError(problems)
        return self

    # -- reading the config -----------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def listening_ports(self) -> dict[str, int]:
        """Every port the suite listens on, by dotted key."""
        ports = {"web.port": self.web.port, "model_proxy.port": self.model_proxy.port}
        for name, port in self.ports.health:
            ports[f"ports.health.{name}"] = port
        return ports

    def health_port(self, service: str) -> int:
        """Health port of ``service`` (``"gateway-telegram"`` or ``"gateway_telegram"``)."""
        ports = self.ports.health_ports()
        name = service.replace("_", "-")
        if name not in ports:
            raise KeyError(f"unknown service {service!r}; known: {', '.join(SERVICES)}")
        return ports[name]

    def agent(self, agent_id: str) -> AgentConfig:
        try:
            return self.agents[agent_id]
        except KeyError:
            raise KeyError(f"agent {agent_id!r} is not in the config") from None

    def security_for(self, agent_id: str) -> SecurityProfile:
        """The agent's ``security`` merged over ``defaults.security``."""
        override = self.agent(agent_id).security
        return override.over(self.defaults.security) if override else self.defaults.security

    def model_for(self, agent_id: str) -> str:
        return self.agent(agent_id).model or self.defaults.model

    def image_for(self, agent_id: str) -> str:
        return self.agent(agent_id).image or self.defaults.image

    def data_path(self) -> Path:
        """``data_dir`` (the loader always fills it), else the per-user default."""
        return self.data_dir if self.data_dir is not None else default_data_dir()

    def jetstream_store_dir(self) -> Path:
        store = self.nats.data_dir
        if store is None:
            return self.data_path() / "nats" / "store"
        return store if store.is_absolute() else self.data_path() / store
