//! Reading Harvest: mapping, pagination by `links.next`, the overlap below the checkpoint and
//! the reconcile window, over loopback HTTP against the stand-in.

use std::collections::HashSet;
use std::time::Duration;

use importer_svc::source::{Coverage, Source};
use serde_json::json;
use time::macros::{date, datetime};
use time::OffsetDateTime;
use timesheet_domain::{ExternalId, WorkerKind};

use crate::fixture::{expected, harvest_config, harvest_source, json_of};
use crate::harvest_standin::{HarvestStandin, StandinEntry, ACCOUNT_ID, TOKEN};

fn harvest_id(id: u64) -> ExternalId {
    ExternalId::parse(&format!("harvest:{id}")).unwrap()
}

#[tokio::test]
async fn harvest_entries_map_to_ours() {
    // Arrange
    let standin = HarvestStandin::spawn().await;
    let coded = standin.add(
        StandinEntry::new(date!(2026 - 11 - 23), 7.5)
            .user(1_782_959, "Kim Allen")
            .project(14_307_913, Some("STOREZERO"))
            .notes("checkout\r\nintegration"),
    );
    let uncoded = standin.add(
        StandinEntry::new(date!(2026 - 11 - 24), 1.33)
            .user(1_795_925, "Jane Bar")
            .project(14_308_069, None)
            .billable(false),
    );
    let spaced =
        standin.add(StandinEntry::new(date!(2026 - 11 - 25), 2.0).project(7, Some("Online Store")));
    let mut config = harvest_config(&standin);
    config.reconcile_days = 0;
    config.worker_kind = WorkerKind::Employee;

    // Act
    let read = harvest_source(config).read(None).await.unwrap();

    // Assert
    assert!(read.rejections.is_empty(), "{:#?}", read.rejections);
    assert_eq!(read.coverage, Coverage::Unknown);
    let by_id = |id: u64| {
        read.records
            .iter()
            .find(|r| r.external_id == harvest_id(id))
            .unwrap_or_else(|| panic!("no record for {id}"))
    };
    let first = by_id(coded);
    assert_eq!(first.location, format!("harvest time entry {coded}"));
    assert_eq!(
        json_of(&first.entry),
        expected(json!({
            "external_id": format!("harvest:{coded}"),
            "worker": {"external_id": "harvest-user:1782959", "kind": "employee", "name": "Kim Allen"},
            "date": "2026-11-23", "project": "STOREZERO", "minutes": 450,
            "notes": "checkout\nintegration", "billable": true
        }))
    );
    assert_eq!(
        json_of(&by_id(uncoded).entry),
        expected(json!({
            "external_id": format!("harvest:{uncoded}"),
            "worker": {"external_id": "harvest-user:1795925", "kind": "employee", "name": "Jane Bar"},
            "date": "2026-11-24", "project": "H14308069", "minutes": 80, "billable": false
        }))
    );
    assert_eq!(json_of(&by_id(spaced).entry)["project"], "H7");

    let stamps: Vec<OffsetDateTime> = [coded, uncoded, spaced]
        .iter()
        .map(|id| standin.entry(*id).unwrap().updated_at)
        .collect();
    assert_eq!(first.updated_at, Some(stamps[0]));
    assert_eq!(read.watermark, stamps.iter().copied().max());
}

#[tokio::test]
async fn running_timers_are_skipped_and_zero_minute_entries_rejected() {
    let standin = HarvestStandin::spawn().await;
    let running = standin.add(StandinEntry::new(date!(2026 - 11 - 23), 1.0).running());
    let empty = standin.add(StandinEntry::new(date!(2026 - 11 - 23), 0.0));
    let fine = standin.add(StandinEntry::new(date!(2026 - 11 - 23), 3.0));
    let mut config = harvest_config(&standin);
    config.reconcile_days = 0;

    let read = harvest_source(config).read(None).await.unwrap();

    let ids: Vec<_> = read.records.iter().map(|r| r.external_id.clone()).collect();
    assert_eq!(ids, [harvest_id(fine)]);
    assert_eq!(read.rejections.len(), 1, "{:#?}", read.rejections);
    let rejection = &read.rejections[0];
    assert_eq!(rejection.external_id, Some(harvest_id(empty)));
    assert_eq!(rejection.field.as_deref(), Some("hours"));
    assert!(rejection.message.contains("0 minutes"));
    assert!(!read
        .rejections
        .iter()
        .any(|r| r.external_id == Some(harvest_id(running))));
}

#[tokio::test]
async fn pages_are_followed_through_links_next_until_null() {
    let standin = HarvestStandin::spawn().await;
    let ids: HashSet<ExternalId> = (0..5)
        .map(|day| {
            standin.add(StandinEntry::new(
                date!(2026 - 11 - 16) + time::Duration::days(day),
                4.0,
            ))
        })
        .map(harvest_id)
        .collect();
    let mut config = harvest_config(&standin);
    config.per_page = 2;
    config.reconcile_days = 0;

    let read = harvest_source(config).read(None).await.unwrap();

    let got: HashSet<ExternalId> = read.records.iter().map(|r| r.external_id.clone()).collect();
    assert_eq!(got, ids);
    let requests = standin.requests();
    let pages: Vec<_> = requests.iter().map(|r| r.query("page")).collect();
    assert_eq!(pages, [None, Some("2"), Some("3")]);
    assert!(requests.iter().all(|r| r.query("per_page") == Some("2")));
    assert!(requests.iter().all(|r| r.path == "/v2/time_entries"));
}

