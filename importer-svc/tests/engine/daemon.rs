//! The daemon: runs on its schedule, serves metrics under the agreed names over a real socket,
//! and stops cleanly when asked.

use std::sync::Arc;
use std::time::Duration;

use importer_svc::daemon::{parse_schedule, run_daemon};
use importer_svc::metrics::Metrics;
use importer_svc::shutdown::stop_pair;

use crate::harness::{on_both_backends, Scenario, TestState};

async fn get(client: &reqwest::Client, url: &str) -> (u16, String) {
    let response = client.get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn the_daemon_runs_on_schedule_serves_metrics_and_stops_cleanly(db: &TestState) {
    let s = Scenario::new(db);
    s.source.set_incremental(true);
    s.source.put_many(3);
    s.api.reject("e2");
    let metrics = Arc::new(Metrics::new().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (handle, stop) = stop_pair();
    let deps = importer_svc::run::Deps {
        metrics: Some(metrics.clone()),
        ..s.deps(true, stop)
    };
    let schedule = parse_schedule("* * * * * *").unwrap();
    let daemon = tokio::spawn(run_daemon(deps, schedule, listener, metrics));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    // Two ticks: the first imports, the second finds nothing to send.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let text = loop {
        let (status, text) = get(&client, &format!("{base}/metrics")).await;
        assert_eq!(status, 200);
        if s.state.recent_runs(10).await.unwrap().len() >= 2 {
            break get(&client, &format!("{base}/metrics")).await.1;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no second run:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    for line in [
        "importer_runs_total{outcome=\"partial\"} 1",
        "importer_runs_total{outcome=\"failed\"} 0",
        "importer_entries_total{outcome=\"created\"} 2",
        "importer_entries_total{outcome=\"rejected\"} 1",
        "importer_entries_total{outcome=\"deleted\"} 0",
        "importer_token_requests_total 1",
        "importer_api_retries_total 0",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    assert!(text.contains("importer_runs_total{outcome=\"success\"} "));
    for name in [
        "importer_last_success_timestamp_seconds ",
        "importer_last_run_timestamp_seconds ",
        "importer_source_lag_seconds ",
        "importer_run_duration_seconds_bucket",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert_eq!(
        get(&client, &format!("{base}/healthz")).await,
        (200, "ok\n".into())
    );
    assert_eq!(s.api.upload_calls(), 2, "later ticks sent again");

    handle.stop();
    let stopped = tokio::time::timeout(Duration::from_secs(10), daemon).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
    assert!(client.get(format!("{base}/healthz")).send().await.is_err());
}
on_both_backends!(
    the_daemon_runs_on_schedule_serves_metrics_and_stops_cleanly,
    the_daemon_runs_on_schedule_serves_metrics_and_stops_cleanly_sqlite,
    the_daemon_runs_on_schedule_serves_metrics_and_stops_cleanly_postgres
);
