use std::collections::{HashMap, HashSet};

use timesheet_domain::api::EntryInput;
use timesheet_domain::{ExternalId, WorkDate};
use uuid::Uuid;

use super::*;

fn ext(raw: &str) -> ExternalId {
    ExternalId::parse(raw).unwrap()
}

fn record(id: &str, date: &str, minutes: u32) -> SourceRecord {
    let json = format!(
        r#"{{"external_id":"{id}","worker":{{"external_id":"c-1","kind":"contractor"}},"date":"{date}","project":"P","minutes":{minutes}}}"#
    );
    let entry: EntryInput = serde_json::from_str(&json).unwrap();
    SourceRecord {
        location: format!("a.csv:{minutes}"),
        external_id: ext(id),
        entry,
        updated_at: None,
    }
}

fn known_as(rec: &SourceRecord, status: EntryStatus, with_id: bool) -> KnownEntry {
    KnownEntry {
        entry_id: with_id.then(Uuid::now_v7),
        digest: entry_digest(&rec.entry),
        work_date: rec.entry.date,
        status,
    }
}

#[test]
fn unchanged_records_are_skipped_and_changed_or_new_ones_sent() {
    let a = record("a", "2026-11-23", 60);
    let b = record("b", "2026-11-23", 60);
    let known = HashMap::from([
        (ext("a"), known_as(&a, EntryStatus::Imported, true)),
        (ext("b"), known_as(&b, EntryStatus::Imported, true)),
    ]);
    let records = vec![
        a,
        record("b", "2026-11-23", 90),
        record("c", "2026-11-23", 30),
    ];

    let plan = plan(records, &[], &Coverage::Complete, &known);

    assert_eq!(plan.skipped, 1);
    assert_eq!(plan.count(Change::Changed), 1);
    assert_eq!(plan.count(Change::New), 1);
    assert!(plan.deletes.is_empty());
}

#[test]
fn rejected_content_is_not_resent_until_it_changes() {
    let a = record("a", "2026-11-23", 60);
    let known = HashMap::from([(ext("a"), known_as(&a, EntryStatus::Rejected, false))]);

    let same = plan(vec![a], &[], &Coverage::Complete, &known);
    let edited = plan(
        vec![record("a", "2026-11-23", 61)],
        &[],
        &Coverage::Complete,
        &known,
    );

    assert_eq!((same.still_rejected, same.uploads.len()), (1, 0));
    assert_eq!(edited.count(Change::Changed), 1);
}

#[test]
fn complete_coverage_deletes_what_vanished_but_not_rows_still_there_as_rejections() {
    let a = record("a", "2026-11-23", 60);
    let b = record("b", "2026-11-23", 60);
    let c = record("c", "2026-11-23", 60);
    let never = record("never", "2026-11-23", 60);
    let known = HashMap::from([
        (ext("a"), known_as(&a, EntryStatus::Imported, true)),
        (ext("b"), known_as(&b, EntryStatus::Imported, true)),
        (ext("c"), known_as(&c, EntryStatus::Imported, true)),
        (ext("never"), known_as(&never, EntryStatus::Rejected, false)),
    ]);
    let bad_b = RowRejection {
        location: "a.csv:3".into(),
        external_id: Some(ext("b")),
        field: Some("date".into()),
        message: "bad".into(),
    };

    let plan = plan(vec![a], &[bad_b], &Coverage::Complete, &known);

    let deleted: Vec<_> = plan.deletes.iter().map(|d| d.external_id.clone()).collect();
    assert_eq!(deleted, vec![ext("c")]);
    assert_eq!(plan.forget, vec![ext("never")]);
}

#[test]
fn a_window_deletes_only_unlisted_entries_dated_inside_it() {
    let inside = record("inside", "2026-11-20", 60);
    let listed = record("listed", "2026-11-20", 60);
    let outside = record("outside", "2026-10-01", 60);
    let known: HashMap<_, _> = [&inside, &listed, &outside]
        .into_iter()
        .map(|r| {
            (
                r.external_id.clone(),
                known_as(r, EntryStatus::Imported, true),
            )
        })
        .collect();
    let coverage = Coverage::Window {
        from: WorkDate::parse("2026-11-01").unwrap(),
        to: WorkDate::parse("2026-11-30").unwrap(),
        listed: HashSet::from([ext("listed")]),
    };

    let plan = plan(Vec::new(), &[], &coverage, &known);

    let deleted: Vec<_> = plan.deletes.iter().map(|d| d.external_id.clone()).collect();
    assert_eq!(deleted, vec![ext("inside")]);
}

#[test]
fn unknown_coverage_deletes_nothing() {
    let a = record("a", "2026-11-23", 60);
    let known = HashMap::from([(ext("a"), known_as(&a, EntryStatus::Imported, true))]);
    let plan = plan(Vec::new(), &[], &Coverage::Unknown, &known);
    assert!(plan.deletes.is_empty() && plan.forget.is_empty());
}

#[test]
fn duplicate_ids_in_one_read_are_rejected_after_the_first() {
    let plan = plan(
        vec![record("a", "2026-11-23", 60), record("a", "2026-11-24", 70)],
        &[],
        &Coverage::Complete,
        &HashMap::new(),
    );
    assert_eq!(plan.uploads.len(), 1);
    assert_eq!(plan.duplicates.len(), 1);
    assert_eq!(plan.duplicates[0].message, "duplicate of a.csv:60");
}

#[test]
fn the_valve_refuses_deleting_more_than_the_fraction() {
    let mut plan = Plan {
        known_in_api: 10,
        ..Plan::default()
    };
    let delete = |n: usize| {
        (0..n)
            .map(|i| PlannedDelete {
                external_id: ext(&format!("x{i}")),
                entry_id: Uuid::now_v7(),
            })
            .collect::<Vec<_>>()
    };
    plan.deletes = delete(5);
    assert!(check_deletions(&plan, 0.5).is_ok());
    plan.deletes = delete(6);
    let err = check_deletions(&plan, 0.5).unwrap_err();
    assert_eq!((err.to_delete, err.known, err.percent), (6, 10, 50));
    assert!(check_deletions(&plan, 1.0).is_ok());
}
