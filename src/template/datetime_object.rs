//! Python's naive `datetime`, as the `to_datetime` filter returns it.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{DynObject, Object, ObjectRepr, Value as JValue};
use minijinja::{Error, ErrorKind, State};

use super::filters::{python_type_error, python_value_error, Args};
use super::methods::python_type_name;
use super::pyrepr::py_str;

/// A date and time without a time zone, ordered by its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub microsecond: u32,
}

impl fmt::Display for DateTime {
    /// Python's `str()`: microseconds only when they are not zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.microsecond != 0 {
            write!(f, ".{:06}", self.microsecond)?;
        }
        Ok(())
    }
}

impl Object for DateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let value = match key.as_str()? {
            "year" => self.year,
            "month" => i64::from(self.month),
            "day" => i64::from(self.day),
            "hour" => i64::from(self.hour),
            "minute" => i64::from(self.minute),
            "second" => i64::from(self.second),
            "microsecond" => i64::from(self.microsecond),
            _ => return None,
        };
        Some(JValue::from(value))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[JValue],
    ) -> Result<JValue, Error> {
        match method {
            "strftime" => {
                let format = args.first().map(|f| py_str(f).unwrap_or_default());
                Ok(JValue::from(self.strftime(&format.unwrap_or_default())))
            }
            "isoformat" => Ok(JValue::from(self.to_string().replacen(' ', "T", 1))),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("'datetime.datetime' object has no attribute '{method}'"),
            )),
        }
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast_ref::<DateTime>()?;
        Some(self.as_ref().cmp(other))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), f)
    }
}

impl DateTime {
    /// Python's `datetime.strftime`: the fields go to the C library's `strftime` as a
    /// UTC time, `%f` is the microseconds, and `%z` and `%Z` are empty for a naive value.
    fn strftime(&self, format: &str) -> String {
        let seconds = days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour) * 3_600
            + i64::from(self.minute) * 60
            + i64::from(self.second);
        super::datetime::naive_strftime(format, seconds as libc::time_t, self.microsecond)
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Ansible's `to_datetime(string, format='%Y-%m-%d %H:%M:%S')`: Python's
/// `datetime.strptime`.
pub fn to_datetime(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let Some(text) = args.value.as_str() else {
        return Err(python_type_error(format!(
            "strptime() argument 1 must be str, not {}",
            python_type_name(&args.value)
        )));
    };
    let format = args
        .str_arg(0, "format")
        .unwrap_or_else(|| "%Y-%m-%d %H:%M:%S".to_owned());
    let parsed = strptime(text, &format).ok_or_else(|| {
        python_value_error(format!(
            "time data '{text}' does not match format '{format}'"
        ))
    })?;
    Ok(JValue::from_object(parsed))
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Parses `text` with the `strptime` directives `%Y %y %m %d %H %I %p %M %S %f %b %B
/// %j %%`; `None` when it does not match.
///
/// NOTE: other directives (`%a`, `%z`, `%U`, ...) never match, where Python reads them.
fn strptime(text: &str, format: &str) -> Option<DateTime> {
    let mut result = DateTime {
        year: 1900,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        microsecond: 0,
    };
    let mut rest = text;
    let mut directives = format.chars();
    let mut pm = None;
    let mut hour12 = None;
    while let Some(c) = directives.next() {
        if c != '%' {
            if c.is_whitespace() {
                rest = rest.trim_start();
                continue;
            }
            rest = rest.strip_prefix(c)?;
            continue;
        }
        let directive = directives.next()?;
        match directive {
            'Y' => result.year = take_number(&mut rest, 4)?,
            'y' => {
                let short = take_number(&mut rest, 2)?;
                result.year = if short < 69 {
                    2000 + short
                } else {
                    1900 + short
                };
            }
            'm' => result.month = u32::try_from(take_number(&mut rest, 2)?).ok()?,
            'd' => result.day = u32::try_from(take_number(&mut rest, 2)?).ok()?,
            'H' => result.hour = u32::try_from(take_number(&mut rest, 2)?).ok()?,
            'I' => hour12 = Some(u32::try_from(take_number(&mut rest, 2)?).ok()?),
            'M' => result.minute = u32::try_from(take_number(&mut rest, 2)?).ok()?,
            'S' => result.second = u32::try_from(take_number(&mut rest, 2)?).ok()?,
            'f' => {
                let digits = rest
                    .chars()
                    .take(6)
                    .take_while(char::is_ascii_digit)
                    .count();
                if digits == 0 {
                    return None;
                }
                let (fraction, tail) = rest.split_at(digits);
                result.microsecond = format!("{fraction:0<6}").parse().ok()?;
                rest = tail;
            }
            'p' => {
                let lower = rest.get(..2)?.to_ascii_lowercase();
                pm = Some(match lower.as_str() {
                    "am" => false,
                    "pm" => true,
                    _ => return None,
                });
                rest = &rest[2..];
            }
            'b' | 'B' => result.month = take_month(&mut rest, directive == 'b')?,
            'j' => {
                let day_of_year = take_number(&mut rest, 3)?;
                let start = days_from_civil(result.year, 1, 1);
                let (_, month, day) = civil_from_days(start + day_of_year - 1);
                result.month = month;
                result.day = day;
            }
            '%' => rest = rest.strip_prefix('%')?,
            _ => return None,
        }
    }
    if !rest.is_empty() {
        return None;
    }
    if let Some(hour) = hour12 {
        if !(1..=12).contains(&hour) {
            return None;
        }
        result.hour = hour % 12 + if pm == Some(true) { 12 } else { 0 };
    }
    let valid = (1..=12).contains(&result.month)
        && (1..=days_in_month(result.year, result.month)).contains(&result.day)
        && result.hour < 24
        && result.minute < 60
        && result.second < 62;
    valid.then_some(result)
}

/// Reads one to `width` ASCII digits from the start of `rest`.
fn take_number(rest: &mut &str, width: usize) -> Option<i64> {
    let digits = rest
        .chars()
        .take(width)
        .take_while(char::is_ascii_digit)
        .count();
    if digits == 0 {
        return None;
    }
    let (number, tail) = rest.split_at(digits);
    *rest = tail;
    number.parse().ok()
}

/// Reads an English month name, abbreviated to three letters when `short`.
fn take_month(rest: &mut &str, short: bool) -> Option<u32> {
    for (index, name) in MONTHS.iter().enumerate() {
        let name = if short { &name[..3] } else { name };
        let candidate = rest.get(..name.len())?;
        if candidate.eq_ignore_ascii_case(name) {
            *rest = &rest[name.len()..];
            return u32::try_from(index + 1).ok();
        }
    }
    None
}

fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Returns the date that is a number of days from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strptime_default_format() {
        let parsed = strptime("1993-03-26 01:23:45", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(parsed.to_string(), "1993-03-26 01:23:45");
    }

    #[test]
    fn strptime_short_year_and_fraction() {
        let parsed = strptime("26/03/93 1:02:03.5", "%d/%m/%y %H:%M:%S.%f").unwrap();
        assert_eq!(parsed.to_string(), "1993-03-26 01:02:03.500000");
    }

    #[test]
    fn strptime_rejects_mismatch() {
        assert_eq!(strptime("1993", "%Y-%m-%d %H:%M:%S"), None);
        assert_eq!(strptime("2021-02-29", "%Y-%m-%d"), None);
    }

    #[test]
    fn civil_days_round_trip() {
        for (year, month, day) in [(1970, 1, 1), (2000, 2, 29), (1969, 12, 31), (2024, 12, 31)] {
            let days = days_from_civil(year, month, day);
            assert_eq!(civil_from_days(days), (year, month, day));
        }
        assert_eq!(days_from_civil(1970, 1, 2), 1);
    }
}
