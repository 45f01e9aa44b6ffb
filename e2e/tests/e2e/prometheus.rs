//! A real Prometheus scrapes the running stack with the repository's alert rules loaded; every
//! dashboard panel expression and every alert rule is then evaluated against what it scraped.
//! This catches what `promtool` and `check-ops.sh` cannot: a metric renamed in code but not in
//! a dashboard, a label a panel filters on that the service never sets, a rule that fires on a
//! healthy stack.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{TestStack, Who};
use crate::inbox;

/// Panels that have data only when something is wrong, as (dashboard file stem, panel title).
/// Each needs a reason; they may be at most 30% of all panel expressions.
const MAY_BE_EMPTY: &[(&str, &str)] = &[
    // Ratios whose numerator is a 5xx series: no server error, no series, no ratio.
    ("gateway-overview", "5xx ratio"),
    ("gateway-overview", "5xx ratio by tenant"),
    ("timesheet-svc", "5xx ratio"),
    // Store errors (503 on pool timeout, 500 on internal errors) do not happen on a healthy stack.
    ("timesheet-svc", "DB errors by kind"),
    // The lag needs a source watermark; the file inbox keeps none (only Harvest does).
    ("importer", "Source lag"),
];

/// What must hold in Prometheus before panels are judged (each is at least 1 once it holds):
/// the targets scraped often enough for `rate()`, and the traffic and import that feed panels.
const EVIDENCE: &[&str] = &[
    // The job names of observability/prometheus/prometheus.yml, all scraped successfully.
    r#"count(up{job=~"gateway|timesheet-svc|importer"} == 1) == 3"#,
    "min(count_over_time(up[1m])) >= 5",
    r#"sum(gateway_requests_total{status="200"}) >= 5"#,
    r#"sum(gateway_requests_total{status="401"}) >= 3"#,
    r#"sum(gateway_requests_total{status="403"}) >= 3"#,
    "sum(gateway_rate_limited_total) >= 1",
    "sum(gateway_auth_failures_total) >= 3",
    "sum(gateway_token_cache_hits_total) >= 1",
    r#"sum(importer_entries_total{outcome="created"}) >= 30"#,
    r#"sum(timesheet_upload_items_total{outcome="created"}) >= 30"#,
];

/// The tenant put in place of the dashboards' `$tenant` (the example configuration's tenant).
const TENANT: &str = "exampleco";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate sits in the workspace root")
        .to_path_buf()
}

