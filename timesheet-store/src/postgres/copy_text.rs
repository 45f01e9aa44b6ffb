//! Rows in the text format of PostgreSQL's `COPY ... FROM STDIN`, for bulk inserts.
//!
//! COPY spares the server the executor's per-row work of `INSERT ... SELECT FROM UNNEST(...)`:
//! on bench/ingest PostgreSQL spent 27-29 us of CPU per entry instead of about 30.5, for about 5%
//! more entries per second; most of the rest is the indexes' upkeep, which no statement avoids.
//! The format is
//! documented in the `COPY` reference ("Text Format"): columns separated by a tab, rows ended by a
//! newline, `\N` for NULL, and a backslash escape for backslash, tab, newline and carriage return
//! inside values. Escaping every backslash also means the end-of-data marker `\.` can never
//! appear in the data.

use std::fmt::{Display, Write as _};

use time::{OffsetDateTime, UtcOffset};

/// One COPY payload, built row by row.
#[derive(Debug, Default)]
pub(super) struct CopyText {
    buf: String,
    /// Whether the row under construction has a column yet (the next one needs a tab first).
    row_started: bool,
}

impl CopyText {
    pub(super) fn with_capacity(bytes: usize) -> Self {
        Self {
            buf: String::with_capacity(bytes),
            row_started: false,
        }
    }

    fn separator(&mut self) {
        if self.row_started {
            self.buf.push('\t');
        }
        self.row_started = true;
    }

    /// A text value, escaped.
    pub(super) fn text(&mut self, value: &str) -> &mut Self {
        self.separator();
        for c in value.chars() {
            match c {
                '\\' => self.buf.push_str("\\\\"),
                '\t' => self.buf.push_str("\\t"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                c => self.buf.push(c),
            }
        }
        self
    }

    /// A text value or NULL.
    pub(super) fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.text(value),
            None => {
                self.separator();
                self.buf.push_str("\\N");
                self
            }
        }
    }

    /// A value whose `Display` form is already a valid, escape-free literal of its column type
    /// (numbers, uuids, dates).
    pub(super) fn plain(&mut self, value: impl Display) -> &mut Self {
        self.separator();
        // Writing into a String cannot fail.
        let _ = write!(self.buf, "{value}");
        self
    }

    pub(super) fn boolean(&mut self, value: bool) -> &mut Self {
        self.separator();
        self.buf.push(if value { 't' } else { 'f' });
        self
    }

    /// A timestamptz in UTC with microseconds, truncated as sqlx truncates the timestamps it
    /// binds, so that a row written by COPY and one written by a bound statement at the same
    /// instant hold the same value.
    pub(super) fn timestamp(&mut self, value: OffsetDateTime) -> &mut Self {
        self.separator();
        let utc = value.to_offset(UtcOffset::UTC);
        let _ = write!(
            self.buf,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00",
            utc.year(),
            u8::from(utc.month()),
            utc.day(),
            utc.hour(),
            utc.minute(),
            utc.second(),
            utc.microsecond()
        );
        self
    }

    pub(super) fn end_row(&mut self) {
        self.buf.push('\n');
        self.row_started = false;
    }

    pub(super) fn into_bytes(self) -> Vec<u8> {
        self.buf.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn row(build: impl FnOnce(&mut CopyText)) -> String {
        let mut copy = CopyText::default();
        build(&mut copy);
        copy.end_row();
        String::from_utf8(copy.into_bytes()).unwrap()
    }

    #[test]
    fn columns_are_tab_separated_and_rows_end_with_a_newline() {
        let text = row(|c| {
            c.plain(42).text("a b").boolean(true).boolean(false);
        });
        assert_eq!(text, "42\ta b\tt\tf\n");
    }

    #[test]
    fn backslash_tab_newline_and_carriage_return_are_escaped() {
        let text = row(|c| {
            c.text("a\\b\tc\nd\re");
        });
        assert_eq!(text, "a\\\\b\\tc\\nd\\re\n");
    }

    #[test]
    fn the_literal_null_marker_and_end_of_data_marker_stay_data() {
        let text = row(|c| {
            c.text("\\N").text("\\.");
        });
        assert_eq!(text, "\\\\N\t\\\\.\n");
    }

    #[test]
    fn none_is_null() {
        let text = row(|c| {
            c.opt_text(None).opt_text(Some("x"));
        });
        assert_eq!(text, "\\N\tx\n");
    }

    #[test]
    fn timestamps_are_utc_with_truncated_microseconds() {
        let text = row(|c| {
            c.timestamp(datetime!(2026-11-28 10:20:30.123456789 +02:00));
        });
        assert_eq!(text, "2026-11-28 08:20:30.123456+00\n");
    }
}
