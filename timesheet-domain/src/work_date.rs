//! The local calendar date an entry is for, and the window of dates the service accepts.

use serde::{Deserialize, Serialize};
use time::{format_description::well_known::Iso8601, Date, Duration};

use crate::ValidationError;

/// A calendar date (`YYYY-MM-DD`) in the worker's own time zone. It is a date, not an instant:
/// "8 hours on 23 November" means the same wherever the client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkDate(Date);

const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl WorkDate {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.len() != 10 {
            return Err(ValidationError::new(
                "",
                format!("{raw:?} is not a date in YYYY-MM-DD form"),
            ));
        }
        Date::parse(raw, FORMAT).map(Self).map_err(|_| {
            ValidationError::new(
                "",
                format!("{raw:?} is not a valid date in YYYY-MM-DD form"),
            )
        })
    }

    pub fn from_date(date: Date) -> Self {
        Self(date)
    }

    pub fn date(self) -> Date {
        self.0
    }

    /// The ISO week (`2026-W48`) the date belongs to; weeks are what get submitted and approved.
    pub fn iso_week(self) -> crate::IsoWeek {
        crate::IsoWeek::of(self.0)
    }
}

impl std::fmt::Display for WorkDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The format has only numeric components, so formatting cannot fail for a valid Date;
        // fall back to the ISO 8601 form rather than panicking.
        match self.0.format(FORMAT) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{}", self.0.format(&Iso8601::DATE).unwrap_or_default()),
        }
    }
}

impl TryFrom<String> for WorkDate {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<WorkDate> for String {
    fn from(value: WorkDate) -> String {
        value.to_string()
    }
}

/// How far in the past and the future an entry's date may lie, relative to today. Keeps typos
/// (`2062-11-23`) and back-filling of closed periods out of the ledger. Configurable per service
/// (a service's `[date_window]`, keys left out keep their default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DateWindow {
    pub past_days: u32,
    pub future_days: u32,
}

impl Default for DateWindow {
    fn default() -> Self {
        Self {
            past_days: 400,
            future_days: 31,
        }
    }
}

impl DateWindow {
    /// The widest window either way: ten years keeps its edges valid dates whatever today is.
    pub const MAX_DAYS: u32 = 3660;

    /// Checks `date` against the window around `today`.
    pub fn check(&self, date: WorkDate, today: Date) -> Result<(), ValidationError> {
        let earliest = today - Duration::days(i64::from(self.past_days));
        let latest = today + Duration::days(i64::from(self.future_days));
        if date.0 < earliest || date.0 > latest {
            return Err(ValidationError::new(
                "",
                format!(
                    "{date} is outside the accepted window {} to {}",
                    WorkDate(earliest),
                    WorkDate(latest)
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn parses_only_real_calendar_dates() {
        assert_eq!(
            WorkDate::parse("2026-11-23").map(WorkDate::date),
            Ok(date!(2026 - 11 - 23))
        );
        for raw in [
            "2026-02-30",
            "2026-13-01",
            "26-11-23",
            "2026/11/23",
            "",
            "2026-11-23T00:00",
        ] {
            assert!(WorkDate::parse(raw).is_err(), "{raw} was accepted");
        }
        assert_eq!(
            WorkDate::parse("2024-02-29").map(|d| d.to_string()),
            Ok("2024-02-29".into())
        );
    }

    #[test]
    fn window_bounds_are_inclusive() {
        let window = DateWindow {
            past_days: 7,
            future_days: 1,
        };
        let today = date!(2026 - 11 - 28);
        let ok = |s: &str| WorkDate::parse(s).map(|d| window.check(d, today).is_ok());
        assert_eq!(ok("2026-11-21"), Ok(true));
        assert_eq!(ok("2026-11-20"), Ok(false));
        assert_eq!(ok("2026-11-29"), Ok(true));
        assert_eq!(ok("2026-11-30"), Ok(false));
    }
}
