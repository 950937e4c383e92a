"""``praktor chat``: a message in as the ``cli`` channel, the answer read back from delivery."""

from __future__ import annotations

import asyncio

import pytest
from nats.js import JetStreamContext

from praktor_common import streams, subjects
from praktor_common.cli.chat import Conversation, chat_once
from praktor_common.contracts.deliver import Delivery, Notice
from praktor_common.contracts.inbound import InboundMessage
from praktor_common.contracts.origin import Origin
from praktor_common.identities import ADMIN_IDENTITY
from praktor_common.ids import new_id
from praktor_common.testing.nats import NatsTestServer

ORIGIN = Origin(channel="cli", chat_id="terminal-ada", user_id="terminal-ada")
M1, OTHER = new_id(), new_id()


def delivery(msg_id: str, kind: str, content: str = "", seq: int = 0, **extra: object) -> Delivery:
    values: dict[str, object] = {"msg_id": msg_id, "origin": ORIGIN, "kind": kind}
    values |= {"content": content, "seq": seq, "agent_id": "coder"} | extra
    return Delivery.model_validate(values)


def test_streamed_text_keeps_the_highest_snapshot_and_the_final_answer_ends_it() -> None:
    talk = Conversation(M1)
    talk.take(delivery(M1, "text", "Hel", seq=1))
    talk.take(delivery(M1, "text", "H", seq=0))
    talk.take(delivery(OTHER, "final", "not ours"))
    assert (talk.text, talk.done) == ("Hel", False)
    talk.take(delivery(M1, "final", "Hello!"))
    assert talk.done
    assert not talk.failed
    assert talk.lines == ["Hello!"]


def test_waiting_notices_keep_waiting_and_an_error_ends_with_failure() -> None:
    talk = Conversation(M1)
    wait = Notice(code="waiting_for_capacity", text="All 5 agents are busy; yours starts next.")
    talk.take(delivery(M1, "notice", notice=wait, agent_id=None))
    assert not talk.done
    gone = Notice(code="agent_unavailable", text="coder could not start: image missing.")
    talk.take(delivery(M1, "error", notice=gone, agent_id=None))
    assert talk.done
    assert talk.failed
    assert talk.lines == [wait.text, gone.text]


@pytest.mark.integration
async def test_a_message_goes_in_as_the_cli_channel_and_the_answer_comes_back(
    nats_clients: NatsTestServer, fresh_streams: JetStreamContext
) -> None:
    orchestrator = (await nats_clients.connect("orchestrator")).jetstream()
    admin = (await nats_clients.connect(ADMIN_IDENTITY)).jetstream()

    async def answer() -> InboundMessage:
        sub = await admin.pull_subscribe("inbound.cli.>", durable=None, stream=streams.INBOUND)
        while True:
            try:
                [msg] = await sub.fetch(1, timeout=1)
            except TimeoutError:
                continue
            inbound = InboundMessage.model_validate_json(msg.data)
            for piece in (
                delivery(inbound.msg_id, "text", "Thinking", seq=0),
                delivery(inbound.msg_id, "final", "42."),
            ):
                await orchestrator.publish(
                    subjects.deliver("cli", inbound.origin.chat_id),
                    piece.model_dump_json().encode(),
                    headers={"Nats-Msg-Id": new_id()},
                )
            return inbound

    responder = asyncio.create_task(answer())
    settings = nats_clients.settings(ADMIN_IDENTITY)
    talk = await chat_once(
        settings, "@coder what is six times seven?", chat="terminal-ada", agent=None, timeout=30
    )
    sent = await responder

    assert sent.text == "@coder what is six times seven?"
    assert sent.origin == ORIGIN
    assert talk.done
    assert not talk.failed
    assert talk.text == "Thinking"
