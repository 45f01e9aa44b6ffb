//! The importer against the real gateway, service and dev-idp: exact first import, idle second
//! run, edits, back-dating and deletions, malformed rows, and the token economy.

use std::collections::HashMap;

use serde_json::Value;

use crate::harness::{describe, Db, TestStack, Who};
use crate::inbox::{self, Row};

const SOURCE: &str = "contractor-tracker";

/// The JSON run report printed by `importer-svc run --json`.
pub fn report(output: &std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Value>(line).ok())
        .or_else(|| serde_json::from_str(&stdout).ok())
        .unwrap_or_else(|| panic!("no JSON report on stdout:\n{}", describe(output)))
}

/// The sample data as the API should hold it: external id -> (date, minutes, project, worker).
fn samples(stack: &TestStack) -> HashMap<String, (String, u64, String, String)> {
    let mut expected = HashMap::new();
    for entry in std::fs::read_dir(&stack.inbox).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl") => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let v: Value = serde_json::from_str(line).unwrap();
                    let minutes = v["minutes"].as_u64().unwrap_or_else(|| {
                        let hours: f64 = v["hours"]
                            .as_str()
                            .map_or_else(|| v["hours"].as_f64().unwrap(), |h| h.parse().unwrap());
                        (hours * 60.0).round() as u64
                    });
                    expected.insert(
                        v["external_id"].as_str().unwrap().to_owned(),
                        (
                            v["date"].as_str().unwrap().to_owned(),
                            minutes,
                            v["project"].as_str().unwrap().to_owned(),
                            v["worker"]["external_id"].as_str().unwrap().to_owned(),
                        ),
                    );
                }
            }
            Some("csv") => {
                let mut reader = csv::Reader::from_reader(text.as_bytes());
                let headers = reader.headers().unwrap().clone();
                for record in reader.records() {
                    let record = record.unwrap();
                    let field = |name: &str| {
                        let i = headers.iter().position(|h| h == name).unwrap();
                        record.get(i).unwrap_or_default().to_owned()
                    };
                    let minutes = match field("minutes").as_str() {
                        "" => (field("hours").parse::<f64>().unwrap() * 60.0).round() as u64,
                        m => m.parse().unwrap(),
                    };
                    expected.insert(
                        field("external_id"),
                        (
                            field("date"),
                            minutes,
                            field("project"),
                            field("worker_external_id"),
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    expected
}

async fn first_run_imports_the_samples_exactly_and_a_second_run_sends_nothing(db: Db) {
    // Arrange
    let stack = TestStack::start(db).await;
    let expected = samples(&stack);
    let reader = stack.token(Who::Reader).await;

    // Act
    let first = stack.importer(&["run", "--json"]).await;
    let second = stack.importer(&["run", "--json"]).await;

    // Assert: the first run created every sample row, as it is in the files.
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    let first_report = report(&first);
    assert_eq!(first_report["created"], expected.len(), "{first_report}");
    assert_eq!(first_report["rejected"], 0);
    assert_eq!(first_report["tokens_requested"], 1);
    let stored = stack.entries(&reader, SOURCE).await;
    assert_eq!(stored.len(), expected.len());
    for entry in &stored {
        let id = entry["external_id"].as_str().unwrap();
        let (date, minutes, project, worker) = &expected[id];
        assert_eq!(entry["date"], date.as_str(), "{entry}");
        assert_eq!(entry["minutes"], *minutes, "{entry}");
        assert_eq!(entry["project"], project.as_str(), "{entry}");
        assert_eq!(entry["worker"]["external_id"], worker.as_str(), "{entry}");
    }
    // The second run found nothing changed: nothing sent, no token asked for.
    assert_eq!(second.status.code(), Some(0), "{}", describe(&second));
    let second_report = report(&second);
    assert_eq!(second_report["created"], 0, "{second_report}");
    assert_eq!(second_report["updated"], 0);
    assert_eq!(second_report["skipped"], expected.len());
    assert_eq!(second_report["tokens_requested"], 0);
    assert_eq!(stack.tokens_issued(Who::Importer).await, 1);
    assert_eq!(stack.entries(&reader, SOURCE).await.len(), expected.len());
    stack.finish().await;
}
e2e_test!(first_run_imports_the_samples_exactly_and_a_second_run_sends_nothing);

async fn edits_backdating_and_deletions_in_the_source_are_reflected_on_the_next_run(db: Db) {
    // Arrange: four rows imported.
    let stack = TestStack::start(db).await;
    let reader = stack.token(Who::Reader).await;
    let mut rows = vec![
        Row::new("e-1", "w1", "2026-11-23", 60),
        Row::new("e-2", "w1", "2026-11-24", 60),
        Row::new("e-3", "w2", "2026-11-23", 60),
        Row::new("e-4", "w2", "2026-11-24", 60),
    ];
    inbox::write(&stack.inbox, &rows, &[]);
    let first = stack.importer(&["run", "--json"]).await;
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));

    // Act: edit e-1, back-date e-2 by a month, delete e-3, add e-5.
    rows[0].minutes = 150;
    rows[1].date = "2026-10-20".to_owned();
    rows.remove(2);
    rows.push(Row::new("e-5", "w3", "2026-11-25", 45));
    inbox::write(&stack.inbox, &rows, &[]);
    let second = stack.importer(&["run", "--json"]).await;

    // Assert
    assert_eq!(second.status.code(), Some(0), "{}", describe(&second));
    let r = report(&second);
    assert_eq!(
        (
            r["created"].as_u64(),
            r["updated"].as_u64(),
            r["deleted"].as_u64()
        ),
        (Some(1), Some(2), Some(1)),
        "{r}"
    );
    assert_eq!(r["skipped"], 1, "e-4 did not change: {r}");
    let stored: HashMap<String, Value> = stack
        .entries(&reader, SOURCE)
        .await
        .into_iter()
        .map(|e| (e["external_id"].as_str().unwrap().to_owned(), e))
        .collect();
    let mut ids: Vec<&str> = stored.keys().map(String::as_str).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec!["e-1", "e-2", "e-4", "e-5"]);
    assert_eq!(stored["e-1"]["minutes"], 150);
    assert_eq!(stored["e-2"]["date"], "2026-10-20");
    assert_eq!(stored["e-5"]["minutes"], 45);
    // The deletion is visible to other syncs as a tombstone.
    let changes = stack
        .get(
            "/v1/timesheets/entries?updated_since=2000-01-01T00:00:00Z&limit=100",
            &reader,
        )
        .await;
    let tombstone = changes.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["external_id"] == "e-3")
        .cloned()
        .unwrap_or_else(|| panic!("no tombstone for e-3: {}", changes.text));
    assert!(tombstone["deleted_at"].is_string(), "{tombstone}");
    stack.finish().await;
}
e2e_test!(edits_backdating_and_deletions_in_the_source_are_reflected_on_the_next_run);

