//! Clock and durations. Every duration a user types — `--older-than`,
//! `--idle-exit`, and later `after:7d` — is read with one grammar,
//! humantime's (`30s`, `90m`, `12h`, `30d`, `2w`, `1h 30m`).

use std::time::Duration;

/// Milliseconds since the Unix epoch, the unit of every time on the wire.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Reads a duration such as `30d`, `12h`, `90m`, `2w` or `1h 30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|err| {
        format!("{text:?} is not a duration ({err}) — write a number and a unit, such as 30d, 12h, 90m or 2w")
    })
}

/// A duration in whole milliseconds, saturating.
pub fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("30d").ok(), Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("2w").ok(), Some(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_duration("1h 30m").ok(), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45s").ok(), Some(Duration::from_secs(45)));
        for bad in ["30", "d", "5 parsecs", ""] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(err.contains("not a duration"), "{err}");
        }
    }
}
