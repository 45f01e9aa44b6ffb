//! The wall clock, read in one place for every crate that stamps or checks a time in seconds
//! (token claims, assertion lifetimes, metrics timestamps). Rules elsewhere in the domain take
//! `now` as an argument, so that they stay testable without a clock.

/// Seconds since the Unix epoch, as JWT `iat`/`exp` and `time::OffsetDateTime::unix_timestamp`
/// count them. A host clock before 1970 reads as 0 rather than failing: no caller can do better.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_reads_a_time_after_this_code_was_written() {
        // 2026-01-01T00:00:00Z
        assert!(unix_now() > 1_767_225_600);
    }
}
