#!/usr/bin/env bash
# Makes sure the PostgreSQL server used by the test suite answers; starts the local cluster
# if it can. The suite always runs against both SQLite and PostgreSQL, so an unreachable
# server is an error (exit 1), under CI and locally alike.
set -euo pipefail

log() { printf 'ensure-postgres: %s\n' "$*" >&2; }

TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
WAIT_SECONDS=30

# Extract host and port from postgres://[user[:password]@]host[:port][/db][?params].
# The URL's password (if any) is never printed.
parse_url() {
    local rest="$1"
    rest="${rest#postgres://}"
    rest="${rest#postgresql://}"
    rest="${rest%%\?*}"   # drop query
    rest="${rest%%/*}"    # drop database path
    rest="${rest##*@}"    # drop credentials
    if [[ "$rest" == \[* ]]; then         # [ipv6]:port
        PG_HOST="${rest#\[}"
        PG_HOST="${PG_HOST%%\]*}"
        local after="${rest#*\]}"
        PG_PORT="${after#:}"
    elif [[ "$rest" == *:* ]]; then
        PG_HOST="${rest%%:*}"
        PG_PORT="${rest##*:}"
    else
        PG_HOST="$rest"
        PG_PORT=""
    fi
    PG_HOST="${PG_HOST:-127.0.0.1}"
    PG_PORT="${PG_PORT:-5432}"
}

parse_url "$TEST_POSTGRES_URL"
if [[ "$PG_HOST" == *:* ]]; then
    TARGET="[${PG_HOST}]:${PG_PORT}"
else
    TARGET="${PG_HOST}:${PG_PORT}"
fi

if ! command -v pg_isready >/dev/null 2>&1; then
    log "pg_isready not found; install postgresql-client (make deps)"
    exit 1
fi

reachable() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1; }

if reachable; then
    log "PostgreSQL answers at $TARGET"
    exit 0
fi

log "PostgreSQL does not answer at $TARGET"

start_cmd=""
case "$PG_HOST" in
    127.0.0.1 | localhost | ::1 | /*) local_target=true ;;
    *) local_target=false ;;
esac

if [[ -d /etc/postgresql ]]; then
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    if [[ -n "$version" ]]; then
        start_cmd="pg_ctlcluster --skip-systemctl-redirect $version main start"
    fi
fi

if [[ -n "$start_cmd" && "$local_target" == true ]]; then
    if pg_ctlcluster "$version" main status >/dev/null 2>&1; then
        # Running already, yet not answering at $TARGET: starting it again will not help
        # (it probably listens on another port).
        log "the local cluster $version/main is running but does not answer at $TARGET"
    else
        log "starting the local cluster: $start_cmd"
        # A failure here (not root, …) is reported; the wait below decides.
        if ! $start_cmd; then
            log "'$start_cmd' failed; waiting in case the server is starting anyway"
        fi
        for ((i = 0; i < WAIT_SECONDS; i++)); do
            if reachable; then
                log "PostgreSQL answers at $TARGET after ${i}s"
                exit 0
            fi
            sleep 1
        done
    fi
fi

message="PostgreSQL is required for the test suite under CI and could not be reached at $TARGET (TEST_POSTGRES_URL host/port)."
if [[ "${CI:-}" == "true" ]]; then
    log "$message"
    exit 1
fi

log "$message"
log "The suite always runs on both SQLite and PostgreSQL. To fix it, either:"
if [[ -n "$start_cmd" ]]; then
    log "  - start the local server:  $start_cmd"
else
    log "  - install and start PostgreSQL, e.g.:  apt-get install postgresql && pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
fi
log "  - or point TEST_POSTGRES_URL at a reachable server (postgres://user@host:port/db)"
exit 1
