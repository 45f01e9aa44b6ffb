//! Rules for garde's `custom(…)` that its built-in rules do not cover: ranges of durations and
//! URLs of a given scheme. Each returns garde's error with a message an operator can act on.

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
    fn only_absolute_http_urls_pass() {
        assert!(http_url(&"http://127.0.0.1:4318", &()).is_ok());
        assert!(http_url(&"https://collector", &()).is_ok());
        assert!(http_url(&"collector:4318", &()).is_err());
        assert!(http_url(&"http:///x", &()).is_err());
    }
}
