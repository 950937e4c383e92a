"""What a running ``praktor up`` records for ``praktor status``, and reading it back."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import BaseModel


class ServiceEntry(BaseModel):
    name: str
    pid: int | None
    health_url: str
    restarts: int = 0
    state: str = "starting"


class SuiteState(BaseModel):
    supervisor_pid: int
    started_at: datetime
    install_id: str
    mission_control_url: str
    nats_url: str
    nats_embedded: bool
    database_embedded: bool
    runtime: str
    services: list[ServiceEntry]
    runtime_note: str = ""
    """Why agents do not run as asked, and what to do (e.g. build the agent image)."""
    nats_pid: int | None = None
    postgres_pid: int | None = None


def write_state(path: Path, state: SuiteState) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.model_dump_json(indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


def read_state(path: Path) -> SuiteState | None:
    try:
        return SuiteState.model_validate_json(path.read_text())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ServiceStatus(BaseModel):
    name: str
    state: str
    pid: int | None
    health_url: str
    ready: bool
    restarts: int
    detail: str = ""


class SuiteStatus(BaseModel):
    running: bool
    checked_at: datetime
    install_id: str | None = None
    mission_control_url: str | None = None
    runtime: str | None = None
    services: list[ServiceStatus] = []
    warnings: list[str] = []


async def probe(state: SuiteState | None, timeout: float = 2.0) -> SuiteStatus:
    """Ask every service's ``/readyz`` how it is."""
    now = datetime.now(UTC)
    if state is None or not pid_alive(state.supervisor_pid):
        return SuiteStatus(running=False, checked_at=now)
    result = SuiteStatus(
        running=True,
        checked_at=now,
        install_id=state.install_id,
        mission_control_url=state.mission_control_url,
        runtime=state.runtime,
    )
    if state.runtime_note:
        result.warnings.append(state.runtime_note)
    elif state.runtime == "process":
        result.warnings.append(
            "agents run as plain processes (PRAKTOR_AGENT_RUNTIME=process): they are NOT "
            "isolated from each other"
        )
    async with httpx.AsyncClient(timeout=timeout) as client:
        for entry in state.services:
            alive = pid_alive(entry.pid)
            ready = False
            detail = ""
            if alive:
                try:
                    response = await client.get(entry.health_url + "/readyz")
                    ready = response.status_code == 200
                    if not ready:
                        checks = response.json().get("checks", {})
                        failing = [f"{k}: {v}" for k, v in checks.items() if v != "ok"]
                        detail = "; ".join(failing) or "starting"
                except httpx.HTTPError as exc:
                    detail = f"health endpoint did not answer ({type(exc).__name__})"
            else:
                detail = "process not running"
            state_name = "ready" if ready else ("running" if alive else entry.state)
            result.services.append(
                ServiceStatus(
                    name=entry.name,
                    state=state_name,
                    pid=entry.pid if alive else None,
                    health_url=entry.health_url,
                    ready=ready,
                    restarts=entry.restarts,
                    detail=detail,
                )
            )
    return result


def status_json(status: SuiteStatus) -> str:
    return json.dumps(json.loads(status.model_dump_json()), indent=2)
