"""The web service: how it is wired and started.

The REST + WebSocket API and the Mission Control single-page app.
"""

from __future__ import annotations

from praktor_common.runtime.runner import main as run_service
from praktor_common.runtime.spec import ServiceSpec

SERVICE = ServiceSpec(
    name="web",
    description="REST and WebSocket API, Mission Control",
    default_health_port=9108,
)


def main() -> None:
    run_service(SERVICE)
