"""The process runtime: an unprivileged, labelled subprocess per agent that never loses data."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from praktor_common.identities import Credentials
from praktor_common.testing.nats import wait_until
from praktor_orchestrator.paths import AgentPaths
from praktor_orchestrator.runtime import (
    AgentDirs,
    AgentLaunch,
    ProcessRuntime,
    RuntimeStartError,
    procfs,
)

AS_ROOT = os.geteuid() == 0
CREDS = Credentials(
    identity="agent_coder",
    public_key="UTESTKEY",
    jwt="header.claims.signature",
    seed="SUTESTSEED",
    inbox_prefix="_INBOX_agent_coder",
)


def launch(data_dir: Path, agent_id: str = "coder") -> AgentLaunch:
    paths = AgentPaths(data_dir)
    return AgentLaunch(
        agent_id=agent_id,
        workspace=agent_id,
        image="unused",
        env={"DATA": str(data_dir)},
        credentials=CREDS,
        dirs=AgentDirs(
            workspace=paths.workspace_dir(agent_id),
            home=paths.home_dir(agent_id),
            runtime=paths.runtime_dir(agent_id),
            global_dir=paths.global_dir,
        ),
    )


Shell = Callable[..., ProcessRuntime]


@pytest.fixture
async def shell(data_dir: Path) -> AsyncIterator[Shell]:
    """Runtimes whose 'runner' is a shell script (the runtime does not care what it runs)."""
    made: list[ProcessRuntime] = []

    def make(script: str = "exec sleep 60", install_id: str = "pk-one") -> ProcessRuntime:
        runtime = ProcessRuntime(
            data_dir,
            AgentPaths(data_dir).state_dir,
            install_id,
            python=Path("/bin/sh"),
            args=["-c", script],
        )
        made.append(runtime)
        return runtime

    try:
        yield make
    finally:
        for runtime in made:
            for agent in runtime.running():
                await runtime.stop(agent, timeout=2)
            await runtime.close()


def written(data_dir: Path, name: str) -> Path:
    return AgentPaths(data_dir).workspace_dir("coder") / name


async def appears(path: Path) -> str:
    """The text of a file the script writes (it writes a temporary file, then renames it)."""
    await wait_until(path.exists, 10)
    return await asyncio.to_thread(lambda: path.read_text().strip())


@pytest.mark.skipif(not AS_ROOT, reason="switching users needs root")
async def test_as_root_the_agent_runs_unprivileged_and_reaches_only_its_own_files(
    shell: Shell, data_dir: Path
) -> None:
    secrets = data_dir / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / "vault-passphrase").write_text("hunter2")
    script = """
        cd "$PRAKTOR_WORKSPACE"
        if cat "$DATA/secrets/vault-passphrase" >/dev/null 2>&1; then r=read; else r=denied; fi
        if ls "$DATA" >/dev/null 2>&1; then l=listed; else l=denied; fi
        if head -c1 "$PRAKTOR_NATS_CREDS" >/dev/null 2>&1; then c=read; else c=denied; fi
        echo "$(id -u) $r $l $c" > probe.tmp && mv probe.tmp probe
        exec sleep 60
    """
    await shell(script).start(launch(data_dir))

    agent_uid = pwd.getpwnam("praktor-agent").pw_uid
    assert await appears(written(data_dir, "probe")) == f"{agent_uid} denied denied read"
    paths = AgentPaths(data_dir)
    creds = paths.runtime_dir("coder") / "nats.creds"
    assert (creds.stat().st_uid, creds.stat().st_mode & 0o777) == (agent_uid, 0o600)
    for own in (paths.workspace_dir("coder"), paths.home_dir("coder"), paths.runtime_dir("coder")):
        assert (own.stat().st_uid, own.stat().st_mode & 0o777) == (agent_uid, 0o700)
    assert paths.state_dir.stat().st_uid == 0
    assert paths.state_dir.stat().st_mode & 0o777 == 0o700


async def test_the_runner_gets_a_clean_environment_and_its_paths(
    shell: Shell, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRAKTOR_DATABASE_URL", "postgresql://u:p@h/db")
    script = 'cd "$PRAKTOR_WORKSPACE" && env > env.tmp && mv env.tmp env; exec sleep 60'
    await shell(script).start(launch(data_dir))

    lines = (await appears(written(data_dir, "env"))).splitlines()
    env = dict(line.split("=", 1) for line in lines if "=" in line)
    paths = AgentPaths(data_dir)
    assert "PRAKTOR_DATABASE_URL" not in env
    assert env["PRAKTOR_WORKSPACE"] == str(paths.workspace_dir("coder"))
    assert env["HOME"] == str(paths.home_dir("coder"))
    assert env["PRAKTOR_GLOBAL_DIR"] == str(paths.global_dir)
    assert env["PRAKTOR_NATS_CREDS"] == str(paths.runtime_dir("coder") / "nats.creds")
    assert env["PRAKTOR_INSTALL_ID"] == "pk-one"
    assert (paths.runtime_dir("coder") / "nats.creds").read_text() == CREDS.creds_text()


async def test_stop_ends_the_whole_process_group_and_keeps_the_workspace(
    shell: Shell, data_dir: Path
) -> None:
    runtime = shell('cd "$PRAKTOR_WORKSPACE"; sleep 300 & echo $! > c.tmp && mv c.tmp child; wait')
    await runtime.start(launch(data_dir))
    child = int(await appears(written(data_dir, "child")))
    assert procfs.is_alive(child, None)

    assert await runtime.stop("coder", timeout=5) is True

    assert not procfs.is_alive(child, None)
    assert not await runtime.is_running("coder")
    assert written(data_dir, "child").exists()
    assert AgentPaths(data_dir).home_dir("coder").is_dir()
    assert not (AgentPaths(data_dir).runtime_dir("coder") / "nats.creds").exists()
    assert await runtime.stop("coder") is False


async def test_a_runner_that_ends_by_itself_is_reported_with_its_exit_code(
    shell: Shell, data_dir: Path
) -> None:
    runtime = shell("echo bye; exit 7")
    ended: list[tuple[str, int | None]] = []

    async def on_exit(agent_id: str, code: int | None) -> None:
        ended.append((agent_id, code))

    runtime.on_exit(on_exit)
    await runtime.start(launch(data_dir))

    await wait_until(lambda: ended == [("coder", 7)], 10)
    assert await runtime.exit_code("coder") == 7
    assert "bye" in await runtime.logs("coder")


async def test_a_missing_interpreter_is_a_start_error_naming_it(data_dir: Path) -> None:
    runtime = ProcessRuntime(
        data_dir, AgentPaths(data_dir).state_dir, "pk-one", python=Path("/no/such/python")
    )
    with pytest.raises(RuntimeStartError, match="/no/such/python"):
        await runtime.start(launch(data_dir))


async def test_leftovers_are_found_by_install_id_and_can_be_adopted_and_stopped(
    shell: Shell, data_dir: Path
) -> None:
    runtime = shell()
    handle = await runtime.start(launch(data_dir))
    await runtime.close()  # the orchestrator "crashes": the process keeps running
    state_dir = AgentPaths(data_dir).state_dir
    (state_dir / "ghost.json").write_text(
        json.dumps({"agent_id": "ghost", "pid": 2**22 - 1, "install_id": "pk-one"})
    )
    (state_dir / "theirs.json").write_text(
        json.dumps({"agent_id": "theirs", "pid": os.getpid(), "install_id": "pk-two"})
    )

    again = shell()
    found = await again.leftovers()

    assert [(h.agent_id, h.runtime_id, h.credential_key) for h in found] == [
        ("coder", handle.runtime_id, "UTESTKEY")
    ]
    assert not (state_dir / "ghost.json").exists()  # a dead process's record is dropped
    assert (state_dir / "theirs.json").exists()  # another install's is never touched
    assert await shell(install_id="pk-two").leftovers() == []

    await again.adopt(found[0])
    assert await again.is_running("coder")
    assert await again.stop("coder", timeout=5) is True
    assert not procfs.is_alive(int(handle.runtime_id), None)
    assert not (state_dir / "coder.json").exists()