#[tokio::test]
async fn the_read_starts_the_overlap_below_the_checkpoint() {
    // Arrange: one entry changed long ago, one inside the overlap, one after the checkpoint.
    let standin = HarvestStandin::spawn().await;
    let old = standin.add(StandinEntry::new(date!(2026 - 11 - 02), 4.0));
    let late = standin.add(StandinEntry::new(date!(2026 - 11 - 03), 5.0));
    let new = standin.add(StandinEntry::new(date!(2026 - 11 - 04), 6.0));
    standin.set_updated_at(old, datetime!(2026-11-20 08:00:00 UTC));
    standin.set_updated_at(late, datetime!(2026-11-20 09:55:00 UTC));
    standin.set_updated_at(new, datetime!(2026-11-20 10:30:00 UTC));
    let mut config = harvest_config(&standin);
    config.overlap = Duration::from_secs(10 * 60);
    config.reconcile_days = 0;
    let since = datetime!(2026-11-20 10:00:00 UTC);

    // Act
    let read = harvest_source(config).read(Some(since)).await.unwrap();

    // Assert
    let requests = standin.requests();
    assert_eq!(
        requests[0].query("updated_since"),
        Some("2026-11-20T09:50:00Z")
    );
    let got: HashSet<_> = read.records.iter().map(|r| r.external_id.clone()).collect();
    assert_eq!(got, HashSet::from([harvest_id(late), harvest_id(new)]));
    assert_eq!(read.watermark, Some(datetime!(2026-11-20 10:30:00 UTC)));
}

#[tokio::test]
async fn entries_only_re_read_in_the_overlap_do_not_move_the_watermark() {
    let standin = HarvestStandin::spawn().await;
    let old = standin.add(StandinEntry::new(date!(2026 - 11 - 02), 4.0));
    let overlap = standin.add(StandinEntry::new(date!(2026 - 11 - 03), 4.0));
    standin.set_updated_at(old, datetime!(2026-11-01 08:00:00 UTC));
    standin.set_updated_at(overlap, datetime!(2026-11-20 09:55:00 UTC));
    let mut config = harvest_config(&standin);
    config.reconcile_days = 0;

    let read = harvest_source(config)
        .read(Some(datetime!(2026-11-20 10:00:00 UTC)))
        .await
        .unwrap();

    let ids: Vec<_> = read.records.iter().map(|r| r.external_id.clone()).collect();
    assert_eq!(
        ids,
        [harvest_id(overlap)],
        "re-read, the engine's digests skip it"
    );
    assert_eq!(read.watermark, None);
}

#[tokio::test]
async fn the_reconcile_listing_covers_the_window_and_misses_deleted_entries() {
    // Arrange
    let standin = HarvestStandin::spawn().await;
    let today = OffsetDateTime::now_utc().date();
    let recent = standin.add(StandinEntry::new(today - time::Duration::days(3), 4.0));
    let running = standin.add(StandinEntry::new(today, 1.0).running());
    let deleted = standin.add(StandinEntry::new(today - time::Duration::days(2), 4.0));
    let older = standin.add(StandinEntry::new(today - time::Duration::days(10), 4.0));
    standin.delete(deleted);
    let mut config = harvest_config(&standin);
    config.reconcile_days = 7;

    // Act: a read whose checkpoint is recent enough that nothing changed since.
    let since = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let read = harvest_source(config).read(Some(since)).await.unwrap();

    // Assert
    assert!(read.records.is_empty());
    let Coverage::Window { from, to, listed } = &read.coverage else {
        panic!("expected a window, got {:?}", read.coverage);
    };
    assert!(to.date() == today || to.date() == OffsetDateTime::now_utc().date());
    assert_eq!(
        *from,
        timesheet_domain::WorkDate::from_date(to.date() - time::Duration::days(7))
    );
    assert_eq!(
        *listed,
        HashSet::from([harvest_id(recent), harvest_id(running)]),
        "the running timer is still in Harvest; the older entry is outside the window"
    );
    assert!(!listed.contains(&harvest_id(older)));
    let requests = standin.requests();
    assert_eq!(requests.len(), 2);
    let window = &requests[1];
    assert_eq!(window.query("from"), Some(from.to_string().as_str()));
    assert_eq!(window.query("to"), Some(to.to_string().as_str()));
    assert_eq!(window.query("updated_since"), None);
}

#[tokio::test]
async fn every_request_carries_harvests_auth_headers_and_user_agent() {
    let standin = HarvestStandin::spawn().await;
    standin.add(StandinEntry::new(date!(2026 - 11 - 23), 2.0));
    let config = harvest_config(&standin);
    let user_agent = config.user_agent.clone();

    harvest_source(config).read(None).await.unwrap();

    let requests = standin.requests();
    assert_eq!(requests.len(), 2, "changes and the reconcile window");
    for request in requests {
        assert_eq!(request.method, "GET");
        let bearer = format!("Bearer {TOKEN}");
        assert_eq!(request.header("Authorization"), Some(bearer.as_str()));
        assert_eq!(request.header("Harvest-Account-Id"), Some(ACCOUNT_ID));
        assert_eq!(request.header("User-Agent"), Some(user_agent.as_str()));
    }
}

#[test]
fn the_config_never_shows_the_token() {
    let config = importer_svc::source::harvest::HarvestConfig::new(
        "1".into(),
        secrecy::SecretString::from("pat-very-secret"),
        "ua".into(),
    );
    let shown = format!("{config:?}");
    assert!(!shown.contains("pat-very-secret"), "{shown}");
    assert_eq!(config.per_page, 2000);
    assert_eq!(config.overlap, Duration::from_secs(600));
    assert_eq!(config.reconcile_days, 30);
    assert_eq!(config.worker_kind, WorkerKind::Contractor);
    assert_eq!(config.base_url.as_str(), "https://api.harvestapp.com/");
}
