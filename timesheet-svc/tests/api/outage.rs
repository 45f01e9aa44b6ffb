//! The database server goes away while requests flow, then comes back: the service answers 503
//! problems meanwhile, recovers by itself, and loses no write it acknowledged.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::json;
use timesheet_domain::ProblemType;

use crate::helpers::proxy::postgres_authority;
use crate::helpers::proxy::CuttableProxy;
use crate::helpers::{admin, days_ago, spawn_app_with, with_authority, Backend};

/// What one write attempt got.
#[derive(Debug)]
struct Attempt {
    external_id: String,
    status: u16,
    problem_type: Option<String>,
}

#[tokio::test]
async fn writes_get_503_during_a_database_outage_and_recover_without_losing_acknowledged_ones_postgres(
) {
    // Arrange: the service reaches PostgreSQL only through a proxy the test can cut.
    let mut proxy = CuttableProxy::start(postgres_authority()).await;
    let via_proxy = proxy.addr.to_string();
    let (app, server) =
        spawn_app_with(Backend::Postgres, |url| with_authority(url, &via_proxy)).await;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let writer = tokio::spawn({
        let app = app.clone();
        async move {
            let mut attempts = Vec::new();
            // Bounded: at most 2,000 writes, whatever happens.
            for n in 0..2000 {
                if *stop_rx.borrow_and_update() {
                    break;
                }
                let external_id = format!("outage-{n}");
                let body = json!({
                    "external_id": external_id,
                    "worker": {"external_id": format!("w-{}", n % 50), "kind": "contractor"},
                    "date": days_ago(i64::from(n % 20) + 1),
                    "project": "OUTAGE",
                    "minutes": 5,
                });
                let response = app
                    .call(reqwest::Method::POST, "/v1/timesheets/entries", &admin())
                    .json(&body)
                    .send()
                    .await;
                attempts.push(Attempt {
                    external_id,
                    status: response.status,
                    problem_type: serde_json::from_str::<serde_json::Value>(&response.body)
                        .ok()
                        .and_then(|v| v["type"].as_str().map(str::to_owned)),
                });
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            attempts
        }
    });

    // Act: let writes succeed, cut the database off, wait, restore it, let writes recover.
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.cut().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let recovered = loop {
        let probe = app.get_public("/readyz").await;
        if probe.status == 200 || Instant::now() > deadline {
            break probe.status == 200;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = stop_tx.send(true);
    let attempts = writer.await.expect("the writer task");

    // Assert
    assert!(
        recovered,
        "the service did not become ready again within 20 s"
    );
    let unavailable = ProblemType::ServiceUnavailable.uri();
    assert!(
        attempts.iter().all(|a| a.status == 201 || a.status == 503),
        "only 201 and 503 are acceptable during an outage: {:?}",
        attempts
            .iter()
            .filter(|a| a.status != 201 && a.status != 503)
            .collect::<Vec<_>>()
    );
    assert!(
        attempts
            .iter()
            .filter(|a| a.status == 503)
            .all(|a| a.problem_type.as_deref() == Some(unavailable.as_str())),
        "every 503 is a service-unavailable problem"
    );
    let first_503 = attempts.iter().position(|a| a.status == 503);
    let last_503 = attempts.iter().rposition(|a| a.status == 503);
    let (Some(first_503), Some(last_503)) = (first_503, last_503) else {
        panic!("no request saw the outage: {attempts:?}");
    };
    assert!(
        attempts[..first_503].iter().any(|a| a.status == 201),
        "writes succeeded before the outage"
    );
    assert!(
        attempts[last_503..].iter().any(|a| a.status == 201),
        "writes succeed again after the database returns"
    );
    let acknowledged: HashSet<&str> = attempts
        .iter()
        .filter(|a| a.status == 201)
        .map(|a| a.external_id.as_str())
        .collect();
    let stored = app.all_entries("source=api&limit=1000").await;
    let stored_ids: Vec<&str> = stored
        .iter()
        .filter_map(|e| e.external_id.as_deref())
        .collect();
    let stored_set: HashSet<&str> = stored_ids.iter().copied().collect();
    assert_eq!(
        stored_ids.len(),
        stored_set.len(),
        "no entry is stored twice"
    );
    let lost: Vec<_> = acknowledged.difference(&stored_set).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    server.stop().await;
}
