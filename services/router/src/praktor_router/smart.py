"""Smart routing (spec §8 rule 3): the prompt the default agent gets, and reading its answer.

Pure text in, text out; asking the agent is the caller's (see :mod:`.bus`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping

__all__ = ["parse_route_answer", "routing_prompt"]

_STRIP = " \t\r\n`'\"*.@"


def routing_prompt(agents: Mapping[str, str], text: str) -> str:
    """The question for the default agent: which of ``agents`` (id → description) fits ``text``.

    Agents are listed by id (upstream used map order, i.e. no order at all).
    """
    lines = [
        "You are a message router. Decide which agent should handle the user's message.",
        "",
        "Available agents:",
    ]
    for agent_id in sorted(agents):
        description = " ".join(agents[agent_id].split())
        lines.append(f"- {agent_id}: {description}" if description else f"- {agent_id}")
    lines += [
        "",
        f"User message: {text}",
        "",
        "Respond with ONLY the name of the best agent, nothing else.",
    ]
    return "\n".join(lines)


def parse_route_answer(body: bytes | str, known_agents: Collection[str]) -> str | None:
    """The agent named in a route reply, when it is one of ``known_agents``.

    The reply is ``{"agent": "<name>"}``; a body that is not that JSON is read as
    the name itself (spec §8). Surrounding whitespace, quotes, backticks, ``*``,
    ``@`` and a final period are ignored, since models add them. Anything else
    (several words, an unknown name) gives ``None``: the caller falls back.
    """
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    answer = text
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and isinstance(decoded.get("agent"), str):
        answer = decoded["agent"]
    name = answer.strip(_STRIP)
    return name if name in known_agents else None
