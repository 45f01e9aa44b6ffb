#!/usr/bin/env python3
"""Checks of the rendered Kubernetes overlays and of deploy/compose.yaml that schemas and
checkov do not make: the properties this project promises (run by scripts/check-ops.sh).

Kubernetes (each argument after --k8s is one rendered overlay, multi-document YAML, given as
OVERLAY_DIR=RENDERED_FILE so that problems name the overlay):
- every pod: non-root, RuntimeDefault seccomp, no service-account token; every container:
  no privilege escalation, read-only root filesystem, all capabilities dropped, CPU and memory
  requests and limits, an image with a tag;
- Deployments have HTTP liveness and readiness probes on /healthz and /readyz (the gateway's on
  its admin port 9464); the gateway has an autoscaling/v2 HPA and a PodDisruptionBudget, a
  LoadBalancer Service; timesheet-svc a ClusterIP Service and a NetworkPolicy that admits only
  the gateway pods and a namespace selector (Prometheus);
- the importer CronJob forbids concurrent runs and takes its client secret from a Secret;
- the migrations Job runs `timesheet-svc migrate`;
- every ConfigMap and Secret a pod refers to exists in the render or in the secrets example;
- the secrets example holds placeholder values only (REPLACE_ME).

Compose (--compose FILE): images pinned to a version, our images hardened (numeric user,
read-only, no capabilities), published ports on 127.0.0.1 only, bind-mounted files present.

Gateway configurations (--gateway-routes EXAMPLE FILE...): each file is valid TOML and has the
same route table as the gateway's example configuration, so a route added there is not
forgotten in a deployment.

Prints one line per problem ("file: what is wrong") and exits 1 if there was any.
"""

import argparse
import sys
import tomllib
from pathlib import Path

import yaml

POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
PLACEHOLDER = "REPLACE_ME"


class Report:
    def __init__(self):
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")


def load_all(report: Report, path: Path) -> list[dict]:
    try:
        return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    except (OSError, yaml.YAMLError) as err:
        report.fail(str(path), f"cannot read YAML: {err}")
        return []


def pod_spec(obj: dict) -> dict:
    spec = obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def name_of(obj: dict) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def check_pod(report: Report, where: str, spec: dict) -> tuple[set, set]:
    """Checks one pod spec; returns the ConfigMaps and Secrets it refers to."""
    configmaps, secrets = set(), set()
    pod_sc = spec.get("securityContext") or {}
    if spec.get("automountServiceAccountToken") is not False:
        report.fail(where, "automountServiceAccountToken must be false")
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        cwhere = f"{where} container {container.get('name')}"
        sc = container.get("securityContext") or {}
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            report.fail(cwhere, "runAsNonRoot is not set")
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp != "RuntimeDefault":
            report.fail(cwhere, "seccompProfile.type must be RuntimeDefault")
        if sc.get("allowPrivilegeEscalation") is not False:
            report.fail(cwhere, "allowPrivilegeEscalation must be false")
        if sc.get("readOnlyRootFilesystem") is not True:
            report.fail(cwhere, "readOnlyRootFilesystem must be true")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            report.fail(cwhere, "capabilities.drop must contain ALL")
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if not (resources.get(kind) or {}).get(resource):
                    report.fail(cwhere, f"resources.{kind}.{resource} is missing")
        image = container.get("image", "")
        if ":" not in image.rsplit("/", 1)[-1] and "@" not in image:
            report.fail(cwhere, f"image {image!r} has no tag")
        for env in container.get("env", []):
            ref = env.get("valueFrom") or {}
            if "secretKeyRef" in ref:
                secrets.add(ref["secretKeyRef"]["name"])
            if "configMapKeyRef" in ref:
                configmaps.add(ref["configMapKeyRef"]["name"])
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                secrets.add(source["secretRef"]["name"])
            if "configMapRef" in source:
                configmaps.add(source["configMapRef"]["name"])
    for volume in spec.get("volumes", []):
        if "configMap" in volume:
            configmaps.add(volume["configMap"]["name"])
        if "secret" in volume:
            secrets.add(volume["secret"]["secretName"])
    return configmaps, secrets


def probe_paths(container: dict) -> dict:
    found = {}
    for kind in ("livenessProbe", "readinessProbe"):
        get = (container.get(kind) or {}).get("httpGet") or {}
        port = get.get("port")
        for declared in container.get("ports", []):
            if declared.get("name") == port:
                port = declared.get("containerPort")
        found[kind] = (get.get("path"), port)
    return found


