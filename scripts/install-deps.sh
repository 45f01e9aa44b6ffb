#!/usr/bin/env bash
# Installs what building and testing this workspace needs on Debian 12, and nothing more.
# Idempotent: when everything is already present it makes no network access and returns quickly.
set -euo pipefail

log() { printf 'install-deps: %s\n' "$*" >&2; }

DEBIAN_PACKAGES=(
    build-essential
    pkg-config
    cmake
    clang
    openssl
    sqlite3
    postgresql-client
    curl
    ca-certificates
    jq
    wrk
    haproxy
)

# --- Debian packages -------------------------------------------------------------------------

is_installed() {
    local status
    status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]]
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    log "dpkg-query not found: this script supports Debian/Ubuntu only; install these yourself: ${DEBIAN_PACKAGES[*]}"
    exit 1
fi

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    if ! is_installed "$pkg"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    log "Debian packages: all present (${DEBIAN_PACKAGES[*]})"
else
    SUDO=()
    if ((EUID != 0)); then
        if command -v sudo >/dev/null 2>&1; then
            SUDO=(sudo)
        else
            log "missing packages (${missing[*]}) and not root without sudo; install them as root"
            exit 1
        fi
    fi
    log "Debian packages missing: ${missing[*]}"
    log "running: apt-get update"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    log "running: apt-get install -y --no-install-recommends ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
fi

# --- Rust toolchain --------------------------------------------------------------------------

if ! command -v cargo >/dev/null 2>&1 && [[ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    log "cargo not found: install the Rust toolchain with rustup (https://rustup.rs) and re-run"
    exit 1
fi

for component in rustfmt clippy; do
    case "$component" in
        rustfmt) probe=(cargo fmt --version) ;;
        clippy) probe=(cargo clippy --version) ;;
    esac
    if "${probe[@]}" >/dev/null 2>&1; then
        log "rust component $component: present"
    elif command -v rustup >/dev/null 2>&1; then
        log "running: rustup component add $component"
        rustup component add "$component"
    else
        log "rust component $component is missing and rustup is not available; install it yourself"
        exit 1
    fi
done

if cargo nextest --version >/dev/null 2>&1; then
    log "cargo-nextest: present ($(cargo nextest --version 2>/dev/null | head -n 1))"
else
    log "running: cargo install cargo-nextest --locked"
    cargo install cargo-nextest --locked
fi

log "done"
