//! CSV files: columns in any order, the API's rules per row, rejections naming file, line and
//! column.

use importer_svc::source::Coverage;
use serde_json::json;

use crate::fixture::{dir_with, expected, json_of, locations, read_dir, rejection_at, CSV_HEADER};

#[tokio::test]
async fn csv_rows_become_the_expected_entries_in_normal_form() {
    // Arrange: columns in an unusual order, optional columns absent, a quoted note that spans
    // two physical lines (the next row is on line 5, not 4).
    let csv = "date,project,external_id,worker_kind,worker_external_id,worker_name,worker_email,hours,minutes,billable,notes\n\
        2026-11-23,STOREZERO,ct-1842,contractor,c-77,Ana Silva,ana@example.org,7.5,,true,integration work\n\
        2026-11-24,MOBILEAPP,ct-1843,contractor,c-77,,,,90,no,\"line one\nline two, with a comma\"\n\
        2026-11-24,DATAPLAT,ct-1844,employee,e-5,Bo Chen,,,240,,\n";
    let dir = dir_with(&[("tracker.csv", csv.as_bytes())]);

    // Act
    let read = read_dir(dir.path()).await;

    // Assert
    assert!(read.rejections.is_empty(), "{:#?}", read.rejections);
    assert_eq!(read.coverage, Coverage::Complete);
    assert_eq!(read.watermark, None);
    assert_eq!(
        locations(&read),
        ["tracker.csv:2", "tracker.csv:3", "tracker.csv:5"]
    );
    let got: Vec<_> = read.records.iter().map(|r| json_of(&r.entry)).collect();
    assert_eq!(
        got,
        vec![
            expected(json!({
                "external_id": "ct-1842",
                "worker": {"external_id": "c-77", "kind": "contractor", "name": "Ana Silva", "email": "ana@example.org"},
                "date": "2026-11-23", "project": "STOREZERO", "minutes": 450,
                "notes": "integration work", "billable": true
            })),
            expected(json!({
                "external_id": "ct-1843",
                "worker": {"external_id": "c-77", "kind": "contractor"},
                "date": "2026-11-24", "project": "MOBILEAPP", "minutes": 90,
                "notes": "line one\nline two, with a comma", "billable": false
            })),
            expected(json!({
                "external_id": "ct-1844",
                "worker": {"external_id": "e-5", "kind": "employee", "name": "Bo Chen"},
                "date": "2026-11-24", "project": "DATAPLAT", "minutes": 240,
                "billable": false
            })),
        ]
    );
    assert_eq!(read.records[0].external_id.as_ref(), "ct-1842");
    assert!(read.records.iter().all(|r| r.updated_at.is_none()));
}

#[tokio::test]
async fn every_kind_of_bad_row_names_file_line_and_column_and_the_rest_still_come_through() {
    // Arrange: one bad row of each kind between good ones.
    let mut csv = CSV_HEADER.as_bytes().to_vec();
    let rows: [&[u8]; 13] = [
        b"ok-1,c-1,contractor,Ana,ana@example.org,2026-11-10,STOREZERO,60,,,\n", // 2
        b"short-1,c-1,contractor,Ana,ana@example.org,2026-11-10,STOREZERO\n",    // 3: cells missing
        b"date-1,c-1,contractor,Ana,,2026-02-30,STOREZERO,60,,,\n",              // 4
        b"zero-1,c-1,contractor,Ana,,2026-11-10,STOREZERO,0,,,\n",               // 5
        b"long-1,c-1,contractor,Ana,,2026-11-10,STOREZERO,1441,,,\n",            // 6
        b"both-1,c-1,contractor,Ana,,2026-11-10,STOREZERO,60,1.5,,\n",           // 7
        b"mail-1,c-1,contractor,Ana,ana@example,2026-11-10,STOREZERO,60,,,\n",   // 8
        b"ok-1,c-1,contractor,Ana,,2026-11-11,STOREZERO,60,,,\n",                // 9: duplicate id
        b"utf8-1,c-1,contractor,Ana,,2026-11-10,STOREZERO,60,,caf\xe9 au lait,\n", // 10
        b"ok-2,c-2,contractor,Bo,,2026-11-12,MOBILEAPP,,2.25,,yes\n",            // 11
        b"bill-1,c-1,contractor,Ana,,2026-11-10,STOREZERO,60,,,maybe\n",         // 12
        b"none-1,c-1,contractor,Ana,,2026-11-10,STOREZERO,,,,\n",                // 13
        b"kind-1,c-1,intern,Ana,,2026-11-10,STOREZERO,60,,,\n",                  // 14
    ];
    for row in rows {
        csv.extend_from_slice(row);
    }
    let dir = dir_with(&[("bad.csv", &csv)]);

    // Act
    let read = read_dir(dir.path()).await;

    // Assert: the good rows come through, and the file as a whole was read.
    assert_eq!(locations(&read), ["bad.csv:2", "bad.csv:11"]);
    assert_eq!(json_of(&read.records[1].entry)["minutes"], 135);
    assert_eq!(read.coverage, Coverage::Complete);
    let expect = [
        ("bad.csv:3", Some("minutes"), "short-1"),
        ("bad.csv:4", Some("date"), "date-1"),
        ("bad.csv:5", Some("minutes"), "zero-1"),
        ("bad.csv:6", Some("minutes"), "long-1"),
        ("bad.csv:7", Some("hours"), "both-1"),
        ("bad.csv:8", Some("worker_email"), "mail-1"),
        ("bad.csv:9", Some("external_id"), "ok-1"),
        ("bad.csv:10", Some("notes"), "utf8-1"),
        ("bad.csv:12", Some("billable"), "bill-1"),
        ("bad.csv:13", Some("minutes"), "none-1"),
        ("bad.csv:14", Some("worker_kind"), "kind-1"),
    ];
    assert_eq!(
        read.rejections.len(),
        expect.len(),
        "{:#?}",
        read.rejections
    );
    for (location, field, id) in expect {
        let rejection = rejection_at(&read, location);
        assert_eq!(rejection.field.as_deref(), field, "{rejection:?}");
        assert!(!rejection.message.is_empty());
        let want_id = (!id.is_empty()).then_some(id);
        assert_eq!(
            rejection.external_id.as_ref().map(|i| i.as_ref()),
            want_id,
            "{rejection:?}"
        );
    }
    assert_eq!(
        rejection_at(&read, "bad.csv:9").message,
        "duplicate of bad.csv:2"
    );
    assert!(rejection_at(&read, "bad.csv:10").message.contains("UTF-8"));
}

