#!/usr/bin/env bash
# Runs the local development stack. For now: timesheet-svc on SQLite, with a development
# assertion key pair so requests can be made without the gateway. Ctrl-C stops the service.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'up: %s\n' "$*" >&2; }

log "building timesheet-svc and identity-assertion"
cargo build -p timesheet-svc -p identity-assertion --bins

# The default cargo target directory is `target/`; honour CARGO_TARGET_DIR if someone set it.
BIN_DIR="${CARGO_TARGET_DIR:-target}/debug"

mkdir -p .devstack .devstack/keys

PRIVATE_KEY=.devstack/keys/assertion.key.pem
PUBLIC_KEY=.devstack/keys/assertion.pub.pem

if [[ ! -f "$PRIVATE_KEY" ]]; then
    log "generating the development assertion key pair in .devstack/keys/"
    "$BIN_DIR/identity-assertion" keygen --private "$PRIVATE_KEY" --public "$PUBLIC_KEY"
else
    log "reusing the development assertion key pair in .devstack/keys/"
fi

MINT_CMD="$BIN_DIR/identity-assertion mint --private $PRIVATE_KEY --tenant exampleco --subject dev@clients --scopes \"read:timesheets create:timesheets\""

cat >&2 <<MSG

timesheet-svc will listen on http://127.0.0.1:8081 (SQLite: .devstack/timesheets.db). Ctrl-C stops it.

Mint a development identity assertion:
  $MINT_CMD

and call the service with it:
  curl -H "x-request-id: dev-request" -H "x-gateway-assertion: \$($MINT_CMD)" http://127.0.0.1:8081/v1/timesheets/entries

(The assertion is bound to one method, path and request id, as the gateway makes it; mint
another with --method/--path/--request-id for other calls.)

MSG

export DATABASE_URL='sqlite://.devstack/timesheets.db?mode=rwc'
export TIMESHEET__ASSERTION__PUBLIC_KEY_FILES="$PUBLIC_KEY"
export TIMESHEET__LISTEN_ADDR=127.0.0.1:8081
export TIMESHEET__LOG__FORMAT="${TIMESHEET__LOG__FORMAT:-pretty}"
exec "$BIN_DIR/timesheet-svc"
