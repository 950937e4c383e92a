"""The vault service: how it is wired and started.

Encrypted secrets (AES-256-GCM, Argon2id); the only holder of the vault passphrase.
"""

from __future__ import annotations

from praktor_common.runtime.runner import main as run_service
from praktor_common.runtime.spec import ServiceSpec

SERVICE = ServiceSpec(
    name="vault",
    description="Encrypted secrets",
    default_health_port=9106,
)


def main() -> None:
    run_service(SERVICE)
