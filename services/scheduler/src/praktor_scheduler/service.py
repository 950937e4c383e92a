"""The scheduler service: how it is wired and started.

Owns scheduled tasks and their runs; claims due runs across replicas and sends them as
task turns.
"""

from __future__ import annotations

from praktor_common.runtime.runner import main as run_service
from praktor_common.runtime.spec import ServiceSpec

SERVICE = ServiceSpec(
    name="scheduler",
    description="Scheduled tasks and their runs",
    default_health_port=9104,
)


def main() -> None:
    run_service(SERVICE)
