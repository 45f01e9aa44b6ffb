#!/usr/bin/env bash
# Runs the whole local stack (what `make up` does): dev-idp, timesheet-svc on SQLite, the TLS
# gateway and the importer daemon over the sample data, all on 127.0.0.1. State lives in
# .devstack/ and is reused by the next start. Ctrl-C stops everything.
#
# The orchestration itself is the `devstack` binary (devstack/), the same code the end-to-end
# tests start their stacks with.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'up: %s\n' "$*" >&2; }

log "building the workspace's binaries (the first build takes several minutes)"
cargo build --workspace --bins

# The default cargo target directory is `target/`; honour CARGO_TARGET_DIR if someone set it.
BIN_DIR="${CARGO_TARGET_DIR:-target}/debug"

exec "$BIN_DIR/devstack" up --dir .devstack "$@"
