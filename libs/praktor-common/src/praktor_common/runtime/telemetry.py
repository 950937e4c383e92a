"""OpenTelemetry tracing: exported over OTLP when configured, nothing otherwise.

Set ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``)
to export; without it the default no-op tracer is left in place, so nothing is
collected or sent. Trace context crosses the bus in message headers (FastStream's
telemetry middleware does that).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from praktor_common import __version__


def otlp_configured(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(service: str, install_id: str | None = None) -> TracerProvider | None:
    """Install an exporting tracer provider when OTLP is configured; else return None."""
    if not otlp_configured():
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    attributes = {"service.name": f"praktor-{service}", "service.version": __version__}
    if install_id:
        attributes["praktor.install_id"] = install_id
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider
