//! Calendar arithmetic for the timestamps Ansible prints, and `strftime(3)`.

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

/// Formats `time` (seconds since the epoch) with `strftime(3)` in local time (`utc`
/// false) or UTC. The result is empty when it would exceed 511 bytes.
pub fn strftime(format: &str, time: libc::time_t, utc: bool) -> String {
    let Ok(format) = std::ffi::CString::new(format) else {
        return String::new();
    };
    let mut buffer = [0 as libc::c_char; 512];
    // SAFETY: `tm` is filled by localtime_r/gmtime_r before strftime reads it, and
    // strftime writes at most `buffer.len()` bytes including the NUL.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if utc {
            libc::gmtime_r(&time, &mut tm);
        } else {
            libc::localtime_r(&time, &mut tm);
        }
        let written = libc::strftime(buffer.as_mut_ptr(), buffer.len(), format.as_ptr(), &tm);
        if written == 0 {
            return String::new();
        }
        std::ffi::CStr::from_ptr(buffer.as_ptr())
            .to_string_lossy()
            .into_owned()
    }
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
}
