//! Calendar arithmetic for the timestamps Ansible prints, without a time-zone database.

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

/// Parses `text` as a local time in `format` and returns seconds since the epoch, as
/// Python's `time.mktime(time.strptime(text, format))` does. Errors carry Python's
/// `ValueError` text.
///
/// NOTE: the directives are C's `strptime(3)`, which agree with Python's for the
/// numeric ones (`%Y %m %d %H %M %S`...); names of months and days follow the C locale.
pub fn parse_local_time(text: &str, format: &str) -> Result<f64, String> {
    let mismatch = || format!("time data '{text}' does not match format '{format}'");
    let (Ok(c_text), Ok(c_format)) = (std::ffi::CString::new(text), std::ffi::CString::new(format))
    else {
        return Err(mismatch());
    };
    // SAFETY: both strings are NUL-terminated and outlive the calls; `tm` is zeroed
    // before strptime fills it, and the returned pointer points into `c_text`.
    let (rest, seconds) = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        let end = libc::strptime(c_text.as_ptr(), c_format.as_ptr(), &mut tm);
        if end.is_null() {
            return Err(mismatch());
        }
        tm.tm_isdst = -1;
        let rest = std::ffi::CStr::from_ptr(end).to_string_lossy().into_owned();
        (rest, libc::mktime(&mut tm))
    };
    if !rest.is_empty() {
        return Err(format!("unconverted data remains: {rest}"));
    }
    if seconds == -1 {
        return Err("mktime argument out of range".to_string());
    }
    Ok(seconds as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_parses_whole_text() {
        let parsed = parse_local_time("202001011200.0", "%Y%m%d%H%M.%S").unwrap();
        let utc_noon = 1_577_880_000.0;
        // The local zone moves the result by at most a day.
        assert!((parsed - utc_noon).abs() <= 86_400.0);
        assert_eq!(
            parse_local_time("2020", "%Y%m%d"),
            Err("time data '2020' does not match format '%Y%m%d'".to_string())
        );
        assert_eq!(
            parse_local_time("20200101x", "%Y%m%d"),
            Err("unconverted data remains: x".to_string())
        );
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_791), (2026, 12, 4));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
