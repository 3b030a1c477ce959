//! Calendar arithmetic for the timestamps Ansible prints, and the local time.

use std::time::SystemTime;

/// Formats the local time as Python's `str(datetime.datetime.now())`:
/// `YYYY-MM-DD HH:MM:SS.ffffff`, in the time zone of the process (`TZ`, else
/// `/etc/localtime`).
pub fn now_text() -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = now.as_secs() as libc::time_t;
    // SAFETY: `tm` is plain data that localtime_r fills, or leaves zeroed on failure.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&seconds, &mut tm).is_null() {
            return utc_text(now.as_secs() as i64, now.subsec_micros());
        }
        tm
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        i64::from(tm.tm_year) + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_micros()
    )
}

/// Python's `time.mktime(time.strptime(text, format))`: `text` read with `format` as a
/// local time, in seconds since the epoch. Errors are Python's `ValueError` messages.
pub fn parse_local_time(text: &str, format: &str) -> Result<f64, String> {
    let mismatch = || {
        format!(
            "time data {} does not match format {}",
            crate::pyrepr::str_repr(text),
            crate::pyrepr::str_repr(format)
        )
    };
    let (Ok(c_text), Ok(c_format)) = (std::ffi::CString::new(text), std::ffi::CString::new(format))
    else {
        return Err(mismatch());
    };
    // SAFETY: both strings are NUL-terminated and outlive the calls; strptime returns
    // NULL or a pointer into `c_text`, and mktime reads only `tm`.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        // Python's struct_time defaults: 1900-01-01 00:00:00.
        tm.tm_mday = 1;
        let rest = libc::strptime(c_text.as_ptr(), c_format.as_ptr(), &mut tm);
        if rest.is_null() {
            return Err(mismatch());
        }
        let rest = std::ffi::CStr::from_ptr(rest).to_string_lossy();
        if !rest.is_empty() {
            return Err(format!("unconverted data remains: {rest}"));
        }
        tm.tm_isdst = -1;
        let seconds = libc::mktime(&mut tm);
        if seconds == -1 && !(tm.tm_year == 69 && tm.tm_mon == 11 && tm.tm_mday == 31) {
            return Err("mktime argument out of range".to_string());
        }
        Ok(seconds as f64)
    }
}

/// `seconds` since the epoch in UTC, formatted as `now_text` formats local time.
fn utc_text(seconds: i64, micros: u32) -> String {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{micros:06}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian `(year, month, day)`.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_791), (2026, 12, 4));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn utc_text_like_python() {
        assert_eq!(utc_text(86_400 + 3_723, 42), "1970-01-02 01:02:03.000042");
        assert_eq!(now_text().len(), "1970-01-02 01:02:03.000042".len());
    }

    #[test]
    fn parse_local_time_like_python() {
        let parsed = parse_local_time("202202081414.00", "%Y%m%d%H%M.%S").unwrap();
        let (year, month, day) = civil_from_days((parsed as i64).div_euclid(86_400));
        // Whatever the local zone, the date is within a day of the one written.
        assert_eq!((year, month), (2022, 2));
        assert!((7..=9).contains(&day), "day {day}");
        assert_eq!(
            parse_local_time("2022-02", "%Y%m").unwrap_err(),
            "time data '2022-02' does not match format '%Y%m'"
        );
        assert_eq!(
            parse_local_time("20220208x", "%Y%m%d").unwrap_err(),
            "unconverted data remains: x"
        );
    }
}
