"""The routing decision (spec §8, §11.4-11.5, §20 item 15), one row per rule.

Smart routing is the one question routing asks; here a scripted
:class:`Answers` plays the default agent (its reply, no answer, or nonsense).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from praktor_common.contracts.files import Attachment, AttachmentKind
from praktor_common.contracts.inbound import InboundMessage, ReplyTo
from praktor_common.contracts.origin import Origin
from praktor_router.decision import (
    AgentsView,
    Decision,
    Refusal,
    ToAgent,
    ToSwarm,
    decide,
    routing_text,
)
from praktor_router.parsing import SwarmCommand, Synapse

ORIGIN = Origin(channel="telegram", chat_id="42", user_id="7", message_id="100")
AGENTS = AgentsView(
    {"general": "Everyday questions", "coder": "Writes code", "writer": "Writes prose"},
    default_agent="general",
)
ONE_AGENT = AgentsView({"general": "Everyday questions"}, default_agent="general")


@dataclass
class Answers:
    """The default agent's answer to the routing question (``None``: it could not be asked)."""

    answer: bytes | None
    asked: list[tuple[str, str]] = field(default_factory=list)

    async def ask(self, default_agent: str, prompt: str) -> bytes | None:
        self.asked.append((default_agent, prompt))
        return self.answer


def attachment(name: str, kind: AttachmentKind = "document") -> Attachment:
    return Attachment(bucket="praktor-files", key=f"k/{name}", name=name, size=3, kind=kind)


def inbound(text: str = "", **fields: object) -> InboundMessage:
    return InboundMessage.model_validate(
        {"dedupe_id": "telegram:1", "origin": ORIGIN, "text": text, **fields}
    )


async def route(
    message: InboundMessage,
    agents: AgentsView = AGENTS,
    *,
    last_used: str | None = None,
    answer: bytes | None = None,
) -> Decision:
    return await decide(message, agents, last_used=last_used, smart=Answers(answer))


CASES: list[tuple[str, InboundMessage, dict[str, object], Decision]] = [
    (
        "an explicit target skips routing",
        inbound("hi", agent_id="writer"),
        {"answer": b'{"agent": "coder"}'},
        ToAgent("writer", "hi", "explicit"),
    ),
    (
        "a reply to an agent's message goes to that agent, quoting it",
        inbound("and tests?", reply_to=ReplyTo(message_id="9", agent_id="coder", text="Done.")),
        {"answer": b'{"agent": "writer"}'},
        ToAgent("coder", "[Replying to message: Done.]\n\nand tests?", "reply"),
    ),
    (
        "a reply wins over an @agent prefix (upstream order)",
        inbound("@writer polish", reply_to=ReplyTo(message_id="9", agent_id="coder")),
        {},
        ToAgent("coder", "@writer polish", "reply"),
    ),
    (
        "a reply to an agent that is no longer defined routes normally",
        inbound("hello", reply_to=ReplyTo(message_id="9", agent_id="gone", text="old")),
        {"answer": None},
        ToAgent("general", "hello", "default"),
    ),
    (
        "@agent prefix routes there and strips the prefix",
        inbound("@coder fix the bug"),
        {"answer": b'{"agent": "writer"}'},
        ToAgent("coder", "fix the bug", "prefix"),
    ),
    (
        "a bare @agent keeps the original text (nothing else to send)",
        inbound("@coder"),
        {},
        ToAgent("coder", "@coder", "prefix"),
    ),
    (
        "an unknown @name is not an error: the text is routed unchanged",
        inbound("@nobody hi"),
        {"answer": None},
        ToAgent("general", "@nobody hi", "default"),
    ),
    (
        "smart routing: the default agent names a defined agent",
        inbound("write a haiku"),
        {"answer": b'{"agent": "writer"}'},
        ToAgent("writer", "write a haiku", "smart"),
    ),
    (
        "smart routing: a plain-text answer is read as the name",
        inbound("refactor this"),
        {"answer": b"  coder\n"},
        ToAgent("coder", "refactor this", "smart"),
    ),
    (
        "smart routing: an unknown name falls back to the default agent",
        inbound("hello"),
        {"answer": b'{"agent": "poet"}'},
        ToAgent("general", "hello", "default"),
    ),
    (
        "smart routing: a chatty answer falls back",
        inbound("hello"),
        {"answer": b"I think coder would be best"},
        ToAgent("general", "hello", "default"),
    ),
    (
        "smart routing: no answer (timeout) falls back to the chat's last agent",
        inbound("and now?"),
        {"answer": None, "last_used": "writer"},
        ToAgent("writer", "and now?", "last_used"),
    ),
    (
        "a last agent that is no longer defined is ignored",
        inbound("and now?"),
        {"answer": None, "last_used": "gone"},
        ToAgent("general", "and now?", "default"),
    ),
    (
        "with one agent there is no routing question: the default agent",
        inbound("hello"),
        {"agents": ONE_AGENT, "answer": b'{"agent": "coder"}'},
        ToAgent("general", "hello", "default"),
    ),
    (
        "a bare file is routed on a placeholder naming it",
        inbound(attachments=[attachment("report.pdf")]),
        {"answer": None},
        ToAgent(
            "general",
            "I'm sending you a file: report.pdf",
            "default",
            (attachment("report.pdf"),),
        ),
    ),
    (
        "an album without caption: one turn with every file",
        inbound(attachments=[attachment("a.jpg", "photo"), attachment("b.jpg", "photo")]),
        {"answer": None},
        ToAgent(
            "general",
            "I'm sending you 2 files",
            "default",
            (attachment("a.jpg", "photo"), attachment("b.jpg", "photo")),
        ),
    ),
    (
        "an album with a caption is routed on the caption",
        inbound(
            caption="@writer describe these",
            attachments=[attachment("a.jpg", "photo"), attachment("b.jpg", "photo")],
        ),
        {},
        ToAgent(
            "writer",
            "describe these",
            "prefix",
            (attachment("a.jpg", "photo"), attachment("b.jpg", "photo")),
        ),
    ),
    (
        "a voice note is routed on its transcript, and its audio is not passed on",
        inbound(voice_transcript="write me a poem", attachments=[attachment("voice.ogg", "voice")]),
        {"answer": b'{"agent": "writer"}'},
        ToAgent("writer", "[Voice message] write me a poem", "smart"),
    ),
    (
        "a video note keeps its video and its caption after the transcript",
        inbound(
            caption="see this",
            voice_transcript="look at my desk",
            attachments=[attachment("videonote.mp4", "video_note")],
        ),
        {"answer": None},
        ToAgent(
            "general",
            "[Voice message] look at my desk\n\nsee this",
            "default",
            (attachment("videonote.mp4", "video_note"),),
        ),
    ),
    (
        "@swarm with a pipeline becomes a swarm with the last agent leading",
        inbound("@swarm coder>writer: ship the release notes"),
        {},
        ToSwarm(
            SwarmCommand(
                agents=("coder", "writer"),
                lead="writer",
                synapses=(Synapse("coder", "writer", bidirectional=False),),
                task="ship the release notes",
                pipeline=True,
            )
        ),
    ),
]