#[tokio::test]
async fn an_unknown_column_rejects_the_file_by_name_and_coverage_becomes_unknown() {
    let bad = "external_id,worker_external_id,worker_kind,date,project,minutes,colour\n\
        x-1,c-1,contractor,2026-11-10,STOREZERO,60,red\n";
    let good = format!("{CSV_HEADER}g-1,c-1,contractor,,,2026-11-10,STOREZERO,60,,,\n");
    let dir = dir_with(&[("a.csv", bad.as_bytes()), ("b.csv", good.as_bytes())]);

    let read = read_dir(dir.path()).await;

    let rejection = rejection_at(&read, "a.csv:1");
    assert_eq!(rejection.field.as_deref(), Some("colour"));
    assert!(rejection.message.contains("unknown column"));
    assert_eq!(locations(&read), ["b.csv:2"]);
    assert_eq!(read.coverage, Coverage::Unknown);
}

#[tokio::test]
async fn a_header_without_a_required_column_names_it() {
    let csv =
        "external_id,worker_external_id,worker_kind,project,minutes\nx-1,c-1,contractor,P,60\n";
    let dir = dir_with(&[("a.csv", csv.as_bytes())]);

    let read = read_dir(dir.path()).await;

    assert_eq!(
        rejection_at(&read, "a.csv:1").field.as_deref(),
        Some("date")
    );
    assert!(read.records.is_empty());
    assert_eq!(read.coverage, Coverage::Unknown);
}

#[tokio::test]
async fn a_utf8_byte_order_mark_before_the_header_is_tolerated() {
    let mut csv = b"\xEF\xBB\xBF".to_vec();
    csv.extend_from_slice(CSV_HEADER.as_bytes());
    csv.extend_from_slice("b-1,c-1,contractor,Zoë,,2026-11-10,STOREZERO,60,,,\n".as_bytes());
    let dir = dir_with(&[("excel.csv", &csv)]);

    let read = read_dir(dir.path()).await;

    assert!(read.rejections.is_empty(), "{:#?}", read.rejections);
    assert_eq!(locations(&read), ["excel.csv:2"]);
    assert_eq!(json_of(&read.records[0].entry)["worker"]["name"], "Zoë");
}

#[tokio::test]
async fn a_header_only_file_is_complete_and_empty_but_an_empty_file_is_not() {
    let dir = dir_with(&[("header.csv", CSV_HEADER.as_bytes())]);
    let read = read_dir(dir.path()).await;
    assert!(read.records.is_empty() && read.rejections.is_empty());
    assert_eq!(read.coverage, Coverage::Complete);

    let dir = dir_with(&[("empty.csv", b"")]);
    let read = read_dir(dir.path()).await;
    assert_eq!(rejection_at(&read, "empty.csv:1").field, None);
    assert_eq!(read.coverage, Coverage::Unknown);
}
