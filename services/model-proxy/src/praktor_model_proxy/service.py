"""The model-proxy service: how it is wired and started.

The agents' only way to the model API (ARCHITECTURE §5): an agent is given
``ANTHROPIC_BASE_URL`` = this proxy and ``ANTHROPIC_API_KEY`` = a token of its
own; the proxy checks the token with the orchestrator, adds the real
credential, forwards, streams back and counts tokens per agent
(:mod:`.proxy`). It listens on ``model_proxy.port`` of the config, on
``PRAKTOR_MODEL_PROXY_HOST`` (default ``127.0.0.1``: ``praktor up`` agents run
on this machine; compose and Helm set ``0.0.0.0`` and let only agents reach it).

The real credential is ``ANTHROPIC_API_KEY`` or ``CLAUDE_CODE_OAUTH_TOKEN`` of
the proxy's own environment when set (compose and Helm give it to this
container alone), else ``defaults.anthropic_api_key`` / ``defaults.oauth_token``
of the config (``praktor up``).
"""

from __future__ import annotations

import structlog
from aiohttp import web
from faststream.nats.annotations import NatsMessage
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from praktor_common.contracts.events import EVENT
from praktor_common.db.usage import record_token_usage
from praktor_common.runtime.runner import StartupError
from praktor_common.runtime.runner import main as run_service
from praktor_common.runtime.spec import ServiceContext, ServiceSpec

from .proxy import ModelProxy, UsageSink
from .tokens import NatsOrchestrator, TokenChecker
from .upstream import Credential
from .usage import Usage

log = structlog.get_logger(__name__)


class ProxySettings(BaseSettings):
    """``PRAKTOR_MODEL_PROXY_*``: where the proxy listens (the port is the config's);
    and the model credential when this container alone holds it."""

    model_config = SettingsConfigDict(env_prefix="PRAKTOR_MODEL_PROXY_", extra="ignore")

    host: str = "127.0.0.1"
    token_cache_seconds: float = 10.0
    anthropic_api_key: SecretStr = Field(
        default=SecretStr(""), validation_alias="ANTHROPIC_API_KEY"
    )
    oauth_token: SecretStr = Field(
        default=SecretStr(""), validation_alias="CLAUDE_CODE_OAUTH_TOKEN"
    )

    @property
    def credential(self) -> Credential:
        """The proxy's own credential (empty: the config's is used)."""
        return Credential(
            api_key=self.anthropic_api_key.get_secret_value().strip(),
            oauth_token=self.oauth_token.get_secret_value().strip(),
        )


def usage_recorder(engine: AsyncEngine) -> UsageSink:
    async def record(agent_id: str, usage: Usage) -> None:
        async with AsyncSession(engine) as session, session.begin():
            await record_token_usage(
                session,
                agent_id=agent_id,
                model=usage.model,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_creation_input_tokens=usage.cache_creation_input_tokens,
                cache_read_input_tokens=usage.cache_read_input_tokens,
            )

    return record


async def setup(ctx: ServiceContext, settings: ProxySettings | None = None) -> ModelProxy:
    own = settings or ProxySettings()
    if ctx.engine is None:  # pragma: no cover - uses_database guarantees it
        raise StartupError("the model proxy stores token usage and needs its database")
    tokens = TokenChecker(NatsOrchestrator(ctx.nats), ttl=own.token_cache_seconds)
    proxy = ModelProxy(ctx.config, tokens, usage_recorder(ctx.engine), own.credential)

    @ctx.broker.subscriber("events.agent.*", no_reply=True)
    async def on_agent_event(msg: NatsMessage) -> None:
        try:
            event = EVENT.validate_json(msg.body)
        except ValidationError:
            return
        if event.type == "agent_stopped":
            tokens.agent_stopped(msg.raw_message.subject.rsplit(".", 1)[-1])

    runner = web.AppRunner(proxy.app(), access_log=None)
    await runner.setup()
    port = ctx.config.current.model_proxy.port
    site = web.TCPSite(runner, own.host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise StartupError(
            f"the model proxy cannot listen on {own.host}:{port} ({exc.strerror or exc}); "
            "free the port or change model_proxy.port in the config"
        ) from None
    ctx.on_stop.append(runner.cleanup)
    log.info(
        "model proxy listening",
        host=own.host,
        port=port,
        credential="own environment" if own.credential else "config",
    )
    return proxy


async def _setup(ctx: ServiceContext) -> None:
    await setup(ctx)


SERVICE = ServiceSpec(
    name="model-proxy",
    description="The agents' only way to the model API",
    setup=_setup,
    default_health_port=9107,
)


def main() -> None:
    run_service(SERVICE)
