//! Rules for garde's `custom(…)` that its built-in rules do not cover: ranges of durations, a
//! duration bounded by another field's, identifiers compared exactly, and URLs of a given scheme. Each returns garde's error with a message an operator can act on.

use std::time::Duration;

/// `#[garde(custom(within(Duration::from_millis(1), Duration::from_secs(60))))]`: a duration in
/// `min..=max`.
pub fn within(min: Duration, max: Duration) -> impl Fn(&Duration, &()) -> garde::Result {
    move |value, ()| {
        if *value < min || *value > max {
            return Err(garde::Error::new(format!(
                "must be between {} and {}, got {}",
                humanize(min),
                humanize(max),
                humanize(*value)
            )));
        }
        Ok(())
    }
}

/// [`within`] for an optional duration: unset passes.
pub fn within_opt(
    min: Duration,
    max: Duration,
) -> impl Fn(&Option<Duration>, &()) -> garde::Result {
    let rule = within(min, max);
    move |value, ctx| value.as_ref().map_or(Ok(()), |v| rule(v, ctx))
}

/// `#[garde(custom(at_least(self.refresh_interval, "jwks.refresh_interval")))]`: a duration no
/// shorter than `floor`, another field of the section. `what` names that field by its key, and
/// may say why after it (`"jwks.refresh_interval, or keys expire between refreshes"`).
pub fn at_least(floor: Duration, what: &str) -> impl Fn(&Duration, &()) -> garde::Result + '_ {
    move |value, ()| {
        if *value < floor {
            return Err(garde::Error::new(format!("must be at least {what}")));
        }
        Ok(())
    }
}

/// `#[garde(custom(trimmed))]`: a non-empty value without surrounding whitespace, for what is
/// compared exactly (an audience, a client id), where surrounding spaces would never match.
pub fn trimmed(value: &str, _: &()) -> garde::Result {
    if value.is_empty() || value.trim() != value {
        return Err(garde::Error::new(
            "must be non-empty, without surrounding spaces",
        ));
    }
    Ok(())
}

/// `#[garde(custom(http_url))]`: an absolute `http` or `https` URL with a host.
pub fn http_url<U: AsRef<str>>(value: &U, _: &()) -> garde::Result {
    let raw = value.as_ref();
    let scheme_ok = raw.starts_with("http://") || raw.starts_with("https://");
    let host = raw.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    if !scheme_ok || host.is_empty() || host.starts_with('/') {
        return Err(garde::Error::new(format!(
            "{raw:?} is not an absolute http(s) URL"
        )));
    }
    Ok(())
}

fn humanize(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_outside_their_range_are_refused_with_both_bounds() {
        let rule = within(Duration::from_millis(1), Duration::from_secs(60));
        assert!(rule(&Duration::from_secs(1), &()).is_ok());
        let err = rule(&Duration::ZERO, &()).unwrap_err();
        assert_eq!(err.message(), "must be between 1ms and 60s, got 0s");
        assert!(within_opt(Duration::from_secs(1), Duration::from_secs(2))(&None, &()).is_ok());
    }

    #[test]
    fn a_duration_shorter_than_its_floor_is_refused_naming_the_floor() {
        let rule = at_least(Duration::from_secs(60), "retry.base_delay");
        assert!(rule(&Duration::from_secs(60), &()).is_ok());
        let err = rule(&Duration::from_secs(59), &()).unwrap_err();
        assert_eq!(err.message(), "must be at least retry.base_delay");
    }

    #[test]
    fn only_non_empty_values_without_surrounding_spaces_are_trimmed() {
        assert!(trimmed("https://api.example.com/timesheets", &()).is_ok());
        assert!(trimmed("urn:a b", &()).is_ok());
        for bad in ["", " ", " aud", "aud\n"] {
            assert!(trimmed(bad, &()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_absolute_http_urls_pass() {
        assert!(http_url(&"http://127.0.0.1:4318", &()).is_ok());
        assert!(http_url(&"https://collector", &()).is_ok());
        assert!(http_url(&"collector:4318", &()).is_err());
        assert!(http_url(&"http:///x", &()).is_err());
    }
}
