"""make_broker: identity, inbox prefix, reconnect policy, refusal without a bus."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from nats.aio.client import Server

from praktor_common.bus import BusConfigError, broker_inbox_prefix, make_broker
from praktor_common.bus.broker import RECONNECT_CAP, reconnect_backoff
from praktor_common.settings import RuntimeSettings


def test_the_broker_speaks_with_the_identitys_inbox_prefix() -> None:
    broker = make_broker(RuntimeSettings(nats_url="nats://a:4222,nats://b:4222"), "scheduler")
    assert broker_inbox_prefix(broker) == "_INBOX_scheduler"


def test_without_a_bus_url_the_broker_refuses_with_what_to_do() -> None:
    with pytest.raises(BusConfigError, match="PRAKTOR_NATS_URL"):
        make_broker(RuntimeSettings(nats_url=None), "router")


def test_a_missing_creds_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "router.creds"
    with pytest.raises(BusConfigError, match=str(missing)):
        make_broker(RuntimeSettings(nats_url="nats://x:1", nats_creds=missing), "router")


def test_reconnect_backs_off_exponentially_up_to_the_cap() -> None:
    def delay(reconnects: int) -> float:
        server = Server(uri=urlparse("nats://a:4222"), reconnects=reconnects)
        picked, wait = reconnect_backoff([server], {})
        assert picked is server
        return wait

    assert 0.25 <= delay(0) <= 0.5
    assert 2.0 <= delay(3) <= 4.0
    assert RECONNECT_CAP / 2 <= delay(50) <= RECONNECT_CAP


def test_reconnect_prefers_the_server_that_failed_least() -> None:
    tired = Server(uri=urlparse("nats://a:4222"), reconnects=5)
    fresh = Server(uri=urlparse("nats://b:4222"), reconnects=0)
    assert reconnect_backoff([tired, fresh], {})[0] is fresh