async fn malformed_rows_are_reported_by_file_and_line_and_the_rest_is_imported(db: Db) {
    // Arrange: two good rows around two bad ones (lines 3 and 4 of entries.csv).
    let stack = TestStack::start(db).await;
    let reader = stack.token(Who::Reader).await;
    let good = [Row::new("g-1", "w1", "2026-11-23", 60)];
    inbox::write(
        &stack.inbox,
        &good,
        &[
            "b-1,w1,contractor,Worker w1,w1@example.org,2026-13-45,STOREZERO,60,,bad date,true",
            "b-2,w1,contractor,Worker w1,w1@example.org,2026-11-23,STOREZERO,0,,no minutes,true",
            "g-2,w2,contractor,Worker w2,w2@example.org,2026-11-23,STOREZERO,30,,fine,true",
        ],
    );

    // Act
    let output = stack.importer(&["run", "--json"]).await;

    // Assert
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let r = report(&output);
    assert_eq!(r["created"], 2, "{r}");
    assert_eq!(r["rejected"], 2, "{r}");
    let rejections = r["rejections"].to_string();
    assert!(rejections.contains("entries.csv:3"), "{rejections}");
    assert!(rejections.contains("entries.csv:4"), "{rejections}");
    assert!(rejections.contains("date"), "{rejections}");
    assert!(rejections.contains("minutes"), "{rejections}");
    let mut stored: Vec<String> = stack
        .entries(&reader, SOURCE)
        .await
        .iter()
        .map(|e| e["external_id"].as_str().unwrap().to_owned())
        .collect();
    stored.sort();
    assert_eq!(stored, vec!["g-1", "g-2"]);
    stack.finish().await;
}
e2e_test!(malformed_rows_are_reported_by_file_and_line_and_the_rest_is_imported);

async fn a_hundred_scheduled_runs_within_a_token_lifetime_ask_for_one_token(db: Db) {
    // Arrange
    let stack = TestStack::start(db).await;
    let mut rows = inbox::many("t", 20);

    // Act: 100 separate runs, as a CronJob or cron would start them, each with a change to
    // send, so each needs a token.
    let mut outcomes = Vec::new();
    for run in 0..100u32 {
        rows[0].minutes = 30 + run;
        inbox::write(&stack.inbox, &rows, &[]);
        let output = stack.importer(&["run", "--json"]).await;
        let sent = report(&output)["created"].as_u64().unwrap_or(0)
            + report(&output)["updated"].as_u64().unwrap_or(0);
        outcomes.push((output.status.code(), sent));
    }

    // Assert
    assert!(
        outcomes.iter().all(|(code, _)| *code == Some(0)),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|(_, sent)| *sent >= 1),
        "every run sent its change: {outcomes:?}"
    );
    assert_eq!(stack.tokens_issued(Who::Importer).await, 1);
    stack.finish().await;
}
e2e_test!(a_hundred_scheduled_runs_within_a_token_lifetime_ask_for_one_token);

/// The daemon keeps its token in memory between runs: a hundred scheduled runs, each sending a
/// change, cost one token. The store does not matter here, so this runs once, on SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_daemon_runs_within_a_token_lifetime_ask_for_one_token() {
    // Arrange: the daemon fires every second; the source changes twice as often.
    let mut rows = inbox::many("d", 10);
    let stack = TestStack::start_with(Db::Sqlite, |spec| {
        spec.importer = devstack::ImporterMode::Daemon {
            schedule: "* * * * * *".to_owned(),
        };
    })
    .await;
    inbox::write(&stack.inbox, &rows, &[]);
    let metrics_url = stack.env("IMPORTER_METRICS_URL");

    // Act
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    let mut change = 0u32;
    let successes = loop {
        change += 1;
        rows[0].minutes = 30 + change % 600;
        inbox::write(&stack.inbox, &rows, &[]);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let text = stack
            .http
            .get(&metrics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let runs = sample(&text, r#"importer_runs_total{outcome="success"}"#);
        if runs >= 100.0 || std::time::Instant::now() > deadline {
            break (runs, text);
        }
    };

    // Assert
    let (runs, text) = successes;
    assert!(runs >= 100.0, "only {runs} successful runs: {text}");
    assert_eq!(
        sample(&text, "importer_token_requests_total"),
        1.0,
        "{text}"
    );
    assert!(
        sample(&text, r#"importer_entries_total{outcome="updated"}"#) >= 50.0,
        "runs sent changes: {text}"
    );
    assert_eq!(stack.tokens_issued(Who::Importer).await, 1);
    stack.finish().await;
}

fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}
