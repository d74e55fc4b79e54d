//! Times in the report: relative spans and RFC 3339 dates.

/// `2026-01-02T03:04:05Z (in 5m)` / `(3m ago)`.
pub(super) fn when(t: f64, now: f64) -> String {
    let secs = t as i64;
    let delta = (t - now) as i64;
    let rel = if delta >= 0 {
        format!("in {}", span(delta))
    } else {
        format!("{} ago", span(-delta))
    };
    format!("{} ({rel})", rfc3339(secs))
}

pub(super) fn span(s: i64) -> String {
    match s {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Seconds since the epoch as RFC 3339 UTC (civil-from-days, H. Hinnant).
pub(super) fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
