"""The router service: how it is wired and started.

Turns an inbound message into agent input: reply-to, @agent, @swarm, smart routing,
last-used agent, default agent.
"""

from __future__ import annotations

from praktor_common.runtime.runner import main as run_service
from praktor_common.runtime.spec import ServiceSpec

SERVICE = ServiceSpec(
    name="router",
    description="Routes inbound messages to agents",
    default_health_port=9102,
)


def main() -> None:
    run_service(SERVICE)
