"""``praktor dlq``: list, show and replay dead letters (I/O functions and the CLI)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext
from typer.testing import CliRunner

from praktor_common import streams, subjects
from praktor_common.bus import (
    DeadLetterEntry,
    DeadLetterNotFoundError,
    OriginalGoneError,
    RetryBackoff,
    durable_subscriber,
    get_dead_letter,
    get_original,
    list_dead_letters,
    make_broker,
    publish_model,
    replay_dead_letter,
)
from praktor_common.cli.dlq import dlq_app
from praktor_common.contracts import InboundMessage, Origin
from praktor_common.identities import ADMIN_IDENTITY
from praktor_common.testing.nats import NatsTestServer, wait_until

pytestmark = pytest.mark.integration

ORIGIN = Origin(channel="telegram", chat_id="42")
BODY_MARKER = "please-remember-the-milk"


class Router:
    """A router replica whose handler can be broken and repaired."""

    def __init__(self, server: NatsTestServer) -> None:
        self.broken = True
        self.handled: list[str] = []
        self.broker = make_broker(
            server.settings("router"), "router", retry_backoff=RetryBackoff(base=0.01, cap=0.02)
        )

        @durable_subscriber(self.broker, streams.durable_consumers("router")[0], fetch_timeout=1)
        async def handle(message: InboundMessage) -> None:
            if self.broken:
                raise RuntimeError("not today")
            self.handled.append(message.text)


@pytest.fixture
async def dead_letter(
    fresh_streams: JetStreamContext, nats_clients: NatsTestServer
) -> AsyncIterator[tuple[Router, int]]:
    """One inbound message that failed every delivery; yields (router, its DLQ seq)."""
    router = Router(nats_clients)
    gateway = make_broker(nats_clients.settings("gateway-telegram"), "gateway-telegram")
    await router.broker.start()
    await gateway.connect()
    try:
        message = InboundMessage(dedupe_id="telegram:9", origin=ORIGIN, text=BODY_MARKER)
        await publish_model(gateway, subjects.inbound("telegram", 42), message, "telegram:9")
        entries: list[DeadLetterEntry] = []

        async def dead_lettered() -> bool:
            entries[:] = await list_dead_letters(fresh_streams)
            return bool(entries)

        await wait_until(dead_lettered, within=20)
        yield router, entries[0].seq
    finally:
        await gateway.stop()
        await router.broker.stop()


async def test_list_show_and_replay(
    fresh_streams: JetStreamContext, dead_letter: tuple[Router, int]
) -> None:
    router, seq = dead_letter
    [entry] = await list_dead_letters(fresh_streams)
    assert entry.seq == seq
    assert entry.time is not None
    assert entry.record.reason == "max_deliver"
    assert await list_dead_letters(fresh_streams, stream=streams.DELIVER) == []
    assert (await get_dead_letter(fresh_streams, seq)).record == entry.record

    original = await get_original(fresh_streams, entry.record)
    assert original.subject == "inbound.telegram.42"
    assert BODY_MARKER.encode() in original.data

    router.broken = False
    ack = await replay_dead_letter(fresh_streams, seq)
    assert ack.stream == streams.INBOUND
    assert ack.seq > entry.record.stream_seq
    await wait_until(lambda: router.handled == [BODY_MARKER])
    assert await list_dead_letters(fresh_streams) == []
    replayed = await fresh_streams.get_msg(streams.INBOUND, ack.seq)
    assert (replayed.headers or {})["Nats-Msg-Id"] != "telegram:9"
    with pytest.raises(DeadLetterNotFoundError):
        await get_dead_letter(fresh_streams, seq)


async def test_an_expired_original_cannot_be_replayed(
    fresh_streams: JetStreamContext, dead_letter: tuple[Router, int]
) -> None:
    _, seq = dead_letter
    entry = await get_dead_letter(fresh_streams, seq)
    await fresh_streams.delete_msg(streams.INBOUND, entry.record.stream_seq)
    with pytest.raises(OriginalGoneError):
        await replay_dead_letter(fresh_streams, seq)
    assert [e.seq for e in await list_dead_letters(fresh_streams)] == [seq]


async def test_the_cli_lists_shows_and_replays(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    dead_letter: tuple[Router, int],
) -> None:
    router, seq = dead_letter
    env = {
        "PRAKTOR_NATS_URL": nats_clients.url,
        "PRAKTOR_NATS_CREDS": str(nats_clients.creds_path(ADMIN_IDENTITY)),
        "COLUMNS": "200",
    }
    runner = CliRunner()

    async def cli(*args: str) -> str:
        result = await asyncio.to_thread(runner.invoke, dlq_app, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    listing = await cli("list")
    assert "INBOUND" in listing
    assert "inbound.telegram.42" in listing
    assert "max_deliver" in listing
    assert BODY_MARKER not in listing

    shown = await cli("show", str(seq))
    assert "RuntimeError: not today" in shown
    assert "(available)" in shown
    assert BODY_MARKER not in shown
    assert BODY_MARKER in await cli("show", str(seq), "--body")

    router.broken = False
    replayed = await cli("replay", str(seq))
    assert f"dead letter {seq} removed" in replayed
    assert "no dead letters" in await cli("list")

    missing = await asyncio.to_thread(runner.invoke, dlq_app, ["show", "99999"], env=env)
    assert missing.exit_code == 1
    assert "no dead letter 99999" in missing.output


def test_the_cli_says_what_to_do_without_a_bus(tmp_path: object) -> None:
    result = CliRunner().invoke(
        dlq_app, ["list"], env={"PRAKTOR_DATA_DIR": str(tmp_path), "PRAKTOR_NATS_URL": ""}
    )
    assert result.exit_code == 1
    assert "praktor up" in result.output
