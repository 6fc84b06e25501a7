#!/bin/sh
# First start: a cluster with password auth over TCP (POSTGRES_PASSWORD) and the database
# POSTGRES_DB (default flowsmith). Every start: the server in the foreground, on all
# addresses of the container (compose's network; publish no port for it).
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
db=${POSTGRES_DB:-flowsmith}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "flowsmith-postgres: set POSTGRES_PASSWORD" >&2
        exit 1
    fi
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --username=postgres --pwfile="$pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 -D "$PGDATA" >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    psql -v ON_ERROR_STOP=1 --username=postgres --dbname=postgres \
        -c "CREATE DATABASE \"$db\"" >/dev/null
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "flowsmith-postgres: created the cluster and database $db" >&2
fi
exec postgres -D "$PGDATA" -c listen_addresses='*'
