//! The Harvest source end to end: a stand-in built from Harvest's documented API (Harvest itself
//! cannot be reached from here) feeds the real importer, gateway and service. Edits, back-dating
//! and deletions (Harvest keeps no tombstones) reach the API on the next run.

use std::collections::HashMap;

use serde_json::Value;
use time::{Duration, OffsetDateTime};

#[path = "../../../importer-svc/tests/support/harvest_standin.rs"]
mod harvest_standin;

use harvest_standin::{HarvestStandin, StandinEntry, ACCOUNT_ID, TOKEN};

use crate::harness::{describe, Db, TestStack, Who};
use crate::importer::report;

async fn run(stack: &TestStack, harvest: &HarvestStandin) -> std::process::Output {
    stack
        .importer_command(&["run", "--json"])
        .env("IMPORTER__SOURCE__KIND", "harvest")
        .env("IMPORTER__SOURCE__HARVEST__BASE_URL", harvest.base_url())
        .env("IMPORTER__SOURCE__HARVEST__ACCOUNT_ID", ACCOUNT_ID)
        .env("IMPORTER__SOURCE__HARVEST__ACCESS_TOKEN", TOKEN)
        .env(
            "IMPORTER__SOURCE__HARVEST__USER_AGENT",
            "ExampleCo e2e (ops@exampleco.com)",
        )
        .output()
        .await
        .unwrap()
}

async fn by_external_id(stack: &TestStack) -> HashMap<String, Value> {
    let reader = stack.token(Who::Reader).await;
    stack
        .entries(&reader, "harvest")
        .await
        .into_iter()
        .map(|e| (e["external_id"].as_str().unwrap().to_owned(), e))
        .collect()
}

async fn harvest_edits_backdating_and_deletions_reach_the_api(db: Db) {
    // Arrange: three entries in the last days (inside the 30-day reconcile window).
    let harvest = HarvestStandin::spawn().await;
    let stack = TestStack::start(db).await;
    let today = OffsetDateTime::now_utc().date();
    let entry = |days: i64, hours: f64| {
        StandinEntry::new(today - Duration::days(days), hours)
            .user(7, "Ana Silva")
            .project(3, Some("STOREZERO"))
    };
    let a = harvest.add(entry(2, 1.5));
    let b = harvest.add(entry(3, 2.0));
    let c = harvest.add(entry(4, 1.0));
    let first = run(&stack, &harvest).await;
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    assert_eq!(report(&first)["created"], 3, "{}", describe(&first));

    // Act: edit a, back-date b by a week, delete c.
    harvest.edit(a, |e| e.hours = 2.5);
    harvest.backdate(b, today - Duration::days(10));
    harvest.delete(c);
    let second = run(&stack, &harvest).await;

    // Assert
    assert_eq!(second.status.code(), Some(0), "{}", describe(&second));
    let r = report(&second);
    assert_eq!(
        (r["updated"].as_u64(), r["deleted"].as_u64()),
        (Some(2), Some(1)),
        "{r}"
    );
    let stored = by_external_id(&stack).await;
    let mut ids: Vec<&str> = stored.keys().map(String::as_str).collect();
    ids.sort_unstable();
    let (ka, kb) = (format!("harvest:{a}"), format!("harvest:{b}"));
    let mut expected = vec![ka.as_str(), kb.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert_eq!(stored[&ka]["minutes"], 150);
    assert_eq!(
        stored[&kb]["date"],
        (today - Duration::days(10)).to_string()
    );
    assert_eq!(stored[&ka]["worker"]["external_id"], "harvest-user:7");
    stack.finish().await;
}
e2e_test!(harvest_edits_backdating_and_deletions_reach_the_api);
