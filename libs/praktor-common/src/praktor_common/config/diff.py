"""What changed between two configs (spec §2.5), by dotted key.

Every service gets ``(old, new, diff)`` and applies what concerns it, e.g.
``if diff.touches("telegram.allow_from")``. Keys in :data:`NON_RELOADABLE`
cannot change under a running process (a bound port, a directory, the vault
key, the bot's identity): they are listed in ``diff.non_reloadable`` so the
follower can say "restart the service to apply: web.port".

Decisions (upstream differences, spec §20 item 11): ``telegram.allow_from``,
``telegram.main_chat_id``, ``web.auth``, ``speech.*`` and ``timezone`` are
reloadable — whoever uses them reads the current config at use time, and the
scheduler recomputes next runs when ``timezone`` changes. ``speech.api_key``
is reloadable too (a speech client is cheap to rebuild).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from praktor_common.config.model import PraktorConfig

NON_RELOADABLE: Final[tuple[str, ...]] = (
    "data_dir",
    "nats.data_dir",
    "ports",
    "web.enabled",
    "web.port",
    "model_proxy.port",
    "telegram.token",
    "telegram.api_base_url",
    "vault.passphrase",
    "agentmail.api_key",
)
"""Keys (and prefixes: ``ports`` covers ``ports.health.router``) a restart must apply."""


def _under(key: str, prefix: str) -> bool:
    return key == prefix or key.startswith(prefix + ".") or key.startswith(prefix + "[")


_MISSING: Final = object()


def _flatten(value: Any, key: str, out: dict[str, Any]) -> None:
    """Leaves by dotted key; mappings are walked (an empty one has no leaves), lists are leaves."""
    if isinstance(value, dict):
        for name, item in value.items():
            _flatten(item, f"{key}.{name}" if key else str(name), out)
    else:
        out[key] = value


def _leaves(config: PraktorConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _flatten(config.model_dump(mode="python"), "", out)
    return out


@dataclass(frozen=True)
class ConfigDiff:
    """The keys that differ (sorted), and the agent view of spec §2.5."""

    changed_keys: tuple[str, ...] = ()
    agents_added: tuple[str, ...] = ()
    agents_removed: tuple[str, ...] = ()
    agents_changed: tuple[str, ...] = ()
    non_reloadable: tuple[str, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.changed_keys)

    @property
    def has_reloadable_changes(self) -> bool:
        return len(self.changed_keys) > len(self.non_reloadable)

    def touches(self, *prefixes: str) -> bool:
        """True when a changed key is one of ``prefixes`` or lies under one."""
        return any(_under(key, prefix) for key in self.changed_keys for prefix in prefixes)

    @property
    def agents_touched(self) -> bool:
        return bool(self.agents_added or self.agents_removed or self.agents_changed)

    @property
    def defaults_changed(self) -> bool:
        return self.touches("defaults")

    @property
    def router_changed(self) -> bool:
        return self.touches("router")

    @property
    def scheduler_changed(self) -> bool:
        return self.touches("scheduler")

    @property
    def main_chat_id_changed(self) -> bool:
        return self.touches("telegram.main_chat_id")

    @property
    def allow_from_changed(self) -> bool:
        return self.touches("telegram.allow_from")

    @property
    def timezone_changed(self) -> bool:
        return self.touches("timezone")

    def summary(self) -> str:
        """One line for a log: what changed, secrets by name only."""
        if not self.has_changes:
            return "no changes"
        parts: list[str] = []
        for label, ids in (
            ("agents added", self.agents_added),
            ("agents removed", self.agents_removed),
            ("agents changed", self.agents_changed),
        ):
            if ids:
                parts.append(f"{label}: {', '.join(ids)}")
        others = [key for key in self.changed_keys if not _under(key, "agents")]
        if others:
            parts.append(f"changed: {', '.join(others)}")
        return "; ".join(parts)


def diff_configs(old: PraktorConfig, new: PraktorConfig) -> ConfigDiff:
    """Compare two configs. Added or removed agents appear once, as ``agents.<id>``."""
    added = tuple(agent for agent in new.agents if agent not in old.agents)
    removed = tuple(agent for agent in old.agents if agent not in new.agents)
    changed = tuple(
        agent
        for agent in new.agents
        if agent in old.agents and old.agents[agent] != new.agents[agent]
    )
    before, after = _leaves(old), _leaves(new)
    keys: set[str] = set()
    for key in before.keys() | after.keys():
        if before.get(key, _MISSING) == after.get(key, _MISSING):
            continue
        whole = next(
            (f"agents.{a}" for a in (*added, *removed) if _under(key, f"agents.{a}")), None
        )
        keys.add(whole or key)
    changed_keys = tuple(sorted(keys))
    non_reloadable = tuple(
        key for key in changed_keys if any(_under(key, prefix) for prefix in NON_RELOADABLE)
    )
    return ConfigDiff(
        changed_keys=changed_keys,
        agents_added=added,
        agents_removed=removed,
        agents_changed=changed,
        non_reloadable=non_reloadable,
    )
