//! The sample data in `importer-svc/samples/` is what the local stack imports: it must be clean.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use importer_svc::source::Coverage;
use time::Weekday;
use timesheet_domain::NewEntry;

use crate::fixture::read_dir;

#[tokio::test]
async fn the_sample_data_parses_with_zero_rejections() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/contractor-tracker");

    let read = read_dir(&dir).await;

    assert!(read.rejections.is_empty(), "{:#?}", read.rejections);
    assert_eq!(read.coverage, Coverage::Complete);
    assert!(
        (35..=45).contains(&read.records.len()),
        "{}",
        read.records.len()
    );
    let files: HashSet<_> = read
        .records
        .iter()
        .filter_map(|r| r.location.split_once(':').map(|(file, _)| file.to_owned()))
        .collect();
    assert_eq!(files.len(), 2, "both a CSV and a JSONL file: {files:?}");

    let mut per_day: HashMap<(String, String), u32> = HashMap::new();
    let mut workers = HashSet::new();
    for record in &read.records {
        let entry = NewEntry::try_from(record.entry.clone()).unwrap();
        let date = entry.date.date();
        assert!(
            (time::macros::date!(2026 - 11 - 09)..=time::macros::date!(2026 - 11 - 27))
                .contains(&date),
            "{date} at {}",
            record.location
        );
        assert!(!matches!(
            date.weekday(),
            Weekday::Saturday | Weekday::Sunday
        ));
        let worker = entry.worker.unwrap().external_id.to_string();
        workers.insert(worker.clone());
        *per_day.entry((worker, date.to_string())).or_default() += entry.minutes.get();
    }
    assert!((4..=5).contains(&workers.len()), "{workers:?}");
    for (key, minutes) in per_day {
        assert!((240..=480).contains(&minutes), "{key:?}: {minutes} min");
    }
}