/// The Prometheus server binary; `PROMETHEUS_BIN` overrides the Debian package's path.
fn prometheus_binary() -> PathBuf {
    let path = std::env::var_os("PROMETHEUS_BIN")
        .map_or_else(|| PathBuf::from("/usr/bin/prometheus"), PathBuf::from);
    assert!(
        path.is_file(),
        "no Prometheus binary at {} (install Debian's `prometheus` package, as \
         scripts/check-ops.sh does, or set PROMETHEUS_BIN). This test is never skipped.",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// `http://127.0.0.1:<port>/metrics` as a (target, path) pair for a static scrape config.
fn target_of(url: &str) -> (String, String) {
    let rest = url
        .strip_prefix("http://")
        .expect("a plain HTTP metrics URL");
    let (host, path) = rest.split_once('/').expect("a metrics path");
    (host.to_owned(), format!("/{path}"))
}

/// The scrape configuration of observability/prometheus/prometheus.yml (same job names), pointed
/// at this stack and scraping every second. JSON is YAML, so no YAML writer is needed.
fn prometheus_config(stack: &TestStack) -> Value {
    let job = |name: &str, key: &str| {
        let (target, path) = target_of(&stack.env(key));
        json!({
            "job_name": name,
            "metrics_path": path,
            "static_configs": [{"targets": [target]}],
        })
    };
    json!({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [repo_root().join("observability/prometheus/alerts.yml")],
        "scrape_configs": [
            job("gateway", "GATEWAY_METRICS_URL"),
            job("timesheet-svc", "TIMESHEET_SVC_METRICS_URL"),
            job("importer", "IMPORTER_METRICS_URL"),
        ],
    })
}

/// A Prometheus server in a temporary directory, killed when dropped.
struct Prometheus {
    _child: tokio::process::Child,
    base: String,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Prometheus {
    async fn start(binary: &Path, config: &Value) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, serde_json::to_string_pretty(config).unwrap()).unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let port = free_port();
        let child = tokio::process::Command::new(binary)
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("prometheus starts");
        let prometheus = Self {
            _child: child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            dir,
        };
        prometheus
            .wait_for(
                "Prometheus to be ready",
                Duration::from_secs(30),
                || async {
                    let ready = prometheus
                        .http
                        .get(format!("{}/-/ready", prometheus.base))
                        .send()
                        .await;
                    ready.is_ok_and(|r| r.status().is_success())
                },
            )
            .await;
        prometheus
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    async fn api(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let response = self
            .http
            .get(format!("{}/api/v1/{path}", self.base))
            .query(query)
            .send()
            .await
            .unwrap_or_else(|e| panic!("Prometheus {path}: {e}\n{}", self.log()));
        response.json().await.expect("a JSON API answer")
    }

    /// The first sample's value of `expr`, when it has one.
    async fn value(&self, expr: &str) -> Option<f64> {
        let result = self.query(expr).await.ok()?;
        result.first()?["value"][1].as_str()?.parse().ok()
    }

    /// The instant-query result of `expr`, or the API's error.
    async fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let body = self.api("query", &[("query", expr)]).await;
        if body["status"] != "success" {
            return Err(format!("{}: {}", body["errorType"], body["error"]));
        }
        let data = &body["data"];
        Ok(match data["resultType"].as_str() {
            Some("vector" | "matrix") => data["result"].as_array().cloned().unwrap_or_default(),
            // A scalar or string is one value.
            _ => vec![data["result"].clone()],
        })
    }

    async fn wait_for<F, Fut>(&self, what: &str, limit: Duration, mut done: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + limit;
        while !done().await {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n--- prometheus log\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Requests that make the panels' series exist: reads (with a cached token), 401s, 403s, 429s.
async fn drive_traffic(stack: &TestStack) {
    let reader = stack.token(Who::Reader).await;
    let importer = stack.token(Who::Importer).await;
    for _ in 0..5 {
        assert_eq!(
            stack.get("/v1/timesheets/entries", &reader).await.status,
            200
        );
    }
    for _ in 0..3 {
        let no_token = stack
            .call(Method::GET, "/v1/timesheets/entries", None, None)
            .await;
        assert_eq!(no_token.status, 401, "{}", no_token.text);
        let importer_reads = stack
            .call(Method::GET, "/v1/timesheets/entries", Some(&importer), None)
            .await;
        assert_eq!(importer_reads.status, 403, "{}", importer_reads.text);
    }
    // A burst beyond the reader's limit (twice `client_rate_limit`) so the 429 panels have data.
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..60 {
        let request = stack
            .http
            .get(stack.gateway_url("/v1/timesheets/entries?limit=1"))
            .bearer_auth(&reader);
        burst.spawn(async move { request.send().await.map(|r| r.status().as_u16()) });
    }
    let statuses: Vec<u16> = burst
        .join_all()
        .await
        .into_iter()
        .map(|r| r.expect("the gateway answers"))
        .collect();
    assert!(
        statuses.contains(&429),
        "a burst of 60 reads is throttled: {statuses:?}"
    );
}

/// One `expr` of one dashboard panel target.
struct PanelExpr {
    dashboard: String,
    title: String,
    expr: String,
}

fn panel_exprs() -> (Vec<PanelExpr>, Vec<(String, String)>) {
    let dir = repo_root().join("observability/grafana/dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut exprs = Vec::new();
    let mut variables = Vec::new();
    for file in files {
        let dashboard: Value = serde_json::from_slice(&std::fs::read(&file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        for variable in dashboard["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let query = &variable["query"];
            let query = query["query"].as_str().or_else(|| query.as_str());
            if let Some(query) = query {
                variables.push((stem.clone(), query.to_owned()));
            }
        }
        collect_panels(&stem, &dashboard["panels"], &mut exprs);
    }
    (exprs, variables)
}

/// Panels nest inside rows; every target with an `expr` is collected.
fn collect_panels(dashboard: &str, panels: &Value, out: &mut Vec<PanelExpr>) {
    for panel in panels.as_array().into_iter().flatten() {
        collect_panels(dashboard, &panel["panels"], out);
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                out.push(PanelExpr {
                    dashboard: dashboard.to_owned(),
                    title: panel["title"].as_str().unwrap_or_default().to_owned(),
                    expr: expr.to_owned(),
                });
            }
        }
    }
}

/// What Grafana would put in place of its variables, with `tenant` set to a real tenant.
fn substitute(expr: &str, tenant: &str) -> String {
    let mut out = expr.to_owned();
    // Longest names first, so `$__range` does not eat the start of `$__range_s`.
    for (name, value) in [
        ("__rate_interval", "1m"),
        ("__interval", "15s"),
        ("__range", "5m"),
        ("tenant", tenant),
    ] {
        out = out.replace(&format!("${{{name}}}"), value);
        out = out.replace(&format!("${name}"), value);
    }
    assert!(
        !out.contains('$'),
        "a Grafana variable the test does not know: {expr}"
    );
    out
}

/// `label_values(metric, label)` (Grafana's variable query) through the label-values API.
async fn label_values(prometheus: &Prometheus, query: &str) -> Vec<String> {
    let inner = query
        .trim()
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .unwrap_or_else(|| panic!("a variable query the test does not know: {query}"));
    let (metric, label) = inner.rsplit_once(',').expect("label_values(metric, label)");
    let body = prometheus
        .api(
            &format!("label/{}/values", label.trim()),
            &[("match[]", metric.trim())],
        )
        .await;
    assert_eq!(body["status"], "success", "{query}: {body}");
    body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Every panel expression is valid PromQL and has data, unless allow-listed (and the list stays
/// short). Failures are collected so one run names every broken panel.
async fn check_panels(prometheus: &Prometheus) {
    let (panels, variables) = panel_exprs();
    for (dashboard, query) in &variables {
        let values = label_values(prometheus, query).await;
        assert!(!values.is_empty(), "{dashboard}: no values for {query}");
        if query.contains("tenant") {
            assert!(values.iter().any(|v| v == TENANT), "{query}: {values:?}");
        }
    }
    let allowed = |p: &PanelExpr| MAY_BE_EMPTY.contains(&(p.dashboard.as_str(), p.title.as_str()));
    let mut failures = Vec::new();
    for panel in &panels {
        let expr = substitute(&panel.expr, TENANT);
        let what = format!("{}/{}: {expr}", panel.dashboard, panel.title);
        match prometheus.query(&expr).await {
            Err(error) => failures.push(format!("{what}: {error}")),
            Ok(result) if result.is_empty() && !allowed(panel) => {
                failures.push(format!("{what}: no data"));
            }
            Ok(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "panel expressions failed:\n{}",
        failures.join("\n")
    );
    for (dashboard, title) in MAY_BE_EMPTY {
        let exists = panels
            .iter()
            .any(|p| p.dashboard == *dashboard && p.title == *title);
        assert!(exists, "MAY_BE_EMPTY names no panel: {dashboard}/{title}");
    }
    let allow_listed = panels.iter().filter(|p| allowed(p)).count();
    assert!(
        allow_listed * 10 <= panels.len() * 3,
        "{allow_listed} of {} panel expressions may be empty: more than 30%",
        panels.len()
    );
    eprintln!(
        "prometheus: {} panel expressions, {allow_listed} allowed to be empty",
        panels.len()
    );
}

/// Every rule of alerts.yml is loaded, has been evaluated, is accepted as a query, and nothing
/// fires or is pending.
async fn check_rules(prometheus: &Prometheus) {
    let body = prometheus.api("rules", &[]).await;
    let groups = body["data"]["groups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for group in &groups {
        let evaluated = group["lastEvaluation"].as_str().unwrap_or("0001");
        assert!(!evaluated.starts_with("0001"), "never evaluated: {group}");
    }
    let rules: Vec<&Value> = groups
        .iter()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    let alerts_yml = repo_root().join("observability/prometheus/alerts.yml");
    let in_file = std::fs::read_to_string(alerts_yml)
        .unwrap()
        .lines()
        .filter(|l| l.trim_start().starts_with("- alert:"))
        .count();
    assert_eq!(rules.len(), in_file, "rules loaded: {rules:?}");
    for rule in &rules {
        let expr = rule["query"].as_str().expect("a rule query");
        assert_eq!(rule["health"], "ok", "{rule}");
        let result = prometheus.query(expr).await;
        assert!(result.is_ok(), "{}: {expr}: {result:?}", rule["name"]);
    }
    let alerts = prometheus.query("ALERTS").await.unwrap();
    assert!(
        alerts.is_empty(),
        "alerts firing or pending on a healthy stack: {alerts:?}"
    );
    eprintln!("prometheus: {} alert rules, none firing", rules.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_stack_and_every_panel_and_rule_evaluates() {
    // Arrange: the importer daemon runs every second on a clean source; the reader may send 10
    // requests per second, so a burst gets 429s.
    let binary = prometheus_binary();
    let stack = TestStack::start_with(crate::harness::Db::Sqlite, |spec| {
        spec.importer = devstack::ImporterMode::Daemon {
            schedule: "* * * * * *".to_owned(),
        };
        spec.client_rate_limit = 10;
    })
    .await;
    inbox::write(&stack.inbox, &inbox::many("prom", 30), &[]);
    let prometheus = Prometheus::start(&binary, &prometheus_config(&stack)).await;

    // Act
    drive_traffic(&stack).await;
    for expr in EVIDENCE {
        prometheus
            .wait_for(expr, Duration::from_secs(60), || async {
                prometheus.value(expr).await.is_some_and(|v| v >= 1.0)
            })
            .await;
    }

    // Assert
    check_panels(&prometheus).await;
    check_rules(&prometheus).await;
    drop(prometheus);
    stack.finish().await;
}
