"""The orchestrator service: how it is wired and started.

Owns agent runtimes, sessions, conversation history and memories; answers agents' IPC;
redacts and republishes agent output.
"""

from __future__ import annotations

from praktor_common.runtime.runner import main as run_service
from praktor_common.runtime.spec import ServiceSpec

SERVICE = ServiceSpec(
    name="orchestrator",
    description="Agent runtimes, history, memory, IPC",
    default_health_port=9103,
)


def main() -> None:
    run_service(SERVICE)
