"""Bus benchmark: inbound message published → handled by the router's durable consumer.

Runs a private authenticated nats-server (from the wheel), declares the streams,
starts a FastStream broker with the router's identity subscribed to its
partitioned INBOUND consumers, and publishes N inbound messages as the
Telegram gateway (JetStream publish, waiting for the stream's ack). Prints
publish-ack latency and end-to-end latency (publish → handler) percentiles and
throughput, and writes them to bench/results/bus_latency.json.

    uv run --no-sync python bench/bus_latency.py [--messages 2000] [--chats 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from praktor_common import streams, subjects
from praktor_common.bus import durable_subscriber, make_broker, publish_model
from praktor_common.contracts.inbound import InboundMessage
from praktor_common.contracts.origin import Origin
from praktor_common.identities import Authority
from praktor_common.ids import new_id
from praktor_common.testing.nats import start_nats_server

RESULTS = Path(__file__).parent / "results" / "bus_latency.json"


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "p50_ms": round(pick(0.50), 3),
        "p95_ms": round(pick(0.95), 3),
        "p99_ms": round(pick(0.99), 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


async def run(messages: int, chats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        authority = Authority.load_or_create(Path(tmp) / "authority")
        server = start_nats_server(authority, Path(tmp) / "nats")
        try:
            admin = await server.connect("cli-admin")
            await streams.ensure_streams(admin.jetstream())
            sent: dict[str, float] = {}
            done: dict[str, float] = {}
            finished = asyncio.Event()

            router = make_broker(server.settings("router"), identity="router")

            @durable_subscriber(router, streams.durable_consumers("router")[0])
            async def handle(message: InboundMessage) -> None:
                done[message.msg_id] = time.perf_counter()
                if len(done) >= messages:
                    finished.set()

            gateway = make_broker(server.settings("gateway-telegram"), identity="gateway-telegram")
            await router.start()
            await gateway.connect()
            ack_latency: list[float] = []
            start = time.perf_counter()
            for i in range(messages):
                chat = str(1000 + i % chats)
                msg = InboundMessage(
                    dedupe_id=f"bench-{i}",
                    msg_id=new_id(),
                    origin=Origin(channel="telegram", chat_id=chat, user_id="42"),
                    sender_name="bench",
                    text=f"message {i}",
                    received_at=datetime.now(UTC),
                )
                t0 = time.perf_counter()
                sent[msg.msg_id] = t0
                await publish_model(
                    gateway, subjects.inbound("telegram", chat), msg, msg_id=msg.dedupe_id
                )
                ack_latency.append(time.perf_counter() - t0)
            await asyncio.wait_for(finished.wait(), 300)
            elapsed = time.perf_counter() - start
            end_to_end = [done[k] - sent[k] for k in done]
            await gateway.stop()
            await router.stop()
            await admin.close()
        finally:
            server.embedded.stop()
    return {
        "benchmark": "bus_latency",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "messages": messages,
        "chats": chats,
        "publish_ack": percentiles(ack_latency),
        "publish_to_handler": percentiles(end_to_end),
        "throughput_msgs_per_s": round(messages / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.messages, args.chats))
    print(json.dumps(result, indent=2))
    if not args.no_save:
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
