"""The vault service: how it is wired and started.

Encrypted secrets (AES-256-GCM, Argon2id); the only holder of the vault
passphrase. At start: read the passphrase (:mod:`.passphrase`), derive the key
and prove it on the database (:mod:`.unlock`) — a missing or wrong passphrase
stops the service with a message saying what to do — then answer
``svc.vault.*`` (:mod:`.handlers`).
"""

from __future__ import annotations

import os

from praktor_common.runtime.runner import StartupError
from praktor_common.runtime.runner import main as run_service
from praktor_common.runtime.spec import ServiceContext, ServiceSpec
from praktor_vault.handlers import event_publisher, register
from praktor_vault.passphrase import PassphraseError, load_passphrase
from praktor_vault.unlock import UnlockError
from praktor_vault.vault import Vault


async def setup(ctx: ServiceContext) -> None:
    configured = ctx.config.current.vault.passphrase.get_secret_value()
    try:
        passphrase = load_passphrase(os.environ, configured)
    except PassphraseError as exc:
        raise StartupError(str(exc)) from None
    if ctx.engine is None:  # pragma: no cover - uses_database guarantees it
        raise StartupError("the vault needs its database")
    try:
        vault = await Vault.open(ctx.engine, passphrase, events=event_publisher(ctx.broker))
    except UnlockError as exc:
        raise StartupError(str(exc)) from None
    register(ctx.broker, vault)


SERVICE = ServiceSpec(
    name="vault",
    description="Encrypted secrets",
    setup=setup,
    default_health_port=9106,
)


def main() -> None:
    run_service(SERVICE)