def check_overlay(report: Report, label: str, path: Path, examples: list[dict]) -> None:
    where_file = f"{label} (rendered)"
    objects = load_all(report, path)
    if not objects:
        report.fail(where_file, "the render is empty")
        return
    by_kind: dict[str, dict[str, dict]] = {}
    for obj in objects:
        by_kind.setdefault(obj.get("kind"), {})[(obj.get("metadata") or {}).get("name")] = obj
    available = {
        "ConfigMap": set(by_kind.get("ConfigMap", {})) | {o["metadata"]["name"] for o in examples if o.get("kind") == "ConfigMap"},
        "Secret": set(by_kind.get("Secret", {})) | {o["metadata"]["name"] for o in examples if o.get("kind") == "Secret"},
    }

    def need(kind, name, what):
        obj = by_kind.get(kind, {}).get(name)
        if obj is None:
            report.fail(where_file, f"{what}: no {kind} named {name!r}")
        return obj

    for obj in objects:
        if obj.get("kind") not in POD_KINDS:
            continue
        where = f"{where_file} {name_of(obj)}"
        configmaps, secrets = check_pod(report, where, pod_spec(obj))
        for name in sorted(configmaps - available["ConfigMap"]):
            report.fail(where, f"refers to ConfigMap {name!r}, which neither the overlay nor secrets-example defines")
        for name in sorted(secrets - available["Secret"]):
            report.fail(where, f"refers to Secret {name!r}, which neither the overlay nor secrets-example defines")
        if obj["kind"] == "Deployment":
            for container in pod_spec(obj).get("containers", []):
                probes = probe_paths(container)
                if probes["livenessProbe"][0] != "/healthz" or probes["readinessProbe"][0] != "/readyz":
                    report.fail(where, f"liveness/readiness must be httpGet /healthz and /readyz, found {probes}")
                if obj["metadata"]["name"] == "gateway" and {p[1] for p in probes.values()} != {9464}:
                    report.fail(where, "the gateway's probes must use the admin port 9464")

    gateway = need("Deployment", "gateway", "gateway")
    svc = need("Deployment", "timesheet-svc", "timesheet-svc")
    hpa = need("HorizontalPodAutoscaler", "gateway", "gateway autoscaling")
    if hpa and (hpa.get("apiVersion") != "autoscaling/v2" or hpa["spec"]["scaleTargetRef"].get("name") != "gateway"):
        report.fail(where_file, "HorizontalPodAutoscaler/gateway must be autoscaling/v2 and target Deployment gateway")
    if gateway and hpa and "replicas" in gateway["spec"]:
        report.fail(where_file, "Deployment/gateway sets replicas although an HPA owns the count")
    need("PodDisruptionBudget", "gateway", "gateway disruption budget")
    gw_service = need("Service", "gateway", "gateway service")
    if gw_service and gw_service["spec"].get("type") != "LoadBalancer":
        report.fail(where_file, "Service/gateway must be a LoadBalancer")
    svc_service = need("Service", "timesheet-svc", "timesheet-svc service")
    if svc_service and svc_service["spec"].get("type", "ClusterIP") != "ClusterIP":
        report.fail(where_file, "Service/timesheet-svc must be ClusterIP")
    policy = need("NetworkPolicy", "timesheet-svc", "timesheet-svc network policy")
    if policy and svc:
        if policy["spec"].get("podSelector", {}).get("matchLabels") != svc["spec"]["selector"]["matchLabels"]:
            report.fail(where_file, "NetworkPolicy/timesheet-svc does not select the timesheet-svc pods")
        gateway_labels = (gateway or {}).get("spec", {}).get("selector", {}).get("matchLabels", {})
        for rule in policy["spec"].get("ingress", []):
            sources = rule.get("from")
            if not sources:
                report.fail(where_file, "NetworkPolicy/timesheet-svc has an ingress rule open to everyone")
            for peer in sources or []:
                pods = (peer.get("podSelector") or {}).get("matchLabels")
                if "namespaceSelector" in peer:
                    continue
                if pods != gateway_labels:
                    report.fail(where_file, f"NetworkPolicy/timesheet-svc admits pods other than the gateway's: {peer}")
    cron = need("CronJob", "importer", "importer")
    if cron:
        if cron["spec"].get("concurrencyPolicy") != "Forbid":
            report.fail(where_file, "CronJob/importer must have concurrencyPolicy: Forbid")
        env = {e["name"]: e for c in pod_spec(cron).get("containers", []) for e in c.get("env", [])}
        secret = env.get("IMPORTER__AUTH__CLIENT_SECRET", {})
        if "secretKeyRef" not in (secret.get("valueFrom") or {}):
            report.fail(where_file, "CronJob/importer must take IMPORTER__AUTH__CLIENT_SECRET from a secretKeyRef")
        if not any("configMap" in v for v in pod_spec(cron).get("volumes", [])):
            report.fail(where_file, "CronJob/importer must mount its configuration from a ConfigMap")
    job = need("Job", "timesheet-migrate", "migrations")
    if job:
        args = [a for c in pod_spec(job).get("containers", []) for a in (c.get("command", []) + c.get("args", []))]
        if "migrate" not in args:
            report.fail(where_file, "Job/timesheet-migrate must run `timesheet-svc migrate`")


