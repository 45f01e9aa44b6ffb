#!/usr/bin/env python3
"""Structural checks of observability/ that promtool cannot do (run by scripts/check-ops.sh).

- METRICS.md is the list of allowed metric names (histograms imply _bucket/_sum/_count).
- Dashboards: valid JSON, unique dashboard uids, unique panel ids per dashboard, every datasource
  uid provisioned (and of the provisioned type), every Prometheus expression (panels and template
  variables) uses only metrics from METRICS.md, every $variable used is defined.
- Alert rules: severity, summary, description and runbook_url on every rule; the runbook anchor
  exists in README.md; only metrics from METRICS.md.
- Alert tests: every alert has a test where it fires and one where it stays silent.
- Grafana datasource provisioning: unique uids, exemplar links point at a provisioned datasource.
- OpenTelemetry Collector: pipelines only use components that are defined, OTLP/HTTP on 4318.

Prints one line per problem ("path: what is wrong") and exits 1 if there was any.
Usage: check_observability.py [OBSERVABILITY_DIR]
"""

import json
import re
import sys
from pathlib import Path

import yaml

PROMQL_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "inf", "nan", "atan2", "start", "end",
}
GRAFANA_BUILTIN_VARS = {
    "__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
    "__name", "__all", "__dashboard", "__from", "__to", "__org", "__user", "__timeFilter",
}
SEVERITIES = {"critical", "warning", "info"}


class Report:
    def __init__(self, root: Path):
        self.root = root
        self.problems: list[str] = []

    def fail(self, path: Path, message: str) -> None:
        try:
            shown = path.relative_to(self.root.parent)
        except ValueError:
            shown = path
        self.problems.append(f"{shown}: {message}")


def load_yaml(report: Report, path: Path):
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        report.fail(path, f"cannot read YAML: {err}")
        return None


# --- METRICS.md -------------------------------------------------------------------------------

def allowed_metrics(report: Report, path: Path) -> set[str]:
    names: set[str] = set()
    row = re.compile(r"^\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|\s*(\w+)\s*\|")
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        report.fail(path, f"cannot read: {err}")
        return names
    for number, line in enumerate(lines, 1):
        match = row.match(line)
        if not match:
            continue
        name, kind = match.group(1), match.group(2)
        if kind not in {"counter", "gauge", "histogram"}:
            report.fail(path, f"line {number}: {name} has unknown type {kind!r}")
        if name in names:
            report.fail(path, f"line {number}: {name} is listed twice")
        names.add(name)
        if kind == "histogram":
            names.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
    if not names:
        report.fail(path, "no metric rows found (| `name` | type | labels | meaning |)")
    return names


