//! Keyset pagination of `GET /v1/timesheets/entries`, and `updated_since` for sync.

use std::collections::{HashMap, HashSet};

use reqwest::Method;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use timesheet_domain::api::EntryPage;

use crate::helpers::{admin, days_ago, encode, item, TestApp, TestResponse};

/// `n` valid upload items of distinct external ids, spread so that no day fills up.
fn items(prefix: &str, from: usize, n: usize) -> Vec<Value> {
    (from..from + n)
        .map(|i| {
            let days = i64::try_from(i / 20 + 1).expect("small");
            item(
                &format!("{prefix}-{i}"),
                &format!("w-{}", i % 20),
                &days_ago(days),
                15,
            )
        })
        .collect()
}

/// Checks the `Link` header against `next` and returns the page.
fn page_with_link(response: &TestResponse) -> EntryPage {
    response.assert_status(200);
    let page = response.page();
    match &page.next {
        Some(next) => {
            assert!(next.starts_with("/v1/timesheets/entries?"), "next {next:?}");
            assert!(next.contains("cursor="), "next {next:?} has no cursor");
            let link = response
                .header("link")
                .unwrap_or_else(|| panic!("no Link header with next {next:?}"));
            assert!(link.contains("rel=\"next\""), "link {link:?}");
            let target = link
                .split_once('<')
                .and_then(|(_, rest)| rest.split_once('>'))
                .map(|(t, _)| t);
            assert!(
                target.is_some_and(|t| t.ends_with(next.as_str())),
                "link {link:?} vs next {next:?}"
            );
        }
        None => assert!(
            response
                .header("link")
                .is_none_or(|l| !l.contains("rel=\"next\"")),
            "a last page has no next link"
        ),
    }
    page
}

async fn pagination_over_250_entries_with_limit_100_sees_each_exactly_once(app: TestApp) {
    // Arrange
    let upload = app.given_upload("paged", items("p", 0, 250)).await;
    assert_eq!(upload.created, 250);

    // Act
    let mut sizes = Vec::new();
    let mut seen: HashMap<uuid::Uuid, usize> = HashMap::new();
    let mut response = app.list_entries(&admin(), "source=paged&limit=100").await;
    loop {
        let page = page_with_link(&response);
        sizes.push(page.data.len());
        for entry in page.data {
            assert_eq!(entry.source, "paged", "the filter survives paging");
            *seen.entry(entry.id).or_default() += 1;
        }
        match page.next {
            Some(next) => response = app.request(Method::GET, &next, &admin(), None).await,
            None => break,
        }
        assert!(sizes.len() < 10, "runaway paging: {sizes:?}");
    }

    // Assert
    assert_eq!(sizes, vec![100, 100, 50]);
    assert_eq!(seen.len(), 250);
    assert!(
        seen.values().all(|n| *n == 1),
        "some entries were seen twice"
    );
    let uploaded: HashSet<_> = upload.results.iter().filter_map(|r| r.id).collect();
    assert_eq!(seen.keys().copied().collect::<HashSet<_>>(), uploaded);
}
api_test!(pagination_over_250_entries_with_limit_100_sees_each_exactly_once);

async fn pagination_sees_each_entry_once_while_entries_are_created_between_pages(app: TestApp) {
    // Arrange
    let upload = app.given_upload("moving", items("m", 0, 250)).await;
    let originals: HashSet<_> = upload.results.iter().filter_map(|r| r.id).collect();
    assert_eq!(originals.len(), 250);

    // Act
    let mut seen: HashMap<uuid::Uuid, usize> = HashMap::new();
    let mut response = app.list_entries(&admin(), "source=moving&limit=100").await;
    let mut pages = 0;
    loop {
        let page = page_with_link(&response);
        pages += 1;
        for entry in page.data {
            *seen.entry(entry.id).or_default() += 1;
        }
        // Someone else writes between our pages.
        let more = app
            .given_upload("moving", items("m", 250 + pages * 10, 10))
            .await;
        assert_eq!(more.created, 10);
        match page.next {
            Some(next) => response = app.request(Method::GET, &next, &admin(), None).await,
            None => break,
        }
        assert!(pages < 10, "runaway paging");
    }

    // Assert
    assert!(
        seen.values().all(|n| *n == 1),
        "an entry was seen twice: {:?}",
        seen.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    let missing: Vec<_> = originals
        .iter()
        .filter(|id| !seen.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} entries that existed all along were skipped",
        missing.len()
    );
}
api_test!(pagination_sees_each_entry_once_while_entries_are_created_between_pages);

async fn the_default_page_size_is_100(app: TestApp) {
    // Arrange
    app.given_upload("default", items("d", 0, 120)).await;

    // Act
    let response = app.list_entries(&admin(), "source=default").await;

    // Assert
    let page = page_with_link(&response);
    assert_eq!(page.data.len(), 100);
    assert!(page.next.is_some());
}
api_test!(the_default_page_size_is_100);

async fn a_list_that_fits_one_page_has_no_next(app: TestApp) {
    // Arrange
    app.given_upload("small", items("s", 0, 3)).await;

    // Act
    let response = app.list_entries(&admin(), "source=small&limit=3").await;

    // Assert
    let page = page_with_link(&response);
    assert_eq!(page.data.len(), 3);
    // A full last page may still link to an empty one; what matters is that it ends.
    if let Some(next) = page.next {
        let rest = app.request(Method::GET, &next, &admin(), None).await;
        let rest = page_with_link(&rest);
        assert!(rest.data.is_empty() && rest.next.is_none());
    }
}
api_test!(a_list_that_fits_one_page_has_no_next);

