#!/usr/bin/env bash
# Starts a throw-away PostgreSQL for the store story tests and prints the URL to export:
#
#     export CARAVAN_TEST_PG_URL="$(.ci/pg-start.sh)"
#     cargo test -p caravan-testkit -p caravan-store-postgres
#
# Why a private cluster: tests must never touch a developer's or a CI image's own
# database, so this one lives in its own directory, listens on 127.0.0.1 only, on a
# private port, with its socket in its own directory, and trusts loopback connections.
#
# Idempotent: if the cluster is already up it only makes sure the database exists.
# Stop it with:  .ci/pg-start.sh stop
#
# Settings (environment): CARAVAN_PG_PORT (55432), CARAVAN_PG_DIR (/tmp/caravan-pg),
# CARAVAN_PG_DB (caravan_test). Everything but the URL goes to stderr.
set -euo pipefail

PORT="${CARAVAN_PG_PORT:-55432}"
BASE="${CARAVAN_PG_DIR:-/tmp/caravan-pg}"
DB="${CARAVAN_PG_DB:-caravan_test}"
DATA="$BASE/data"
SOCK="$BASE/sock"
LOG="$BASE/postgres.log"
URL="postgres://postgres@127.0.0.1:${PORT}/${DB}"

log() { echo "pg-start: $*" >&2; }

# Runs a command as the `postgres` OS user (initdb and the server refuse to run as root).
as_pg() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    elif [ "$(id -u)" = 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

find_bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir="$(pg_config --bindir 2>/dev/null || true)"
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    fi
    # Debian keeps server binaries out of PATH; take the newest installed major version.
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
        return 0
    fi
    return 1
}

BINDIR="$(find_bindir || true)"
if [ -z "$BINDIR" ]; then
    log "PostgreSQL not found; installing from Debian"
    if [ "$(id -u)" != 0 ]; then
        log "need root to apt-get install postgresql"
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends postgresql >&2
    BINDIR="$(find_bindir)"
fi

if [ "${1:-}" = stop ]; then
    if [ -f "$DATA/PG_VERSION" ]; then
        as_pg "$BINDIR/pg_ctl" -D "$DATA" -m fast stop >&2 || true
    fi
    exit 0
fi

ready() { pg_isready -q -h 127.0.0.1 -p "$PORT" -U postgres >/dev/null 2>&1 || "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres >/dev/null 2>&1; }

if ready; then
    log "already running on 127.0.0.1:$PORT"
else
    if ! id postgres >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then
            useradd --system --home-dir "$BASE" --shell /bin/sh postgres
        fi
    fi
    mkdir -p "$BASE"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$BASE"
    fi
    chmod 700 "$BASE"
    as_pg mkdir -p "$SOCK"
    if [ ! -f "$DATA/PG_VERSION" ]; then
        log "initdb into $DATA"
        as_pg "$BINDIR/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2 \
            || as_pg "$BINDIR/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --no-locale >&2
    fi
    log "starting on 127.0.0.1:$PORT (log: $LOG)"
    # fsync stays on: the crash tests are about what a committed transaction survives.
    as_pg "$BINDIR/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $SOCK -c max_connections=200" >&2
    for _ in $(seq 1 60); do
        if ready; then break; fi
        sleep 1
    done
    if ! ready; then
        log "server did not become ready; last log lines:"
        tail -n 20 "$LOG" >&2 || true
        exit 1
    fi
fi

exists="$(as_pg psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$DB'")"
if [ "$exists" != 1 ]; then
    log "creating database $DB"
    as_pg psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qc "CREATE DATABASE \"$DB\"" >&2
fi

echo "$URL"
