"""The gateway-telegram service: how it is wired and started.

Long-polls the Bot API, publishes inbound updates, delivers replies from
deliver.telegram.
"""

from __future__ import annotations

from praktor_common.runtime.runner import main as run_service
from praktor_common.runtime.spec import ServiceSpec

SERVICE = ServiceSpec(
    name="gateway-telegram",
    description="Telegram ingress and egress",
    default_health_port=9101,
)


def main() -> None:
    run_service(SERVICE)
