"""Agents in containers through the whole suite: ``praktor up`` with the docker runtime.

The same person-on-the-``cli``-channel scenarios as the process runtime's, with a real
container engine (Podman's Docker API in ``make test-docker``) and the real agent image
(``praktor agent-image build``): the agent-runner and Claude Code run inside a
container on the agents' bridge network and reach the embedded NATS and the model
proxy through the gateway relays ``praktor up`` sets up. Only the model API is a fake.

One suite serves the module and the tests run in order.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator
from typing import Any, Final

import aiodocker
import pytest
import pytest_asyncio

from praktor_common.supervisor.engine import engine_answers
from praktor_common.supervisor.runtime_choice import image_present
from praktor_common.supervisor.state import SuiteState, read_state
from praktor_common.testing.fake_anthropic import ThreadedFakeAnthropic, text_reply
from tests.e2e.agent_harness import (
    API_KEY,
    MODEL,
    Chat,
    agent_root,
    agents_config,
    assert_browser_offered,
    assert_claude_md_and_web_tools_reached,
    eventually,
    query,
    start_docker_agent_suite,
    stop_mid_turn_then_talk_on,
    store_then_recall_a_memory,
    write_claude_md,
)
from tests.e2e.harness import Suite

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.asyncio(loop_scope="module")]

IMAGE: Final = os.environ.get("PRAKTOR_TEST_AGENT_IMAGE", "praktor-agent:latest")
MISSING_IMAGE: Final = "praktor-agent:never-built-e2e"
RETRY_NOTE: Final = "[Praktor: this message is delivered again"
AGENTS: Final = {
    "general": {"description": "General assistant"},
    "ghost": {"description": "Its image was never built", "image": MISSING_IMAGE},
}


@pytest.fixture(scope="module")
def docker_host() -> str:
    """The engine at DOCKER_HOST, holding the agent image (``make test-docker`` builds it)."""
    host = os.environ.get("DOCKER_HOST", "")
    socket = host.removeprefix("unix://")
    if not host.startswith("unix://") or not engine_answers(socket):
        pytest.skip(
            "no container engine answers at DOCKER_HOST; run `make test-docker` "
            "(it starts Podman with scripts/podman-setup.sh and builds the agent image)"
        )
    if not image_present(socket, IMAGE):
        message = f"the agent image {IMAGE} is not built; run `praktor agent-image build`"
        if "PRAKTOR_TEST_AGENT_IMAGE" in os.environ:
            pytest.fail(message)  # the tier was asked to test this image: its absence is a bug
        pytest.skip(message)
    return host


@pytest.fixture(scope="module")
def model() -> Iterator[ThreadedFakeAnthropic]:
    with ThreadedFakeAnthropic() as served:
        yield served


@pytest.fixture(scope="module")
def suite(docker_host: str, model: ThreadedFakeAnthropic) -> Iterator[Suite]:
    config = agents_config(model.base_url, AGENTS)
    with start_docker_agent_suite(config, docker_host, IMAGE) as running:
        write_claude_md(running, "general")
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def docker(docker_host: str) -> AsyncIterator[aiodocker.Docker]:
    async with aiodocker.Docker(url=docker_host) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def chat(suite: Suite) -> AsyncIterator[Chat]:
    opened = await Chat.open(suite)
    try:
        yield opened
    finally:
        await opened.close()


async def agent_container(docker: aiodocker.Docker, suite: Suite, agent_id: str) -> dict[str, Any]:
    """``inspect`` of the agent's running container."""
    state = read_state(suite.data_dir / "run" / "state.json")
    assert state is not None
    filters = {"label": [f"praktor.install={state.install_id}", f"praktor.agent={agent_id}"]}
    [container] = await docker.containers.list(filters=filters)
    info: dict[str, Any] = await container.show()
    return info


