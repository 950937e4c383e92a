# PostgreSQL for Praktor, from Debian's packages.
#
#   docker build -f deploy/docker/postgres.Dockerfile -t praktor-postgres:latest .
#
# First start: initdb with scram-sha-256, role and database `praktor` (names
# from POSTGRES_USER / POSTGRES_DB) with the password of POSTGRES_PASSWORD_FILE
# (or POSTGRES_PASSWORD). Later starts keep the cluster in PGDATA.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
ARG PG_MAJOR=15
ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    PATH=/usr/lib/postgresql/${PG_MAJOR}/bin:$PATH \
    PGDATA=/var/lib/postgresql/data/pgdata
# Our own uid (10001, like every Praktor image); the package makes no cluster.
RUN set -eux; \
    install -d /etc/postgresql-common/createcluster.d; \
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/praktor.conf; \
    apt-get update; \
    apt-get install -y --no-install-recommends "postgresql-${PG_MAJOR}" tzdata ca-certificates; \
    rm -rf /var/lib/apt/lists/*; \
    usermod --uid 10001 postgres; \
    groupmod --gid 10001 postgres; \
    install -d -o 10001 -g 10001 -m 0700 /var/lib/postgresql /var/lib/postgresql/data; \
    install -d -o 10001 -g 10001 -m 2775 /var/run/postgresql; \
    chown -R 10001:10001 /var/log/postgresql /etc/postgresql
COPY deploy/docker/postgres-entrypoint.sh /usr/local/bin/praktor-postgres
RUN chmod 0755 /usr/local/bin/praktor-postgres
USER 10001:10001
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["praktor-postgres"]
