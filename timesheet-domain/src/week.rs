//! ISO weeks and the approval workflow of a worker's week.

use serde::{Deserialize, Serialize};
use time::{Date, Weekday};

use crate::ValidationError;

/// An ISO 8601 week (`2026-W48`): Monday to Sunday, the unit that is submitted and approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IsoWeek {
    year: i32,
    week: u8,
}

impl IsoWeek {
    pub fn of(date: Date) -> Self {
        let (year, week, _) = date.to_iso_week_date();
        Self { year, week }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let bad = || ValidationError::new("", format!("{raw:?} is not an ISO week like 2026-W48"));
        let (year, week) = raw.split_once("-W").ok_or_else(bad)?;
        if year.len() != 4 || week.len() != 2 {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let week: u8 = week.parse().map_err(|_| bad())?;
        Date::from_iso_week_date(year, week, Weekday::Monday).map_err(|_| {
            ValidationError::new("", format!("{raw:?}: week {week} does not exist in {year}"))
        })?;
        Ok(Self { year, week })
    }

    /// Monday of the week.
    pub fn first_day(self) -> Date {
        // Both parts were checked when the value was made, so this date exists.
        Date::from_iso_week_date(self.year, self.week, Weekday::Monday).unwrap_or(Date::MIN)
    }

    /// Sunday of the week.
    pub fn last_day(self) -> Date {
        Date::from_iso_week_date(self.year, self.week, Weekday::Sunday).unwrap_or(Date::MIN)
    }
}

impl std::fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl TryFrom<String> for IsoWeek {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<IsoWeek> for String {
    fn from(value: IsoWeek) -> String {
        value.to_string()
    }
}

/// Where a worker's week stands. A week with no row is `Open`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WeekStatus {
    Open,
    Submitted,
    Approved,
    Rejected,
}

/// A transition the workflow does not allow, e.g. approving a week nobody submitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a week that is {from} cannot be {action}")]
pub struct WeekTransitionError {
    pub from: &'static str,
    pub action: &'static str,
}

impl WeekStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "open" => Ok(Self::Open),
            "submitted" => Ok(Self::Submitted),
            "approved" => Ok(Self::Approved),
            "rejected" => Ok(Self::Rejected),
            other => Err(ValidationError::new(
                "",
                format!("{other:?} is not one of open, submitted, approved, rejected"),
            )),
        }
    }

    /// Entries of an approved week are frozen: nothing may create, change or delete them.
    pub fn is_locked(self) -> bool {
        self == Self::Approved
    }

    /// The worker (or a machine acting for the tenant) hands the week in. A rejected week may
    /// be submitted again after correction.
    pub fn submit(self) -> Result<Self, WeekTransitionError> {
        match self {
            Self::Open | Self::Rejected => Ok(Self::Submitted),
            _ => Err(self.refuse("submitted")),
        }
    }

    pub fn approve(self) -> Result<Self, WeekTransitionError> {
        match self {
            Self::Submitted => Ok(Self::Approved),
            _ => Err(self.refuse("approved")),
        }
    }

    pub fn reject(self) -> Result<Self, WeekTransitionError> {
        match self {
            Self::Submitted => Ok(Self::Rejected),
            _ => Err(self.refuse("rejected")),
        }
    }

    fn refuse(self, action: &'static str) -> WeekTransitionError {
        WeekTransitionError {
            from: self.as_str(),
            action,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn iso_weeks_parse_and_print() {
        let w = IsoWeek::parse("2026-W48");
        assert_eq!(w.map(|w| w.to_string()), Ok("2026-W48".to_owned()));
        assert_eq!(
            IsoWeek::parse("2026-W48").map(IsoWeek::first_day),
            Ok(date!(2026 - 11 - 23))
        );
        assert_eq!(
            IsoWeek::parse("2026-W48").map(IsoWeek::last_day),
            Ok(date!(2026 - 11 - 29))
        );
        assert!(IsoWeek::parse("2026-W54").is_err());
        assert!(IsoWeek::parse("2026-W53").is_ok());
        assert!(IsoWeek::parse("2027-W53").is_err());
        assert!(IsoWeek::parse("2026W48").is_err());
        assert!(IsoWeek::parse("2026-W4").is_err());
    }

    #[test]
    fn a_date_knows_its_week_across_year_ends() {
        assert_eq!(IsoWeek::of(date!(2027 - 01 - 01)).to_string(), "2026-W53");
        assert_eq!(IsoWeek::of(date!(2026 - 11 - 23)).to_string(), "2026-W48");
    }

    #[test]
    fn workflow_allows_only_its_transitions() {
        use WeekStatus::*;
        assert_eq!(Open.submit(), Ok(Submitted));
        assert_eq!(Rejected.submit(), Ok(Submitted));
        assert_eq!(Submitted.approve(), Ok(Approved));
        assert_eq!(Submitted.reject(), Ok(Rejected));
        assert!(Approved.submit().is_err());
        assert!(Open.approve().is_err());
        assert!(Approved.reject().is_err());
        assert!(Submitted.submit().is_err());
        assert!(Approved.is_locked() && !Submitted.is_locked());
    }
}