def env_of(info: dict[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in info["Config"]["Env"])


async def test_auto_runs_agents_in_containers_when_the_agent_image_is_built(suite: Suite) -> None:
    state = read_state(suite.data_dir / "run" / "state.json")
    assert state is not None
    assert state.runtime == "docker"
    assert state.runtime_note == ""
    assert state.nats_url.startswith("nats://127.0.0.1:"), "NATS stays on the loopback"
    assert "agent containers reach NATS and the model proxy at" in suite.output()
    assert not any("isolated" in warning for warning in suite.status()["warnings"])


async def test_a_message_in_is_answered_on_deliver_by_the_agent_in_its_container(
    chat: Chat, model: ThreadedFakeAnthropic, docker: aiodocker.Docker
) -> None:
    model.fake.reply_text("Hello from a container.", chunks=3, chunk_delay=0.05)

    message = await chat.send("Hi there", agent_id="general")
    final = await chat.final(message.msg_id, within=180)

    assert final.content == "Hello from a container."
    assert final.origin == message.origin
    assert chat.of(message.msg_id, "text"), "partial text is delivered while the model writes"
    [request] = model.fake.conversation
    assert request.last_user_text().endswith("Hi there")
    assert request.model == MODEL
    stored = await query(
        chat.suite, "select role, content from messages where agent_id = 'general' order by id"
    )
    assert {"role": "assistant", "content": "Hello from a container."} in stored

    info = await agent_container(docker, chat.suite, "general")
    network = chat.suite.env["PRAKTOR_AGENT_NETWORK"]
    gateway = (await (await docker.networks.get(network)).show())["IPAM"]["Config"][0]["Gateway"]
    env = env_of(info)
    assert info["Config"]["User"] == "10321:10321"
    assert list(info["NetworkSettings"]["Networks"]) == [network]
    assert env["PRAKTOR_NATS_URL"].startswith(f"nats://{gateway}:")
    assert env["ANTHROPIC_BASE_URL"].startswith(f"http://{gateway}:")
    assert env["ANTHROPIC_API_KEY"] != API_KEY, "the agent holds only its own proxy token"
    assert request.api_key == API_KEY, "the model proxy added the real key on the way"


async def test_claude_md_files_reach_the_model_in_the_container_with_the_web_tools(
    model: ThreadedFakeAnthropic,
) -> None:
    assert_claude_md_and_web_tools_reached(model.fake.conversation[0])


async def test_the_images_browser_is_offered_to_the_model(model: ThreadedFakeAnthropic) -> None:
    assert_browser_offered(model.fake.conversation[0])


async def test_a_memory_stored_in_one_turn_is_recalled_in_a_later_one_and_kept_in_the_database(
    chat: Chat, model: ThreadedFakeAnthropic
) -> None:
    await store_then_recall_a_memory(chat, model, "general")


async def test_stop_aborts_the_turn_in_the_container_and_the_agent_answers_the_next_message(
    chat: Chat, model: ThreadedFakeAnthropic
) -> None:
    await stop_mid_turn_then_talk_on(chat, model, "general")


async def test_a_container_killed_mid_turn_redoes_the_message_and_answers_it_once(
    chat: Chat, model: ThreadedFakeAnthropic, docker: aiodocker.Docker
) -> None:
    gate = model.hold()
    model.fake.queue(text_reply("Half an ans", hold=gate))
    model.fake.reply_text("Done on the second try.")
    before = len(model.fake.conversation)
    message = await chat.send("Do the thing.", agent_id="general")
    await model.wait_for_requests_async(before + 1, timeout=90)
    await eventually(lambda: bool(chat.of(message.msg_id, "text")), 30, "the turn to stream")
    killed = await agent_container(docker, chat.suite, "general")

    await docker.containers.container(killed["Id"]).kill(signal="SIGKILL")
    final = await chat.final(message.msg_id, within=180)
    model.release(gate)

    assert final.content == "Done on the second try."
    retried = model.fake.conversation[-1].last_user_text()
    assert retried.startswith(RETRY_NOTE)
    assert retried.endswith("Do the thing.")
    assert (await agent_container(docker, chat.suite, "general"))["Id"] != killed["Id"]
    await asyncio.sleep(3)  # time for a second answer, were there one
    assert len(chat.of(message.msg_id, "final")) == 1
    answers = await query(
        chat.suite,
        "select content from messages where agent_id = 'general' and role = 'assistant' "
        "and content = 'Done on the second try.'",
    )
    assert len(answers) == 1


async def test_a_killed_orchestrator_adopts_the_running_container_and_the_talk_goes_on(
    chat: Chat, model: ThreadedFakeAnthropic, docker: aiodocker.Docker
) -> None:
    before = await agent_container(docker, chat.suite, "general")

    await asyncio.to_thread(chat.suite.restart_service, "orchestrator", signal.SIGKILL)
    model.fake.reply_text("Still here.")
    message = await chat.send("Are you still there?", agent_id="general")

    assert (await chat.final(message.msg_id, within=120)).content == "Still here."
    assert (await agent_container(docker, chat.suite, "general"))["Id"] == before["Id"]
    earlier = model.fake.conversation[-1].message_texts("user")
    assert any(text.endswith("Hi there") for text in earlier), "the same session goes on"


async def test_an_agent_whose_image_is_missing_is_reported_to_whoever_wrote(chat: Chat) -> None:
    message = await chat.send("Hello?", agent_id="ghost")

    error = await chat.error(message.msg_id, within=90)

    assert error.notice is not None
    assert error.notice.code == "agent_unavailable"
    assert "Agent ghost could not start" in error.notice.text
    assert MISSING_IMAGE in error.notice.text
    assert "praktor agent-image build" in error.notice.text


def run_without_the_image(
    docker_host: str,
) -> tuple[Suite, SuiteState | None, dict[str, Any], str]:
    """Start and stop a suite whose agent image is not built: its state, status and doctor."""
    config = agents_config("http://127.0.0.1:9", {"general": {"description": "General"}})
    config["defaults"]["image"] = MISSING_IMAGE
    with agent_root() as root:
        running = Suite.create(root, config)
        running.env["DOCKER_HOST"] = docker_host
        try:
            running.start(timeout=240)
            state = read_state(running.data_dir / "run" / "state.json")
            status = running.status()
            doctor = running.praktor("doctor").stdout
        finally:
            running.stop()
    return running, state, status, doctor


async def test_without_the_agent_image_auto_runs_processes_and_every_view_says_how_to_build_it(
    docker_host: str,
) -> None:
    running, state, status, doctor = await asyncio.to_thread(run_without_the_image, docker_host)

    assert state is not None
    assert state.runtime == "process"
    hint = "run `praktor agent-image build`"
    assert f"the agent image {MISSING_IMAGE} is not on it" in running.output()
    assert hint in running.output()
    assert any(hint in warning for warning in status["warnings"])
    assert "praktor agent-image build" in doctor
    assert f"{MISSING_IMAGE} is not built" in doctor
