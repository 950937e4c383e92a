#!/bin/sh
# Entry point of the praktor-postgres image: initdb on first start, then run postgres.
#
#   POSTGRES_PASSWORD_FILE  file holding the password of POSTGRES_USER (preferred)
#   POSTGRES_PASSWORD       the password itself (when there is no file)
#   POSTGRES_USER           login role to create (default praktor)
#   POSTGRES_DB             database it owns (default praktor)
#   PGDATA                  the cluster (default /var/lib/postgresql/data/pgdata)
#
# The superuser `postgres` has no password: it can only log in over the Unix
# socket inside this container. Every TCP login needs a scram-sha-256 password.
# Extra arguments are passed to postgres (e.g. -c shared_buffers=256MB).
set -eu

PGDATA="${PGDATA:-/var/lib/postgresql/data/pgdata}"
POSTGRES_USER="${POSTGRES_USER:-praktor}"
POSTGRES_DB="${POSTGRES_DB:-praktor}"
SOCKET_DIR="${POSTGRES_SOCKET_DIR:-/var/run/postgresql}"
export PGDATA

fail() {
    echo "praktor-postgres: $*" >&2
    exit 1
}

read_password() {
    if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
        [ -r "$POSTGRES_PASSWORD_FILE" ] || fail "cannot read POSTGRES_PASSWORD_FILE=$POSTGRES_PASSWORD_FILE"
        head -n 1 "$POSTGRES_PASSWORD_FILE" | tr -d '\r\n'
    elif [ -n "${POSTGRES_PASSWORD:-}" ]; then
        printf '%s' "$POSTGRES_PASSWORD"
    fi
}

first_start() {
    password="$(read_password)"
    [ -n "$password" ] || fail "no password: set POSTGRES_PASSWORD_FILE (or POSTGRES_PASSWORD) for the first start"
    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA"
    echo "praktor-postgres: creating the cluster in $PGDATA"
    initdb --pgdata="$PGDATA" --username=postgres --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    {
        echo "# Praktor: every TCP login needs a scram-sha-256 password"
        echo "host all all 0.0.0.0/0 scram-sha-256"
        echo "host all all ::/0 scram-sha-256"
    } >>"$PGDATA/pg_hba.conf"
    # listen on the socket only while setting up
    pg_ctl --pgdata="$PGDATA" --wait --silent \
        -o "-c listen_addresses='' -c unix_socket_directories='$SOCKET_DIR'" start
    psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --host="$SOCKET_DIR" --username=postgres \
        --dbname=postgres --set=role="$POSTGRES_USER" --set=db="$POSTGRES_DB" \
        --set=password="$password" <<'SQL'
SET password_encryption = 'scram-sha-256';
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
    pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
    echo "praktor-postgres: role $POSTGRES_USER and database $POSTGRES_DB created"
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    first_start
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories="$SOCKET_DIR" "$@"
