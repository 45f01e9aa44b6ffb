//! Source files for the importer, written by the tests: rows they can edit, back-date and delete.

use std::fmt::Write as _;
use std::path::Path;

pub const HEADER: &str =
    "external_id,worker_external_id,worker_kind,worker_name,worker_email,date,project,minutes,hours,notes,billable";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub external_id: String,
    pub worker: String,
    pub date: String,
    pub project: String,
    pub minutes: u32,
    pub notes: String,
}

impl Row {
    pub fn new(external_id: &str, worker: &str, date: &str, minutes: u32) -> Self {
        Self {
            external_id: external_id.to_owned(),
            worker: worker.to_owned(),
            date: date.to_owned(),
            project: "STOREZERO".to_owned(),
            minutes,
            notes: format!("work on {external_id}"),
        }
    }

    fn csv_line(&self) -> String {
        format!(
            "{},{},contractor,Worker {},{}@example.org,{},{},{},,{},true",
            self.external_id,
            self.worker,
            self.worker,
            self.worker,
            self.date,
            self.project,
            self.minutes,
            self.notes
        )
    }
}

/// `n` valid rows: 40 workers, 30 minutes each, spread over the 200 days before 2026-11-27.
pub fn many(prefix: &str, n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let day = time_day(i / 40 % 200);
            Row::new(&format!("{prefix}-{i}"), &format!("w{}", i % 40), &day, 30)
        })
        .collect()
}

/// The date `days` before 2026-11-27, as YYYY-MM-DD, without a date library.
fn time_day(days: usize) -> String {
    let mut y = 2026;
    let mut m = 11usize;
    let mut d = 27i64 - i64::try_from(days).unwrap_or(0);
    let month_len = |y: i32, m: usize| -> i64 {
        match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            _ if y % 4 == 0 => 29,
            _ => 28,
        }
    };
    while d < 1 {
        m -= 1;
        if m == 0 {
            m = 12;
            y -= 1;
        }
        d += month_len(y, m);
    }
    format!("{y:04}-{m:02}-{d:02}")
}

/// Replaces the inbox's content with one CSV file holding `rows` (and `extra` raw lines). The
/// file is renamed into place, so an importer reading at the same moment sees the old or the
/// new file, never half of one.
pub fn write(inbox: &Path, rows: &[Row], extra: &[&str]) {
    for entry in std::fs::read_dir(inbox).expect("the inbox") {
        let path = entry.expect("an entry").path();
        if path.file_name().is_some_and(|n| n != "entries.csv") {
            std::fs::remove_file(path).expect("emptying the inbox");
        }
    }
    let mut text = format!("{HEADER}\n");
    for row in rows {
        writeln!(text, "{}", row.csv_line()).expect("writing to a string");
    }
    for line in extra {
        writeln!(text, "{line}").expect("writing to a string");
    }
    let partial = inbox.join(".entries.csv.partial");
    std::fs::write(&partial, text).expect("writing the inbox");
    std::fs::rename(&partial, inbox.join("entries.csv")).expect("renaming into the inbox");
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_count_back_across_months_and_years() {
        assert_eq!(super::time_day(0), "2026-11-27");
        assert_eq!(super::time_day(27), "2026-10-31");
        assert_eq!(super::time_day(331), "2025-12-31");
    }
}
