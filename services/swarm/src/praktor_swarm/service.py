"""The swarm service: how it is wired and started.

Plans and runs swarm graphs tier by tier, relays collaborative chat, persists runs so a
restart resumes them.
"""

from __future__ import annotations

from praktor_common.runtime.runner import main as run_service
from praktor_common.runtime.spec import ServiceSpec

SERVICE = ServiceSpec(
    name="swarm",
    description="Swarm planning and execution",
    default_health_port=9105,
)


def main() -> None:
    run_service(SERVICE)