def check_examples(report: Report, label: str, path: Path) -> list[dict]:
    objects = load_all(report, path)
    for obj in objects:
        if obj.get("kind") != "Secret":
            continue
        values = dict(obj.get("stringData") or {})
        where = f"{label} (rendered) {name_of(obj)}"
        if obj.get("data"):
            report.fail(where, "use stringData with placeholders, not data")
        for key, value in values.items():
            if PLACEHOLDER not in str(value):
                report.fail(where, f"{key} is not a placeholder (must contain {PLACEHOLDER})")
    return objects


def labelled(arg: str) -> tuple[str, Path]:
    label, sep, path = arg.partition("=")
    return (label, Path(path)) if sep else (arg, Path(arg))


def check_compose(report: Report, path: Path) -> None:
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        report.fail(str(path), f"cannot read YAML: {err}")
        return
    services = doc.get("services") or {}
    for name, service in services.items():
        where = f"{path} service {name}"
        image = str(service.get("image", ""))
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        if not tag or tag == "latest":
            report.fail(where, f"image {image!r} must name a version")
        if "build" in service:
            user = str(service.get("user", ""))
            if not user.split(":")[0].isdigit() or user.startswith("0"):
                report.fail(where, "our images run as a numeric non-root user")
            if service.get("read_only") is not True:
                report.fail(where, "our images run with read_only: true")
        if "ALL" not in (service.get("cap_drop") or []) and name not in {"postgres"}:
            report.fail(where, "cap_drop must contain ALL")
        for port in service.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                report.fail(where, f"port {port!r} must be published on 127.0.0.1 only")
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith((".", "/")):
                resolved = (path.parent / source).resolve()
                if not resolved.exists():
                    # Sample data may arrive with another part of the project: say so, do not fail.
                    print(f"note: {where}: bind mount {source} does not exist yet")


def check_gateway_routes(report: Report, example: Path, files: list[Path]) -> None:
    def routes(path: Path):
        try:
            return tomllib.loads(path.read_text()).get("route", [])
        except (OSError, tomllib.TOMLDecodeError) as err:
            report.fail(str(path), f"cannot read TOML: {err}")
            return None

    expected = routes(example)
    for path in files:
        got = routes(path)
        if expected is None or got is None:
            continue
        key = lambda r: (r.get("method"), r.get("path"))  # noqa: E731
        want, have = {key(r): r for r in expected}, {key(r): r for r in got}
        for missing in sorted(set(want) - set(have)):
            report.fail(str(path), f"route {missing[0]} {missing[1]} of {example} is missing")
        for extra in sorted(set(have) - set(want)):
            report.fail(str(path), f"route {extra[0]} {extra[1]} is not in {example}")
        for common in sorted(set(want) & set(have)):
            if want[common] != have[common]:
                report.fail(str(path), f"route {common[0]} {common[1]} differs from {example}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k8s", nargs="*", default=[], type=labelled, help="OVERLAY=RENDERED_FILE")
    parser.add_argument("--examples", type=labelled, help="DIR=RENDERED_FILE of the secrets example")
    parser.add_argument("--compose", type=Path, help="compose file")
    parser.add_argument("--gateway-routes", nargs="*", type=Path, default=[],
                        help="EXAMPLE_CONFIG FILE...: route tables that must match the example")
    args = parser.parse_args()
    report = Report()
    examples = check_examples(report, *args.examples) if args.examples else []
    for label, path in args.k8s:
        check_overlay(report, label, path, examples)
    if args.compose:
        check_compose(report, args.compose)
    if args.gateway_routes:
        check_gateway_routes(report, args.gateway_routes[0], args.gateway_routes[1:])
    for problem in report.problems:
        print(problem)
    if report.problems:
        print(f"check_manifests: {len(report.problems)} problem(s)")
        return 1
    print(f"check_manifests: ok ({len(args.k8s)} overlays{', compose' if args.compose else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
