//! Durations in whole minutes, the only unit the store keeps.

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The most a worker can log on one day, and so the most one entry can hold.
pub const MAX_MINUTES_PER_DAY: u32 = 24 * 60;

/// A duration of 1 to 1,440 whole minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u32")]
pub struct Minutes(u16);

impl Minutes {
    pub fn new(minutes: i64) -> Result<Self, ValidationError> {
        if minutes <= 0 {
            return Err(ValidationError::new(
                "",
                format!("must be at least 1 minute, got {minutes}"),
            ));
        }
        if minutes > i64::from(MAX_MINUTES_PER_DAY) {
            return Err(ValidationError::new(
                "",
                format!("must be at most {MAX_MINUTES_PER_DAY} minutes (24 h), got {minutes}"),
            ));
        }
        u16::try_from(minutes)
            .map(Self)
            .map_err(|_| ValidationError::new("", "out of range"))
    }

    /// Parses decimal hours (`"7.5"`, `"8"`, `"0.25"`) into whole minutes. Anything that is not
    /// a whole number of minutes (`"7.51"` is 450.6 min) is refused rather than rounded, so that
    /// no client loses time silently. Works on the decimal text, never on floating point.
    pub fn from_hours(raw: &str) -> Result<Self, ValidationError> {
        let bad = || ValidationError::new("", format!("{raw:?} is not a decimal number of hours"));
        let (whole, frac) = match raw.split_once('.') {
            Some((w, f)) => (w, f),
            None => (raw, ""),
        };
        if whole.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        if whole.len() > 4 || frac.len() > 6 {
            return Err(ValidationError::new(
                "",
                format!("{raw:?} has too many digits for hours"),
            ));
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let scale = 10_i64.pow(u32::try_from(frac.len()).map_err(|_| bad())?);
        let frac_num: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| bad())?
        };
        let frac_minutes_scaled = frac_num * 60;
        if frac_minutes_scaled % scale != 0 {
            return Err(ValidationError::new(
                "",
                format!("{raw:?} hours is not a whole number of minutes"),
            ));
        }
        Self::new(whole * 60 + frac_minutes_scaled / scale)
    }

    pub fn get(self) -> u32 {
        u32::from(self.0)
    }
}

impl TryFrom<i64> for Minutes {
    type Error = ValidationError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Minutes> for u32 {
    fn from(value: Minutes) -> u32 {
        value.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_whole_day_and_nothing_more() {
        assert_eq!(Minutes::new(1).map(Minutes::get), Ok(1));
        assert_eq!(Minutes::new(1440).map(Minutes::get), Ok(1440));
        assert!(Minutes::new(0).is_err());
        assert!(Minutes::new(-5).is_err());
        assert!(Minutes::new(1441).is_err());
    }

    #[test]
    fn decimal_hours_become_whole_minutes() {
        assert_eq!(Minutes::from_hours("7.5").map(Minutes::get), Ok(450));
        assert_eq!(Minutes::from_hours("8").map(Minutes::get), Ok(480));
        assert_eq!(Minutes::from_hours("0.25").map(Minutes::get), Ok(15));
        assert_eq!(Minutes::from_hours(".5").map(Minutes::get), Ok(30));
        assert_eq!(Minutes::from_hours("24").map(Minutes::get), Ok(1440));
        assert_eq!(Minutes::from_hours("1.0166666").ok(), None);
    }

    #[test]
    fn refuses_hours_that_are_not_whole_minutes_or_not_numbers() {
        for raw in [
            "7.51", "", ".", "-1", "1e2", "7,5", "24.5", "0", "abc", " 7", "99999",
        ] {
            assert!(Minutes::from_hours(raw).is_err(), "{raw:?} was accepted");
        }
    }

    proptest! {
        #[test]
        fn hours_round_trip_for_every_valid_minute(m in 1u32..=1440) {
            let hours = format!("{}.{:06}", m / 60, (m % 60) * 1_000_000 / 60);
            // Only minutes that are exact in six decimals round-trip; the rest must be refused.
            let exact = ((m % 60) * 1_000_000) % 60 == 0;
            let parsed = Minutes::from_hours(&hours);
            prop_assert_eq!(parsed.is_ok(), exact);
            if let Ok(p) = parsed { prop_assert_eq!(p.get(), m); }
        }

        #[test]
        fn arbitrary_text_parses_only_to_valid_minutes(raw in ".{0,12}") {
            if let Ok(m) = Minutes::from_hours(&raw) {
                prop_assert!((1..=MAX_MINUTES_PER_DAY).contains(&m.get()));
            }
        }
    }
}
