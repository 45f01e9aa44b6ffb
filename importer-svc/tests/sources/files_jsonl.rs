//! JSON Lines files: one `EntryInput` per line, judged by the API's own parser and rules.

use importer_svc::source::Coverage;
use serde_json::json;

use crate::fixture::{dir_with, expected, json_of, locations, read_dir, rejection_at};

#[tokio::test]
async fn jsonl_lines_become_the_expected_entries_and_blank_lines_keep_their_numbers() {
    let jsonl = concat!(
        r#"{"external_id":"ct-1","worker":{"external_id":"c-77","kind":"contractor","name":"Ana Silva","email":"ana@example.org"},"date":"2026-11-23","project":"STOREZERO","hours":"7.5","notes":"integration work","billable":true}"#,
        "\n\n   \n",
        r#"{"external_id":"ct-2","worker":{"external_id":"c-78","kind":"contractor"},"date":"2026-11-24","project":"DATAPLAT","minutes":45}"#,
        "\r\n",
    );
    let dir = dir_with(&[("feed.jsonl", jsonl.as_bytes())]);

    let read = read_dir(dir.path()).await;

    assert!(read.rejections.is_empty(), "{:#?}", read.rejections);
    assert_eq!(read.coverage, Coverage::Complete);
    assert_eq!(locations(&read), ["feed.jsonl:1", "feed.jsonl:4"]);
    let got: Vec<_> = read.records.iter().map(|r| json_of(&r.entry)).collect();
    assert_eq!(
        got,
        vec![
            expected(json!({
                "external_id": "ct-1",
                "worker": {"external_id": "c-77", "kind": "contractor", "name": "Ana Silva", "email": "ana@example.org"},
                "date": "2026-11-23", "project": "STOREZERO", "minutes": 450,
                "notes": "integration work", "billable": true
            })),
            expected(json!({
                "external_id": "ct-2",
                "worker": {"external_id": "c-78", "kind": "contractor"},
                "date": "2026-11-24", "project": "DATAPLAT", "minutes": 45, "billable": false
            })),
        ]
    );
}

#[tokio::test]
async fn bad_jsonl_lines_name_line_and_field_and_the_rest_still_come_through() {
    let good = |id: &str| {
        format!(
            r#"{{"external_id":"{id}","worker":{{"external_id":"c-1","kind":"contractor"}},"date":"2026-11-10","project":"P","minutes":60}}"#
        )
    };
    let mut lines: Vec<Vec<u8>> = vec![
        good("ok-1").into_bytes(), // 1
        b"{not json".to_vec(),     // 2
        good("x-1")
            .replace(r#""minutes":60"#, r#""minutes":60,"colour":"red""#)
            .into_bytes(), // 3
        good("x-2")
            .replace(r#""external_id":"x-2","#, "")
            .into_bytes(), // 4
        good("x-3")
            .replace(
                r#""kind":"contractor""#,
                r#""kind":"contractor","email":"nope""#,
            )
            .into_bytes(), // 5
        good("x-4")
            .replace(r#""minutes":60"#, r#""minutes":0"#)
            .into_bytes(), // 6
        good("x-5")
            .replace(r#""minutes":60"#, r#""minutes":60,"hours":"1""#)
            .into_bytes(), // 7
        good("x-6").replace("2026-11-10", "2026-13-01").into_bytes(), // 8
        good("ok-1").into_bytes(), // 9
        good("x-7").replace("\"P\"", "\"caf\u{e9}\"").into_bytes(), // 10
        good("ok-2").into_bytes(), // 11
    ];
    // Line 10: Latin-1 bytes, not UTF-8.
    lines[9] = good("x-7").replace("\"P\"", "\"caf\u{1}\"").into_bytes();
    let at = lines[9].iter().position(|b| *b == 1).unwrap();
    lines[9][at] = 0xE9;
    let jsonl = lines.join(&b'\n');
    let dir = dir_with(&[("feed.jsonl", &jsonl)]);

    let read = read_dir(dir.path()).await;

    assert_eq!(locations(&read), ["feed.jsonl:1", "feed.jsonl:11"]);
    assert_eq!(read.coverage, Coverage::Complete);
    let expect = [
        ("feed.jsonl:2", None, None),
        ("feed.jsonl:3", Some("colour"), Some("x-1")),
        ("feed.jsonl:4", Some("external_id"), None),
        ("feed.jsonl:5", Some("worker.email"), Some("x-3")),
        ("feed.jsonl:6", Some("minutes"), Some("x-4")),
        ("feed.jsonl:7", Some("hours"), Some("x-5")),
        ("feed.jsonl:8", Some("date"), Some("x-6")),
        ("feed.jsonl:9", Some("external_id"), Some("ok-1")),
        ("feed.jsonl:10", None, Some("x-7")),
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
        assert_eq!(
            rejection.external_id.as_ref().map(|i| i.as_ref()),
            id,
            "{rejection:?}"
        );
    }
    assert_eq!(
        rejection_at(&read, "feed.jsonl:9").message,
        "duplicate of feed.jsonl:1"
    );
    assert!(rejection_at(&read, "feed.jsonl:10")
        .message
        .contains("UTF-8"));
}
