"""What the router reads from its environment (besides the common ``PRAKTOR_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RouterSettings(BaseSettings):
    """``PRAKTOR_ROUTER_*`` settings; the defaults follow spec §8."""

    model_config = SettingsConfigDict(env_prefix="PRAKTOR_ROUTER_", extra="ignore")

    route_timeout: float = Field(default=30.0, gt=0)
    """How long the default agent has to answer a smart-routing question (spec §8: 30 s)."""
    start_timeout: float = Field(default=45.0, gt=0)
    """How long to wait for the orchestrator to start the default agent before asking it."""
    command_timeout: float = Field(default=15.0, gt=0)
    """How long the orchestrator has to answer /stop, /reset, /agents."""
    nix_timeout: float = Field(default=150.0, gt=0)
    """How long a /nix action may take (spec: up to 120 s for add/upgrade, plus a start)."""
    swarm_timeout: float = Field(default=15.0, gt=0)
    """How long the swarm service has to accept a launch."""
