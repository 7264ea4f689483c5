//! Durations (`90d`, `1h30m`) and sizes (`64MiB`) as users write them, and times as they read them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Parses `90d`, `12h`, `15m`, `30s` and combinations such as `1h30m` (also `1w`).
pub fn parse_duration(text: &str) -> Result<Duration> {
    let bad = || {
        Error::usage(format!(
            "invalid duration {text:?}: write a number and a unit (d, h, m, s, w), e.g. 90d, 12h, 1h30m"
        ))
    };
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut units = 0;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        digits.clear();
        units += 1;
    }
    if !digits.is_empty() || units == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// Parses `64MiB`, `256MiB`, `1GiB`, `8192KiB` into KiB.
pub fn parse_size_kib(text: &str) -> Result<u32> {
    let bad = || {
        Error::usage(format!(
            "invalid size {text:?}: write a number and KiB, MiB or GiB, e.g. 64MiB"
        ))
    };
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let factor: u64 = match unit.trim() {
        "KiB" | "K" | "k" => 1,
        "MiB" | "M" | "m" => 1024,
        "GiB" | "G" | "g" => 1024 * 1024,
        _ => return Err(bad()),
    };
    let kib = n.checked_mul(factor).ok_or_else(bad)?;
    u32::try_from(kib).map_err(|_| bad())
}

/// A duration in the largest units that fit, e.g. `90d`, `1h30m`, `45s`.
pub fn format_duration(secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// The unit a size was written in (`KiB`, `MiB` or `GiB`; `MiB` when unclear), so a message can
/// answer in it.
pub fn size_unit(text: &str) -> &'static str {
    let unit = text
        .trim()
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim();
    match unit {
        "KiB" | "K" | "k" => "KiB",
        "GiB" | "G" | "g" => "GiB",
        _ => "MiB",
    }
}

/// `kib` in `unit` (`KiB`, `MiB` or `GiB`), with a decimal when it is not a whole number of it.
pub fn format_size_in(kib: u32, unit: &str) -> String {
    let per = match unit {
        "GiB" => 1024 * 1024,
        "KiB" => 1,
        _ => 1024,
    };
    if kib.is_multiple_of(per) {
        format!("{}{unit}", kib / per)
    } else {
        format!("{:.2}{unit}", f64::from(kib) / f64::from(per))
    }
}

/// A size in KiB as the largest exact unit, e.g. `64MiB`, `1GiB`, `1000KiB`.
pub fn format_size_kib(kib: u32) -> String {
    if kib.is_multiple_of(1024 * 1024) {
        format!("{}GiB", kib / (1024 * 1024))
    } else if kib.is_multiple_of(1024) {
        format!("{}MiB", kib / 1024)
    } else {
        format!("{kib}KiB")
    }
}

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// RFC 3339 UTC time, e.g. `2026-11-23T18:06:02Z`.
pub fn format_time(secs: i64) -> String {
    match u64::try_from(secs) {
        Ok(s) => humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(s)).to_string(),
        Err(_) => "before 1970".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let secs = |t: &str| parse_duration(t).map(|d| d.as_secs()).ok();
        assert_eq!(secs("90d"), Some(90 * 86_400));
        assert_eq!(secs("1h30m"), Some(5400));
        assert_eq!(secs("30s"), Some(30));
        assert_eq!(secs("15m"), Some(900));
        for bad in ["", "h", "10", "1x", "-1h", "99999999999999999999d"] {
            assert_eq!(secs(bad), None, "{bad}");
        }
        assert_eq!(format_duration(5400), "1h30m");
        assert_eq!(format_duration(90 * 86_400), "90d");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size_kib("64MiB").ok(), Some(65_536));
        assert_eq!(parse_size_kib("1GiB").ok(), Some(1_048_576));
        assert_eq!(parse_size_kib("8192KiB").ok(), Some(8192));
        assert!(parse_size_kib("64").is_err());
        assert!(parse_size_kib("64TB").is_err());
        assert!(parse_size_kib("99999999GiB").is_err());
    }
}
