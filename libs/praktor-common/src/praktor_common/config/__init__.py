"""The user's YAML config: model, loading, diff, and distribution over NATS KV.

Load it in the process that owns the file (``praktor up``, ``praktor config``)::

    config = load_config(Path("praktor.yaml"))      # raises ConfigError

Follow it everywhere else::

    follower = ConfigFollower(js)
    config = await follower.start()
    follower.on_change(apply_new_config)            # async (old, new, diff)
"""

from praktor_common.config.diff import NON_RELOADABLE, ConfigDiff, diff_configs
from praktor_common.config.distribution import (
    NO_CONFIG_YET,
    ConfigCallback,
    ConfigFollower,
    ConfigPublisher,
    ConfigUnavailableError,
    PublishOutcome,
    config_bucket,
    decode_envelope,
    encode_envelope,
)
from praktor_common.config.durations import format_duration, parse_duration
from praktor_common.config.errors import ConfigError, ConfigProblem
from praktor_common.config.loader import (
    config_from_json,
    config_sha256,
    load_config,
    load_config_text,
    to_json,
)
from praktor_common.config.model import (
    SERVICES,
    AgentConfig,
    AgentMailConfig,
    DefaultsConfig,
    HealthPorts,
    ModelProxyConfig,
    NatsConfig,
    PortsConfig,
    PraktorConfig,
    RouterConfig,
    SchedulerConfig,
    SecretFile,
    SecurityOverride,
    SecurityProfile,
    SpeechConfig,
    TelegramConfig,
    VaultConfig,
    WebConfig,
)
from praktor_common.config.overrides import ENV_OVERRIDES
from praktor_common.config.timezones import detect_local_timezone

__all__ = [
    "ENV_OVERRIDES",
    "NON_RELOADABLE",
    "NO_CONFIG_YET",
    "SERVICES",
    "AgentConfig",
    "AgentMailConfig",
    "ConfigCallback",
    "ConfigDiff",
    "ConfigError",
    "ConfigFollower",
    "ConfigProblem",
    "ConfigPublisher",
    "ConfigUnavailableError",
    "DefaultsConfig",
    "HealthPorts",
    "ModelProxyConfig",
    "NatsConfig",
    "PortsConfig",
    "PraktorConfig",
    "PublishOutcome",
    "RouterConfig",
    "SchedulerConfig",
    "SecretFile",
    "SecurityOverride",
    "SecurityProfile",
    "SpeechConfig",
    "TelegramConfig",
    "VaultConfig",
    "WebConfig",
    "config_bucket",
    "config_from_json",
    "config_sha256",
    "decode_envelope",
    "detect_local_timezone",
    "diff_configs",
    "encode_envelope",
    "format_duration",
    "load_config",
    "load_config_text",
    "parse_duration",
    "to_json",
]