@pytest.mark.parametrize(
    ("message", "options", "expected"),
    [pytest.param(m, o, e, id=name) for name, m, o, e in CASES],
)
async def test_routing_rule(
    message: InboundMessage, options: dict[str, object], expected: Decision
) -> None:
    agents = options.get("agents", AGENTS)
    assert isinstance(agents, AgentsView)
    last = options.get("last_used")
    assert last is None or isinstance(last, str)
    answer = options.get("answer")
    assert answer is None or isinstance(answer, bytes)
    assert await route(message, agents, last_used=last, answer=answer) == expected


async def test_an_explicit_target_that_is_not_defined_is_refused_with_the_defined_agents() -> None:
    decision = await route(inbound("hi", agent_id="ghost"))
    assert isinstance(decision, Refusal)
    assert decision.code == "agent_not_found"
    assert "*ghost*" in decision.text
    assert "coder, general, writer" in decision.text


async def test_a_swarm_with_an_unknown_agent_is_refused_with_the_parser_message() -> None:
    decision = await route(inbound("@swarm coder>poet: rhyme"))
    assert isinstance(decision, Refusal)
    assert decision.code == "swarm_failed"
    assert decision.text.startswith("unknown agent: poet.")


async def test_a_swarm_without_separator_gets_the_syntax_help() -> None:
    decision = await route(inbound("@swarm coder writer do it"))
    assert isinstance(decision, Refusal)
    assert "Missing `: `" in decision.text
    assert "@swarm researcher>writer" in decision.text


async def test_the_routing_question_lists_every_agent_and_the_message() -> None:
    answers = Answers(b'{"agent": "coder"}')
    await decide(inbound("fix it"), AGENTS, smart=answers)
    [(asked, prompt)] = answers.asked
    assert asked == "general"
    assert "- coder: Writes code\n- general: Everyday questions\n- writer: Writes prose" in prompt
    assert "User message: fix it" in prompt


async def test_routing_asks_nothing_when_a_prefix_decides() -> None:
    answers = Answers(b'{"agent": "writer"}')
    await decide(inbound("@coder go"), AGENTS, smart=answers)
    assert answers.asked == []


async def test_without_a_smart_router_the_default_agent_answers() -> None:
    decision = await decide(inbound("hello"), AGENTS)
    assert decision == ToAgent("general", "hello", "default")


async def test_no_default_agent_and_no_rule_is_refused_with_what_to_do() -> None:
    agents = AgentsView({"coder": "", "writer": ""}, default_agent=None)
    decision = await route(inbound("hello"), agents)
    assert isinstance(decision, Refusal)
    assert decision.code == "routing_failed"
    assert "router.default_agent" in decision.text
    assert "@agent_name" in decision.text


async def test_no_agents_at_all_is_refused_with_what_to_do() -> None:
    decision = await route(inbound("hello"), AgentsView({}, None))
    assert isinstance(decision, Refusal)
    assert "No agents are configured" in decision.text


def test_routing_text_prefers_the_transcript_then_text_then_caption() -> None:
    assert routing_text(inbound("typed", voice_transcript=" spoken ")) == "spoken"
    assert routing_text(inbound("typed", caption="cap")) == "typed"
    assert routing_text(inbound(caption="cap", attachments=[attachment("x.png")])) == "cap"