def metric_names(expr: str) -> set[str]:
    """Metric names referenced by a PromQL expression (Grafana variables allowed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"'(?:[^'\\]|\\.)*'", "''", text)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\{[^}]*\}|\$\w+", " ", text)  # Grafana variables
    found = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        token = match.group(0)
        before = text[match.start() - 1] if match.start() else " "
        if before.isdigit() or before == ".":
            continue  # the unit of a duration or a number's exponent
        if text[match.end():].lstrip().startswith("("):
            continue  # a function or an aggregation
        if token.lower() in PROMQL_KEYWORDS:
            continue
        found.add(token)
    return found


def check_expr(report: Report, path: Path, where: str, expr: str, allowed: set[str]) -> None:
    if not expr or not expr.strip():
        report.fail(path, f"{where}: empty expression")
        return
    if expr.count("(") != expr.count(")"):
        report.fail(path, f"{where}: unbalanced parentheses in {expr!r}")
    for name in sorted(metric_names(expr) - allowed):
        report.fail(path, f"{where}: metric {name!r} is not in METRICS.md")


# --- Grafana ----------------------------------------------------------------------------------

def provisioned_datasources(report: Report, path: Path) -> dict[str, str]:
    doc = load_yaml(report, path) or {}
    sources: dict[str, str] = {}
    for ds in doc.get("datasources", []):
        uid, kind = ds.get("uid"), ds.get("type")
        if not uid:
            report.fail(path, f"datasource {ds.get('name')!r} has no uid (dashboards need a fixed one)")
            continue
        if uid in sources:
            report.fail(path, f"datasource uid {uid!r} is provisioned twice")
        sources[uid] = kind
    for ds in doc.get("datasources", []):
        for dest in (ds.get("jsonData") or {}).get("exemplarTraceIdDestinations", []):
            target = dest.get("datasourceUid")
            if target and target not in sources:
                report.fail(path, f"exemplar link of {ds.get('uid')!r} points at unknown datasource {target!r}")
    if not sources:
        report.fail(path, "no datasources provisioned")
    return sources


def iter_panels(panels):
    for panel in panels or []:
        yield panel
        yield from iter_panels(panel.get("panels"))


def check_datasource(report, path, where, ref, sources):
    if ref is None:
        return None
    if isinstance(ref, str):
        if ref.startswith("$"):
            return None
        report.fail(path, f"{where}: datasource given by name {ref!r}; use {{type, uid}}")
        return None
    uid, kind = ref.get("uid"), ref.get("type")
    if uid in ("-- Grafana --", "-- Mixed --", "-- Dashboard --") or (uid or "").startswith("$"):
        return kind
    if uid not in sources:
        report.fail(path, f"{where}: datasource uid {uid!r} is not provisioned")
    elif kind and sources[uid] != kind:
        report.fail(path, f"{where}: datasource {uid!r} is provisioned as {sources[uid]!r}, not {kind!r}")
    return sources.get(uid, kind)


def check_dashboard(report: Report, path: Path, sources, allowed, seen_uids) -> None:
    try:
        dash = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        report.fail(path, f"invalid JSON: {err}")
        return
    uid = dash.get("uid")
    if not uid or not dash.get("title"):
        report.fail(path, "dashboard needs a uid and a title")
    elif uid in seen_uids:
        report.fail(path, f"dashboard uid {uid!r} also used by {seen_uids[uid]}")
    else:
        seen_uids[uid] = path.name

    defined_vars = set()
    for var in (dash.get("templating") or {}).get("list", []):
        name = var.get("name")
        defined_vars.add(name)
        where = f"variable {name!r}"
        kind = check_datasource(report, path, where, var.get("datasource"), sources)
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if var.get("type") == "query" and kind == "prometheus" and isinstance(query, str):
            match = re.fullmatch(r"\s*label_values\(\s*(.*?)\s*,\s*\w+\s*\)\s*", query)
            check_expr(report, path, where, match.group(1) if match else query, allowed)

    ids = {}
    panels = list(iter_panels(dash.get("panels")))
    if not [p for p in panels if p.get("type") != "row"]:
        report.fail(path, "dashboard has no panels")
    for panel in panels:
        pid, title = panel.get("id"), panel.get("title")
        where = f"panel {pid} {title!r}"
        if pid is None:
            report.fail(path, f"panel {title!r} has no id")
        elif pid in ids:
            report.fail(path, f"panel id {pid} used by {ids[pid]!r} and {title!r}")
        else:
            ids[pid] = title
        if not title:
            report.fail(path, f"panel {pid} has no title")
        if panel.get("type") == "row":
            continue
        panel_kind = check_datasource(report, path, where, panel.get("datasource"), sources)
        targets = panel.get("targets") or []
        if not targets:
            report.fail(path, f"{where}: no queries")
        for target in targets:
            kind = check_datasource(report, path, where, target.get("datasource"), sources) or panel_kind
            if kind == "prometheus":
                expr = target.get("expr", "")
                check_expr(report, path, f"{where} query {target.get('refId')}", expr, allowed)
                for var in re.findall(r"\$\{?(\w+)", expr):
                    if var not in defined_vars and var not in GRAFANA_BUILTIN_VARS:
                        report.fail(path, f"{where}: uses ${var}, which the dashboard does not define")


# --- Prometheus rules and their tests ---------------------------------------------------------

def readme_anchors(path: Path) -> set[str]:
    anchors = set()
    try:
        text = path.read_text()
    except OSError:
        return anchors
    anchors.update(re.findall(r'<a\s+(?:id|name)="([^"]+)"', text))
    for heading in re.findall(r"^#+\s+(.*)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def check_rules(report: Report, path: Path, allowed, anchors) -> set[str]:
    doc = load_yaml(report, path) or {}
    alerts = set()
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("alert") or rule.get("record")
            where = f"rule {name!r}"
            check_expr(report, path, where, str(rule.get("expr", "")), allowed)
            if "record" in rule:
                continue
            alerts.add(name)
            if (rule.get("labels") or {}).get("severity") not in SEVERITIES:
                report.fail(path, f"{where}: labels.severity must be one of {sorted(SEVERITIES)}")
            annotations = rule.get("annotations") or {}
            for key in ("summary", "description", "runbook_url"):
                if not annotations.get(key):
                    report.fail(path, f"{where}: annotations.{key} is missing")
            runbook = annotations.get("runbook_url", "")
            if runbook:
                target, _, anchor = runbook.partition("#")
                if not target.endswith("observability/README.md") or not anchor:
                    report.fail(path, f"{where}: runbook_url should be observability/README.md#<anchor>")
                elif anchor not in anchors:
                    report.fail(path, f"{where}: runbook anchor #{anchor} is not in observability/README.md")
    if not alerts:
        report.fail(path, "no alert rules found")
    return alerts


def check_rule_tests(report: Report, path: Path, alerts: set[str]) -> None:
    doc = load_yaml(report, path) or {}
    fires, silent = set(), set()
    for test in doc.get("tests", []):
        for case in test.get("alert_rule_test", []):
            name = case.get("alertname")
            if name not in alerts:
                report.fail(path, f"test {test.get('name')!r}: unknown alert {name!r}")
            (fires if case.get("exp_alerts") else silent).add(name)
    for name in sorted(alerts):
        if name not in fires:
            report.fail(path, f"alert {name!r} has no test in which it fires")
        if name not in silent:
            report.fail(path, f"alert {name!r} has no test in which it stays silent (exp_alerts: [])")


# --- OpenTelemetry Collector ------------------------------------------------------------------

def check_collector(report: Report, path: Path, overlays: list[Path]) -> None:
    doc = load_yaml(report, path) or {}
    for overlay in overlays:
        extra = load_yaml(report, overlay) or {}
        for section, body in extra.items():
            if section == "service":
                pipelines = (body or {}).get("pipelines", {})
                for name, pipeline in pipelines.items():
                    doc.setdefault("service", {}).setdefault("pipelines", {}).setdefault(name, {}).update(pipeline)
            else:
                for key, value in (body or {}).items():
                    doc.setdefault(section, {})[key] = value
        check_collector_doc(report, overlay, doc)
    check_collector_doc(report, path, load_yaml(report, path) or {})
    http = ((((doc.get("receivers") or {}).get("otlp") or {}).get("protocols") or {}).get("http") or {})
    if not str(http.get("endpoint", "")).endswith(":4318"):
        report.fail(path, "receivers.otlp.protocols.http.endpoint must listen on port 4318")


def check_collector_doc(report: Report, path: Path, doc: dict) -> None:
    service = doc.get("service") or {}
    for ext in service.get("extensions", []):
        if ext not in (doc.get("extensions") or {}):
            report.fail(path, f"service.extensions: {ext!r} is not defined under extensions")
    pipelines = service.get("pipelines") or {}
    if not pipelines:
        report.fail(path, "service.pipelines is empty")
    for name, pipeline in pipelines.items():
        for section in ("receivers", "processors", "exporters"):
            for component in pipeline.get(section, []):
                if component not in (doc.get(section) or {}):
                    report.fail(path, f"pipeline {name}: {section[:-1]} {component!r} is not defined")
        for section in ("receivers", "exporters"):
            if not pipeline.get(section):
                report.fail(path, f"pipeline {name}: no {section}")


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    report = Report(root)
    allowed = allowed_metrics(report, root / "METRICS.md")
    sources = provisioned_datasources(report, root / "grafana/provisioning/datasources/datasources.yaml")

    dashboards = sorted((root / "grafana/dashboards").glob("*.json"))
    if not dashboards:
        report.fail(root / "grafana/dashboards", "no dashboards")
    seen_uids: dict[str, str] = {}
    for path in dashboards:
        check_dashboard(report, path, sources, allowed, seen_uids)
    provider = load_yaml(report, root / "grafana/provisioning/dashboards/dashboards.yaml") or {}
    if not provider.get("providers"):
        report.fail(root / "grafana/provisioning/dashboards/dashboards.yaml", "no dashboard provider")

    anchors = readme_anchors(root / "README.md")
    alerts = check_rules(report, root / "prometheus/alerts.yml", allowed, anchors)
    check_rule_tests(report, root / "prometheus/alerts.test.yml", alerts)

    collector = root / "otel-collector"
    check_collector(report, collector / "config.yaml", sorted(p for p in collector.glob("*.yaml") if p.name != "config.yaml"))
    load_yaml(report, root / "tempo/tempo.yaml")

    for problem in report.problems:
        print(problem)
    checked = f"{len(dashboards)} dashboards, {len(alerts)} alerts, {len(allowed)} metric series names"
    if report.problems:
        print(f"check_observability: {len(report.problems)} problem(s) ({checked})")
        return 1
    print(f"check_observability: ok ({checked})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
