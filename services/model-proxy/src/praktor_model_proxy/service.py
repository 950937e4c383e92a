"""The model-proxy service: how it is wired and started.

Checks per-agent tokens, adds the real model credential, meters tokens per agent.
"""

from __future__ import annotations

from praktor_common.runtime.runner import main as run_service
from praktor_common.runtime.spec import ServiceSpec

SERVICE = ServiceSpec(
    name="model-proxy",
    description="The agents' only way to the model API",
    default_health_port=9107,
)


def main() -> None:
    run_service(SERVICE)