async fn updated_since_shows_tombstones_of_deleted_entries(app: TestApp) {
    // Arrange
    let upload = app.given_upload("sync", items("t", 0, 3)).await;
    let since = app
        .all_entries_of_source("sync")
        .await
        .iter()
        .map(|e| e.created_at)
        .min()
        .expect("entries");
    let deleted = upload.results[1].id.expect("an id");
    app.delete_entry(&admin(), &deleted.to_string(), None)
        .await
        .assert_status(204);
    let since = encode(&since.format(&Rfc3339).expect("formatting"));

    // Act
    let synced = app
        .all_entries(&format!("source=sync&updated_since={since}"))
        .await;
    let live = app.all_entries("source=sync").await;

    // Assert
    assert_eq!(synced.len(), 3, "two live entries and one tombstone");
    let tombstone = synced
        .iter()
        .find(|e| e.id == deleted)
        .expect("the tombstone is listed");
    assert!(
        tombstone.deleted_at.is_some(),
        "the tombstone carries deleted_at: {tombstone:?}"
    );
    let version_before = upload.results[1].version.expect("a version");
    assert_eq!(
        tombstone.version,
        version_before + 1,
        "a delete bumps the version"
    );
    assert!(synced
        .iter()
        .filter(|e| e.id != deleted)
        .all(|e| e.deleted_at.is_none()));
    assert_eq!(live.len(), 2);
    assert!(
        live.iter().all(|e| e.id != deleted),
        "a plain list hides the tombstone"
    );
}
api_test!(updated_since_shows_tombstones_of_deleted_entries);

async fn updated_since_leaves_out_entries_not_changed_since(app: TestApp) {
    // Arrange
    let upload = app.given_upload("since", items("u", 0, 4)).await;
    let deleted = upload.results[2].id.expect("an id");
    app.delete_entry(&admin(), &deleted.to_string(), None)
        .await
        .assert_status(204);
    let tombstone_time = app
        .all_entries("source=since&updated_since=2000-01-01T00%3A00%3A00Z")
        .await
        .into_iter()
        .find(|e| e.id == deleted)
        .expect("the tombstone")
        .updated_at;
    let since = encode(&tombstone_time.format(&Rfc3339).expect("formatting"));

    // Act
    let synced = app
        .all_entries(&format!("source=since&updated_since={since}"))
        .await;

    // Assert
    assert!(
        synced.iter().any(|e| e.id == deleted),
        "updated_since is inclusive"
    );
    assert!(
        synced.iter().all(|e| e.updated_at >= tombstone_time),
        "older entries are left out"
    );
    assert!(synced.len() < 4, "entries not changed since were listed");
}
api_test!(updated_since_leaves_out_entries_not_changed_since);

async fn updated_since_pages_see_each_change_once(app: TestApp) {
    // Arrange
    let upload = app.given_upload("syncpages", items("sp", 0, 25)).await;
    for result in upload.results.iter().step_by(5) {
        let id = result.id.expect("an id").to_string();
        app.delete_entry(&admin(), &id, None)
            .await
            .assert_status(204);
    }

    // Act
    let mut seen: HashMap<uuid::Uuid, usize> = HashMap::new();
    let mut response = app
        .list_entries(
            &admin(),
            "source=syncpages&updated_since=2000-01-01T00%3A00%3A00Z&limit=7",
        )
        .await;
    let mut tombstones = 0;
    for _ in 0..10 {
        let page = page_with_link(&response);
        for entry in page.data {
            tombstones += usize::from(entry.deleted_at.is_some());
            *seen.entry(entry.id).or_default() += 1;
        }
        match page.next {
            Some(next) => response = app.request(Method::GET, &next, &admin(), None).await,
            None => break,
        }
    }

    // Assert
    assert_eq!(seen.len(), 25);
    assert!(seen.values().all(|n| *n == 1));
    assert_eq!(tombstones, 5);
}
api_test!(updated_since_pages_see_each_change_once);

async fn updated_since_accepts_offsets_and_fractions(app: TestApp) {
    // Arrange
    app.given_upload("offsets", items("o", 0, 2)).await;

    for since in [
        "2000-01-01T02:00:00+02:00",
        "2000-01-01T00:00:00.123456Z",
        "2000-01-01t00:00:00z",
    ] {
        // Act
        let response = app
            .list_entries(
                &admin(),
                &format!("source=offsets&updated_since={}", encode(since)),
            )
            .await;

        // Assert
        response.assert_status(200);
        assert_eq!(response.page().data.len(), 2, "{since}");
    }
}
api_test!(updated_since_accepts_offsets_and_fractions);

async fn next_links_keep_filters_with_characters_that_need_encoding(app: TestApp) {
    // Arrange
    let worker = "a&b c#d+e/f|g";
    let entries: Vec<Value> = (0..3)
        .map(|i| item(&format!("enc-{i}"), worker, &days_ago(i + 1), 15))
        .collect();
    app.given_upload("enc", entries).await;
    let queries = [
        format!("worker={}&limit=1", encode(worker)),
        format!(
            "worker={}&updated_since={}&limit=1",
            encode(worker),
            encode("2000-01-01T02:00:00+02:00")
        ),
    ];

    for query in queries {
        // Act
        let mut seen = HashSet::new();
        let mut response = app.list_entries(&admin(), &query).await;
        for _ in 0..5 {
            let page = page_with_link(&response);
            for entry in page.data {
                assert_eq!(entry.worker.external_id, worker);
                seen.insert(entry.id);
            }
            match page.next {
                Some(next) => response = app.request(Method::GET, &next, &admin(), None).await,
                None => break,
            }
        }

        // Assert
        assert_eq!(seen.len(), 3, "{query}");
    }
}
api_test!(next_links_keep_filters_with_characters_that_need_encoding);
