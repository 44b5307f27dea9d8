//! Clock and durations. Every duration a user types — `--older-than`,
//! `--idle-exit`, and later `after:7d` — is read with one grammar,
//! humantime's (`30s`, `90m`, `12h`, `30d`, `2w`, `1h 30m`).

use std::time::Duration;

/// Milliseconds since the Unix epoch, the unit of every time on the wire.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Reads a duration: humantime's grammar (`30d`, `12h`, `90m`, `2w`,
/// `1h 30m`), plus bare seconds (`90`), with two refusals that catch
/// typos: no fractions (`1.5h`), and every number glued to its unit
/// (`10 m` is refused, not read as ten minutes).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| format!("{text:?} is too long"));
    }
    if text.contains('.') {
        return Err(format!("{text:?} has a fraction — write whole units, e.g. 1h 30m"));
    }
    let glued =
        |part: &str| part.starts_with(|c: char| c.is_ascii_digit()) && !part.bytes().all(|b| b.is_ascii_digit());
    let parsed = if text.split_whitespace().all(glued) {
        humantime::parse_duration(text).map_err(|err| err.to_string())
    } else {
        Err("a number without its unit".to_owned())
    };
    parsed.map_err(|err| format!("{text:?} is not a duration ({err}) — write e.g. 30s, 10m, 2h or 30d"))
}

/// The IANA name of this process's time zone (`TZ` respected), which
/// clients send with exports so the daemon shows times as the user sees
/// them; empty when the zone has no IANA name (a POSIX `TZ` string), and
/// then the daemon uses its own.
pub fn system_time_zone() -> String {
    jiff::tz::TimeZone::system().iana_name().unwrap_or_default().to_owned()
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
        assert_eq!(parse_duration("500ms").ok(), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("90").ok(), Some(Duration::from_secs(90)), "bare seconds");
        for bad in ["", "d", "m", "ten", "10 m", "10m; rm -rf", "-1s", "5 parsecs"] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(err.contains("not a duration"), "{bad}: {err}");
        }
        assert!(parse_duration("1.5h").expect_err("fraction").contains("fraction"));
    }
}
