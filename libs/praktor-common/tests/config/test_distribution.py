"""The config on the bus: a publisher validates the file, followers get every change.

Runs against a real nats-server with JetStream (see conftest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from structlog.testing import capture_logs

from praktor_common.config.diff import ConfigDiff
from praktor_common.config.distribution import (
    NO_CONFIG_YET,
    ConfigFollower,
    ConfigPublisher,
    ConfigUnavailableError,
    config_bucket,
    decode_envelope,
)
from praktor_common.config.model import PraktorConfig
from praktor_common.subjects import CONFIG_KV_BUCKET, CONFIG_KV_KEY

pytestmark = pytest.mark.integration

BASE_ENV = {"TZ": "UTC", "HOME": "/home/tester"}
ONE_AGENT = "agents:\n  coder: {description: writes code}\nrouter: {default_agent: coder}\n"
TWO_AGENTS = (
    "agents:\n  coder: {description: writes code}\n  writer: {}\nrouter: {default_agent: coder}\n"
)
WAIT = 10.0

Change = tuple[PraktorConfig, PraktorConfig, ConfigDiff]


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


@contextlib.asynccontextmanager
async def watching(publisher: ConfigPublisher) -> AsyncIterator[None]:
    task = asyncio.create_task(publisher.watch())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def following(
    js: JetStreamContext,
) -> AsyncIterator[tuple[ConfigFollower, asyncio.Queue[Change]]]:
    follower = ConfigFollower(js, start_timeout=WAIT)
    changes: asyncio.Queue[Change] = asyncio.Queue()

    async def record(old: PraktorConfig, new: PraktorConfig, diff: ConfigDiff) -> None:
        await changes.put((old, new, diff))

    follower.on_change(record)
    await follower.start()
    try:
        yield follower, changes
    finally:
        await follower.stop()


async def next_change(changes: asyncio.Queue[Change]) -> Change:
    return await asyncio.wait_for(changes.get(), WAIT)


async def test_a_published_config_reaches_a_follower(tmp_path: Path, js: JetStreamContext) -> None:
    path = tmp_path / "praktor.yaml"
    write(path, ONE_AGENT + "vault: {passphrase: 'p$ss'}\n")
    outcome = await ConfigPublisher(path, js, environ=BASE_ENV).publish()
    assert outcome.status == "published"
    assert outcome.revision is not None

    async with following(js) as (follower, _):
        assert list(follower.current.agents) == ["coder"]
        assert follower.current.vault.passphrase.get_secret_value() == "p$ss"
        assert follower.revision == outcome.revision


async def test_an_unchanged_config_is_not_put_again(tmp_path: Path, js: JetStreamContext) -> None:
    path = tmp_path / "praktor.yaml"
    write(path, ONE_AGENT)
    first = await ConfigPublisher(path, js, environ=BASE_ENV).publish()
    write(path, "# same config, other text\n" + ONE_AGENT)
    again = await ConfigPublisher(path, js, environ=BASE_ENV).publish()
    assert again.status == "unchanged"
    assert again.sha256 == first.sha256
    kv = await js.key_value(CONFIG_KV_BUCKET)
    assert (await kv.get(CONFIG_KV_KEY)).revision == first.revision


async def test_the_bucket_is_created_once_and_keeps_a_few_revisions(js: JetStreamContext) -> None:
    await config_bucket(js)
    kv = await config_bucket(js)
    assert (await kv.status()).history == 5


async def test_a_file_edit_fires_the_callback_with_the_diff(
    tmp_path: Path, js: JetStreamContext
) -> None:
    path = tmp_path / "praktor.yaml"
    write(path, ONE_AGENT)
    publisher = ConfigPublisher(path, js, environ=BASE_ENV, poll_interval=0.05)
    async with watching(publisher), following(js) as (follower, changes):
        write(path, TWO_AGENTS)
        old, new, diff = await next_change(changes)
        assert list(old.agents) == ["coder"]
        assert list(new.agents) == ["coder", "writer"]
        assert diff.agents_added == ("writer",)
        assert follower.current == new


async def test_an_invalid_edit_is_refused_and_followers_keep_the_last_good_config(
    tmp_path: Path, js: JetStreamContext
) -> None:
    path = tmp_path / "praktor.yaml"
    write(path, ONE_AGENT)
    publisher = ConfigPublisher(path, js, environ=BASE_ENV, poll_interval=0.05)
    async with watching(publisher), following(js) as (follower, changes):
        good = follower.current
        with capture_logs() as logs:
            write(path, ONE_AGENT + "web: {port: 0}\n")
            for _ in range(200):
                if publisher.last_outcome and publisher.last_outcome.status == "refused":
                    break
                await asyncio.sleep(0.05)
        outcome = publisher.last_outcome
        assert outcome is not None
        assert outcome.status == "refused"
        assert outcome.error is not None
        assert "web.port: 0 — must be 1 or more" in str(outcome.error)
        assert any(
            entry["log_level"] == "error" and "web.port: 0" in entry.get("error", "")
            for entry in logs
        )
        assert follower.current == good
        kv = await js.key_value(CONFIG_KV_BUCKET)
        _, stored = decode_envelope((await kv.get(CONFIG_KV_KEY)).value or b"")
        assert stored == good

        write(path, TWO_AGENTS)  # fixed: published again
        _, new, diff = await next_change(changes)
        assert diff.agents_added == ("writer",)
        assert new.web.port == 8080


async def test_trigger_rereads_the_file_like_sighup(tmp_path: Path, js: JetStreamContext) -> None:
    path = tmp_path / "praktor.yaml"
    write(path, ONE_AGENT)
    publisher = ConfigPublisher(path, js, environ=BASE_ENV, poll_interval=3600)
    async with watching(publisher), following(js) as (_, changes):
        write(path, TWO_AGENTS)
        await asyncio.sleep(0.2)
        assert changes.empty()  # no poll for an hour: only the trigger can publish
        publisher.trigger()
        _, new, _ = await next_change(changes)
        assert "writer" in new.agents


async def test_a_file_created_after_start_is_picked_up(
    tmp_path: Path, js: JetStreamContext
) -> None:
    path = tmp_path / "praktor.yaml"
    publisher = ConfigPublisher(path, js, environ=BASE_ENV, poll_interval=0.05)
    async with watching(publisher), following(js) as (follower, changes):
        assert follower.current.agents == {}  # no file: the defaults are published
        write(path, ONE_AGENT)
        _, new, diff = await next_change(changes)
        assert list(new.agents) == ["coder"]
        assert diff.agents_added == ("coder",)


async def test_a_removed_file_keeps_the_last_published_config(
    tmp_path: Path, js: JetStreamContext
) -> None:
    path = tmp_path / "praktor.yaml"
    write(path, ONE_AGENT)
    publisher = ConfigPublisher(path, js, environ=BASE_ENV)
    assert (await publisher.publish()).status == "published"
    path.unlink()
    outcome = await publisher.publish()
    assert outcome.status == "refused"
    assert "the file was removed — restore it" in str(outcome.error)
    async with following(js) as (follower, _):
        assert list(follower.current.agents) == ["coder"]


async def test_restart_needing_changes_are_logged_by_name(
    tmp_path: Path, js: JetStreamContext
) -> None:
    path = tmp_path / "praktor.yaml"
    write(path, ONE_AGENT)
    publisher = ConfigPublisher(path, js, environ=BASE_ENV)
    await publisher.publish()
    async with following(js) as (_, changes):
        with capture_logs() as logs:
            write(path, ONE_AGENT + "web: {port: 9090}\n")
            await publisher.publish()
            _, _, diff = await next_change(changes)
        assert diff.non_reloadable == ("web.port",)
        warnings = [entry["event"] for entry in logs if entry["log_level"] == "warning"]
        assert warnings == ["restart the service to apply: web.port"]


async def test_a_failing_callback_does_not_stop_the_others(
    tmp_path: Path, js: JetStreamContext
) -> None:
    path = tmp_path / "praktor.yaml"
    write(path, ONE_AGENT)
    publisher = ConfigPublisher(path, js, environ=BASE_ENV)
    await publisher.publish()
    follower = ConfigFollower(js, start_timeout=WAIT)
    seen: asyncio.Queue[ConfigDiff] = asyncio.Queue()

    @follower.on_change
    async def broken(old: PraktorConfig, new: PraktorConfig, diff: ConfigDiff) -> None:
        raise RuntimeError("boom")

    @follower.on_change
    async def working(old: PraktorConfig, new: PraktorConfig, diff: ConfigDiff) -> None:
        await seen.put(diff)

    async with follower:
        write(path, TWO_AGENTS)
        await publisher.publish()
        assert (await asyncio.wait_for(seen.get(), WAIT)).agents_added == ("writer",)
        write(path, ONE_AGENT)
        await publisher.publish()
        assert (await asyncio.wait_for(seen.get(), WAIT)).agents_removed == ("writer",)


async def test_a_value_that_does_not_validate_is_skipped_by_followers(
    tmp_path: Path, js: JetStreamContext
) -> None:
    path = tmp_path / "praktor.yaml"
    write(path, ONE_AGENT)
    publisher = ConfigPublisher(path, js, environ=BASE_ENV)
    await publisher.publish()
    async with following(js) as (follower, changes):
        kv = await js.key_value(CONFIG_KV_BUCKET)
        with capture_logs() as logs:
            await kv.put(CONFIG_KV_KEY, b'{"format": 1, "config": {"web": {"port": "x"}}}')
            await kv.put(CONFIG_KV_KEY, b"not json")
            write(path, TWO_AGENTS)
            await publisher.publish()
            _, new, _ = await next_change(changes)
        assert "writer" in new.agents
        assert follower.current == new
        refused = [entry for entry in logs if entry["log_level"] == "error"]
        assert len(refused) == 2
        assert "web.port: 'x' — must be a whole number" in refused[0]["error"]


async def test_a_follower_without_a_published_config_says_what_to_run(
    js: JetStreamContext,
) -> None:
    follower = ConfigFollower(js, start_timeout=0.3)
    with pytest.raises(ConfigUnavailableError) as caught:
        await follower.start()
    assert str(caught.value).startswith(NO_CONFIG_YET)
    assert NO_CONFIG_YET == (
        "no config published on the bus yet: is `praktor up` / `praktor config publish` running?"
    )


async def test_a_follower_started_before_the_publisher_gets_the_first_config(
    tmp_path: Path, js: JetStreamContext
) -> None:
    path = tmp_path / "praktor.yaml"
    write(path, ONE_AGENT)
    follower = ConfigFollower(js, start_timeout=WAIT)
    starting = asyncio.create_task(follower.start())
    await asyncio.sleep(0.3)
    await ConfigPublisher(path, js, environ=BASE_ENV).publish()
    config = await asyncio.wait_for(starting, WAIT)
    assert list(config.agents) == ["coder"]
    await follower.stop()
