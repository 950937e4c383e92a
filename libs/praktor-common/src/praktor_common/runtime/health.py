"""``/healthz``, ``/readyz`` and ``/metrics`` on a service's own port.

``/healthz`` answers 200 while the process's event loop runs. ``/readyz``
runs every registered check (NATS, database, the service's own) and answers 200
only when all pass and the service finished starting; the body says which
failed. ``/metrics`` serves the Prometheus registry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

Check = Callable[[], Awaitable[None]]
CHECK_TIMEOUT = 2.0


@dataclass
class HealthState:
    """What ``/readyz`` reports: started or not, and the named checks."""

    service: str
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    checks: dict[str, Check] = field(default_factory=dict)
    started: bool = False
    stopping: bool = False
    info: dict[str, str] = field(default_factory=dict)

    def add_check(self, name: str, check: Check) -> None:
        self.checks[name] = check

    async def run_checks(self) -> dict[str, str]:
        """Each check's result: ``"ok"`` or a short reason."""
        results: dict[str, str] = {}
        for name, check in self.checks.items():
            try:
                await asyncio.wait_for(check(), CHECK_TIMEOUT)
            except TimeoutError:
                results[name] = f"no answer within {CHECK_TIMEOUT:g}s"
            except Exception as exc:
                results[name] = f"{type(exc).__name__}: {exc}"[:200]
            else:
                results[name] = "ok"
        return results


def build_app(state: HealthState) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"service": state.service, "alive": True})

    async def readyz(_request: web.Request) -> web.Response:
        checks = await state.run_checks()
        ready = state.started and not state.stopping and all(v == "ok" for v in checks.values())
        body = {
            "service": state.service,
            "ready": ready,
            "starting": not state.started,
            "stopping": state.stopping,
            "checks": checks,
            **state.info,
        }
        return web.json_response(body, status=200 if ready else 503)

    async def metrics(_request: web.Request) -> web.Response:
        payload = generate_latest(state.registry)
        return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


class HealthServer:
    """The aiohttp server behind the three endpoints."""

    def __init__(self, state: HealthState, host: str, port: int) -> None:
        self.state = state
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(build_app(self.state), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise RuntimeError(
                f"{self.state.service}: cannot listen for health checks on "
                f"{self.host}:{self.port} ({exc.strerror}); free the port or change "
                f"ports in the config"
            ) from exc

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
