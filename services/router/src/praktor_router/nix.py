"""``/nix <action> [package…] [@agent]`` (spec §11.13): the payload, parsed.

Pure: tokens in, a request (or the usage text to show) out. The target is the
**default agent** unless an ``@agent`` token names another (the last one wins).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from praktor_common.contracts.orchestrator import NixAction

__all__ = ["NIX_USAGE", "NixCall", "NixUsage", "parse_nix"]

NIX_USAGE: Final = (
    "Usage: `/nix <action> [package…] [@agent]`\n"
    "Actions: `search <query>`, `add <package…>`, `list`, `remove <package…>`, `upgrade`.\n"
    "Example: `/nix add ripgrep @coder`"
)

_ACTIONS: Final[dict[str, NixAction]] = {
    "search": "search",
    "add": "add",
    "install": "add",
    "list": "list",
    "ls": "list",
    "remove": "remove",
    "rm": "remove",
    "upgrade": "upgrade",
}


@dataclass(frozen=True)
class NixCall:
    agent_id: str | None
    """``None`` when no ``@agent`` was given and there is no default agent."""
    action: NixAction
    packages: tuple[str, ...] = ()


@dataclass(frozen=True)
class NixUsage:
    """The payload cannot be run; ``text`` says how to write it."""

    text: str


def parse_nix(payload: str, default_agent: str | None) -> NixCall | NixUsage:
    target = default_agent
    words: list[str] = []
    for token in payload.split():
        if token.startswith("@") and len(token) > 1:
            target = token[1:]
        else:
            words.append(token)
    if not words:
        return NixUsage(NIX_USAGE)
    name, arguments = words[0].lower(), words[1:]
    action = _ACTIONS.get(name)
    if action is None:
        return NixUsage(f"Unknown action `{words[0]}`.\n{NIX_USAGE}")
    if action == "search":
        if not arguments:
            return NixUsage("Usage: `/nix search <query> [@agent]`, e.g. `/nix search ripgrep`")
        return NixCall(target, action, (arguments[0],))
    if action in ("add", "remove"):
        if not arguments:
            return NixUsage(f"Usage: `/nix {name} <package…> [@agent]`, e.g. `/nix {name} ripgrep`")
        return NixCall(target, action, tuple(arguments))
    return NixCall(target, action)
