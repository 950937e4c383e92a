"""The services installed in this environment, found through entry points.

Each service package registers ``[project.entry-points."praktor.services"]``
so the CLI can run it without importing any service by name.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from praktor_common.runtime.spec import ServiceSpec

SERVICE_ORDER = (
    "vault",
    "model-proxy",
    "orchestrator",
    "scheduler",
    "swarm",
    "router",
    "gateway-telegram",
    "web",
)


class UnknownServiceError(LookupError):
    pass


def installed_services() -> dict[str, ServiceSpec]:
    """Every installed service spec by name, in start order."""
    found: dict[str, ServiceSpec] = {}
    for ep in entry_points(group="praktor.services"):
        spec = ep.load()
        if isinstance(spec, ServiceSpec):
            found[spec.name] = spec
    ordered = {name: found[name] for name in SERVICE_ORDER if name in found}
    ordered.update({n: s for n, s in sorted(found.items()) if n not in ordered})
    return ordered


def service_spec(name: str) -> ServiceSpec:
    services = installed_services()
    if name not in services:
        known = ", ".join(services) or "none installed"
        raise UnknownServiceError(f"unknown service {name!r}; known services: {known}")
    return services[name]
