//! The directory as a whole: which files are read, in what order, and what an unreadable file
//! does to the coverage.

use importer_svc::source::{Coverage, Source, SourceError};

use crate::fixture::{dir_with, files_source, locations, read_dir, rejection_at, CSV_HEADER};

fn csv_row(id: &str, date: &str) -> String {
    format!("{id},c-1,contractor,Ana,,{date},STOREZERO,60,,,\n")
}

fn jsonl_row(id: &str) -> String {
    format!(
        r#"{{"external_id":"{id}","worker":{{"external_id":"c-2","kind":"contractor"}},"date":"2026-11-12","project":"P","minutes":30}}"#
    ) + "\n"
}

#[tokio::test]
async fn data_files_are_read_in_name_order_and_other_files_are_ignored() {
    let b = format!("{CSV_HEADER}{}", csv_row("b-1", "2026-11-10"));
    let a = jsonl_row("a-1");
    let nested = format!("{CSV_HEADER}{}", csv_row("n-1", "2026-11-10"));
    let dir = dir_with(&[
        ("b.csv", b.as_bytes()),
        ("a.jsonl", a.as_bytes()),
        ("notes.txt", b"not data"),
        (
            "C.CSV",
            format!("{CSV_HEADER}{}", csv_row("c-1", "2026-11-11")).as_bytes(),
        ),
    ]);
    std::fs::create_dir(dir.path().join("older")).unwrap();
    std::fs::write(dir.path().join("older/n.csv"), nested).unwrap();
    std::fs::create_dir(dir.path().join("dir.csv")).unwrap();

    let read = read_dir(dir.path()).await;

    assert!(read.rejections.is_empty(), "{:#?}", read.rejections);
    assert_eq!(locations(&read), ["C.CSV:2", "a.jsonl:1", "b.csv:2"]);
    assert_eq!(read.coverage, Coverage::Complete);
}

#[tokio::test]
async fn an_external_id_repeated_in_another_file_is_a_duplicate_of_the_first() {
    let csv = format!("{CSV_HEADER}{}", csv_row("same-1", "2026-11-10"));
    let dir = dir_with(&[
        ("a.csv", csv.as_bytes()),
        ("b.jsonl", jsonl_row("same-1").as_bytes()),
    ]);

    let read = read_dir(dir.path()).await;

    assert_eq!(locations(&read), ["a.csv:2"]);
    let rejection = rejection_at(&read, "b.jsonl:1");
    assert_eq!(rejection.message, "duplicate of a.csv:2");
    assert_eq!(rejection.field.as_deref(), Some("external_id"));
}

#[tokio::test]
async fn an_unreadable_file_is_reported_by_name_and_makes_coverage_unknown() {
    // A dangling link cannot be opened, even by root (permission bits would not stop root).
    let csv = format!("{CSV_HEADER}{}", csv_row("ok-1", "2026-11-10"));
    let dir = dir_with(&[("good.csv", csv.as_bytes())]);
    std::os::unix::fs::symlink(dir.path().join("missing"), dir.path().join("gone.csv")).unwrap();

    let read = read_dir(dir.path()).await;

    assert_eq!(locations(&read), ["good.csv:2"]);
    let rejection = rejection_at(&read, "gone.csv");
    assert!(
        rejection.message.starts_with("cannot open"),
        "{rejection:?}"
    );
    assert_eq!(read.coverage, Coverage::Unknown);
}

#[tokio::test]
async fn an_empty_directory_is_complete_and_a_missing_one_is_an_error() {
    let dir = dir_with(&[]);
    let read = read_dir(dir.path()).await;
    assert!(read.records.is_empty() && read.rejections.is_empty());
    assert_eq!(read.coverage, Coverage::Complete);

    let missing = dir.path().join("nope");
    let err = files_source(&missing).read(None).await.unwrap_err();
    assert!(matches!(err, SourceError::Io { .. }), "{err:?}");
}

#[tokio::test]
async fn a_hundred_thousand_rows_are_all_read() {
    let mut csv = String::with_capacity(100_000 * 80);
    csv.push_str(CSV_HEADER);
    for i in 0..100_000 {
        let day = 1 + i % 28;
        csv.push_str(&csv_row(&format!("bulk-{i}"), &format!("2026-10-{day:02}")));
    }
    let dir = dir_with(&[("bulk.csv", csv.as_bytes())]);

    let started = std::time::Instant::now();
    let read = read_dir(dir.path()).await;
    let took = started.elapsed();

    assert!(read.rejections.is_empty(), "{:?}", read.rejections.first());
    assert_eq!(read.records.len(), 100_000);
    assert_eq!(read.records[99_999].location, "bulk.csv:100001");
    // Generous for an unoptimised build on a shared machine; quadratic work would blow it.
    assert!(took.as_secs() < 30, "took {took:?}");
}

#[tokio::test]
async fn the_malformed_fixture_reports_every_bad_row_and_imports_the_rest() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sources/fixtures/malformed");

    let read = read_dir(&dir).await;

    assert_eq!(
        locations(&read),
        ["rows.csv:2", "rows.csv:11", "rows.jsonl:1", "rows.jsonl:6"]
    );
    let got: Vec<(&str, Option<&str>)> = read
        .rejections
        .iter()
        .map(|r| (r.location.as_str(), r.field.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("rows.csv:3", Some("minutes")),
            ("rows.csv:4", Some("date")),
            ("rows.csv:5", Some("minutes")),
            ("rows.csv:6", Some("minutes")),
            ("rows.csv:7", Some("hours")),
            ("rows.csv:8", Some("worker_email")),
            ("rows.csv:9", Some("external_id")),
            ("rows.csv:10", Some("notes")),
            ("rows.jsonl:2", Some("worker.email")),
            ("rows.jsonl:3", Some("project")),
            ("rows.jsonl:4", Some("external_id")),
            ("rows.jsonl:5", None),
        ]
    );
    assert_eq!(read.coverage, Coverage::Complete);
}
