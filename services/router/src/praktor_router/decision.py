"""Which agent (or swarm) an inbound message goes to, and the text it gets (spec §8, §11.4-11.5).

Pure apart from one port: the smart-routing question to the default agent,
which the caller passes in as a :class:`SmartRouter`. Rules, first match wins:

1. an explicit target (``inbound.agent_id``: a web chat with one agent);
2. a reply to an agent's message → that agent, with ``[Replying to message: …]``;
3. ``@swarm <agents>: <task>`` → a swarm (spec §11.10), or why it cannot run;
4. ``@agent <text>`` with a defined agent → that agent, prefix removed;
5. smart routing: with more than one agent, the default agent names the best
   one (an unknown name, an error or a timeout falls through);
6. the agent last used in this chat;
7. the default agent.

A voice note is routed on its transcript, not on a file placeholder (spec §20
item 15 fixed), and the agent gets ``[Voice message] <transcript>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from praktor_common.contracts.deliver import NoticeCode
from praktor_common.contracts.files import Attachment
from praktor_common.contracts.inbound import InboundMessage

from .parsing import SwarmCommand, SwarmSyntaxError, parse_agent_prefix, parse_swarm
from .smart import parse_route_answer, routing_prompt

__all__ = [
    "AgentsView",
    "Decision",
    "Refusal",
    "RouteReason",
    "SmartRouter",
    "ToAgent",
    "ToSwarm",
    "decide",
    "routing_text",
]

RouteReason = Literal["explicit", "reply", "prefix", "smart", "last_used", "default"]


@dataclass(frozen=True)
class AgentsView:
    """The defined agents (id → description) and the default one, from the live config."""

    descriptions: Mapping[str, str]
    default_agent: str | None = None

    def defined(self, agent_id: str | None) -> bool:
        return agent_id is not None and agent_id in self.descriptions


class SmartRouter(Protocol):
    async def ask(self, default_agent: str, prompt: str) -> bytes | None:
        """The default agent's raw answer to ``prompt``; ``None`` when it could not be asked."""
        ...


@dataclass(frozen=True)
class ToAgent:
    """Send ``text`` (and ``attachments``) to ``agent_id`` as one conversational turn."""

    agent_id: str
    text: str
    reason: RouteReason
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class ToSwarm:
    """Launch a swarm (``@swarm``)."""

    command: SwarmCommand


@dataclass(frozen=True)
class Refusal:
    """Nothing to send to an agent; tell the person why and what to do."""

    code: NoticeCode
    text: str


Decision = ToAgent | ToSwarm | Refusal


def routing_text(inbound: InboundMessage) -> str:
    """What routing reads: the transcript of a voice note, else the text or caption,
    else a placeholder naming the file(s)."""
    if inbound.voice_transcript and inbound.voice_transcript.strip():
        return inbound.voice_transcript.strip()
    body = inbound.text or inbound.caption or ""
    if body:
        return body
    if len(inbound.attachments) == 1:
        return f"I'm sending you a file: {inbound.attachments[0].name}"
    return f"I'm sending you {len(inbound.attachments)} files"


def _agent_text(inbound: InboundMessage, cleaned: str) -> str:
    """The turn's text once routing removed its prefix from ``cleaned``."""
    transcript = (inbound.voice_transcript or "").strip()
    if not transcript:
        return cleaned
    body = inbound.text or inbound.caption or ""
    spoken = f"[Voice message] {cleaned}"
    return f"{spoken}\n\n{body}" if body else spoken


def _attachments(inbound: InboundMessage) -> tuple[Attachment, ...]:
    """A transcribed voice note is not saved as a file (spec §11.4); a video note is."""
    transcribed = bool((inbound.voice_transcript or "").strip())
    return tuple(a for a in inbound.attachments if not (transcribed and a.kind == "voice"))


def _unknown_agent(agent_id: str, agents: AgentsView) -> Refusal:
    defined = ", ".join(sorted(agents.descriptions)) or "none"
    return Refusal(
        "agent_not_found",
        f"There is no agent *{agent_id}*. Defined agents: {defined}. Send /agents to see them.",
    )


def _swarm(text: str, agents: AgentsView) -> ToSwarm | Refusal:
    parsed = parse_swarm(text, known_agents=list(agents.descriptions))
    if isinstance(parsed, SwarmSyntaxError):
        return Refusal("swarm_failed", parsed.message)
    return ToSwarm(parsed)


async def decide(
    inbound: InboundMessage,
    agents: AgentsView,
    *,
    last_used: str | None = None,
    smart: SmartRouter | None = None,
) -> Decision:
    """Route ``inbound`` (see the module's rules)."""
    text = routing_text(inbound)
    files = _attachments(inbound)

    def to(agent_id: str, cleaned: str, reason: RouteReason) -> ToAgent:
        return ToAgent(agent_id, _agent_text(inbound, cleaned), reason, files)

    if inbound.agent_id is not None:
        if not agents.defined(inbound.agent_id):
            return _unknown_agent(inbound.agent_id, agents)
        return to(inbound.agent_id, text, "explicit")

    reply = inbound.reply_to
    if reply is not None and reply.agent_id is not None and agents.defined(reply.agent_id):
        routed = to(reply.agent_id, text, "reply")
        if reply.text:
            quoted = f"[Replying to message: {reply.text}]\n\n{routed.text}"
            return ToAgent(routed.agent_id, quoted, "reply", files)
        return routed

    prefix = parse_agent_prefix(text, list(agents.descriptions))
    if prefix is not None and prefix.swarm:
        return _swarm(prefix.text, agents)
    if prefix is not None:
        return to(prefix.agent_id, prefix.text or text, "prefix")

    default = agents.default_agent if agents.defined(agents.default_agent) else None
    if smart is not None and default is not None and len(agents.descriptions) > 1:
        answer = await smart.ask(default, routing_prompt(agents.descriptions, text))
        chosen = parse_route_answer(answer, agents.descriptions) if answer is not None else None
        if chosen is not None:
            return to(chosen, text, "smart")

    if last_used is not None and agents.defined(last_used):
        return to(last_used, text, "last_used")
    if default is not None:
        return to(default, text, "default")
    if not agents.descriptions:
        return Refusal(
            "routing_failed",
            "No agents are configured yet. Add one under `agents:` in the config, "
            "then send your message again.",
        )
    return Refusal(
        "routing_failed",
        "I couldn't route this message: no default agent is configured. "
        "Start it with `@agent_name`, or set `router.default_agent` in the config.",
    )
