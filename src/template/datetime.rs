//! Date and time on the controller: the `now()` function and the `strftime` filter.

use std::time::{SystemTime, UNIX_EPOCH};

use minijinja::value::{Kwargs, Rest, Value as JValue};
use minijinja::{Environment, Error, State};

use super::filters::{add, ansible, filter_error, Args, Undefined};
use super::pyrepr::py_str;
use rplay_modules::time::strftime;

/// Registers `now()` and the `strftime` filter.
pub fn register(env: &mut Environment<'static>) {
    env.add_function("now", now);
    add(env, ansible("strftime"), Undefined::Reject, strftime_filter);
    add(
        env,
        ansible("to_datetime"),
        Undefined::Reject,
        super::datetime_object::to_datetime,
    );
}

/// Ansible's `now(utc=False, fmt=None)`: the current time formatted with Python's
/// `datetime.strftime` rules when `fmt` is given.
///
/// NOTE: without `fmt`, ansible-core returns a `datetime` object; this returns its
/// `str()` text, so attributes such as `.year` are missing.
fn now(args: Rest<JValue>, kwargs: Kwargs) -> Result<JValue, Error> {
    let utc = match args.0.first() {
        Some(value) => value.is_true(),
        None => kwargs
            .get::<Option<JValue>>("utc")?
            .is_some_and(|v| v.is_true()),
    };
    let format = match args.0.get(1) {
        Some(value) => Some(value.clone()),
        None => kwargs.get::<Option<JValue>>("fmt")?,
    };
    kwargs.assert_all_used()?;
    let clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = clock.as_secs() as libc::time_t;
    let micros = clock.subsec_micros();
    let format = format
        .filter(|f| !f.is_none() && f.is_true())
        .map(|f| py_str(&f).unwrap_or_default());
    let text = match format {
        Some(format) => datetime_strftime(&format, seconds, micros, utc),
        None => datetime_str(seconds, micros, utc),
    };
    Ok(JValue::from(text))
}

/// Python's `datetime.strftime` of a naive datetime (ansible-core drops the zone also
/// for UTC): `%f` is the microseconds, `%z` and `%Z` are empty, and the rest goes to
/// `strftime(3)`.
fn datetime_strftime(format: &str, seconds: libc::time_t, micros: u32, utc: bool) -> String {
    let mut expanded = String::with_capacity(format.len());
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            expanded.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => expanded.push_str(&format!("{micros:06}")),
            Some('z' | 'Z') => {}
            Some(other) => {
                expanded.push('%');
                expanded.push(other);
            }
            None => expanded.push('%'),
        }
    }
    strftime(&expanded, seconds, utc)
}

/// Python's `datetime.strftime` of a naive datetime given as the seconds since the epoch
/// of its fields read as UTC.
pub fn naive_strftime(format: &str, seconds: libc::time_t, micros: u32) -> String {
    datetime_strftime(format, seconds, micros, true)
}

/// Python's `str(datetime.fromtimestamp(t))` of a moment: the naive local time, with
/// microseconds only when not zero.
pub fn local_datetime_text(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    datetime_str(
        since_epoch.as_secs() as libc::time_t,
        since_epoch.subsec_micros(),
        false,
    )
}

/// Python's `str()` of a naive `datetime`: microseconds only when not zero.
fn datetime_str(seconds: libc::time_t, micros: u32, utc: bool) -> String {
    let mut text = strftime("%Y-%m-%d %H:%M:%S", seconds, utc);
    if micros != 0 {
        text.push_str(&format!(".{micros:06}"));
    }
    text
}

/// Ansible's `strftime(format, second=None, utc=False)` filter: `time.strftime` of the
/// given epoch seconds, or of now.
fn strftime_filter(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let format = py_str(&args.value).unwrap_or_default();
    let seconds = match args.get(0, "second").filter(|v| !v.is_none()) {
        Some(second) => {
            let text = py_str(second).unwrap_or_default();
            let parsed = match second.as_i64() {
                Some(number) => Some(number as f64),
                None => f64::try_from(second.clone())
                    .ok()
                    .or_else(|| text.trim().parse::<f64>().ok()),
            };
            parsed.ok_or_else(|| filter_error(format!("Invalid value for epoch value ({text})")))?
                as libc::time_t
        }
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as libc::time_t)
            .unwrap_or(0),
    };
    let utc = args.bool_arg(1, "utc", false);
    Ok(JValue::from(strftime(&format, seconds, utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_strftime_microseconds() {
        assert_eq!(datetime_strftime("%s.%f", 86_400, 42, true), "86400.000042");
    }

    #[test]
    fn datetime_strftime_naive_zone_empty() {
        assert_eq!(datetime_strftime("[%z%Z]%%f", 0, 0, false), "[]%f");
        assert_eq!(datetime_strftime("%z %Z", 0, 0, true), " ");
    }

    #[test]
    fn datetime_str_forms() {
        assert_eq!(datetime_str(0, 0, true), "1970-01-01 00:00:00");
        assert_eq!(datetime_str(0, 5, true), "1970-01-01 00:00:00.000005");
    }
}
