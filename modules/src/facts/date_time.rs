//! `date_time`: the target's clock, in its local time zone and in UTC.

use super::util::set;
use crate::time::strftime;
use crate::{Map, Value};

/// The daylight-saving name of the local zone, Python's `time.tzname[1]`.
fn dst_name(now: libc::time_t) -> String {
    // Python's `time.tzname` comes from the zone names in January and July.
    let year_start = now - now.rem_euclid(365 * 86400);
    let january = strftime("%Z", year_start, false);
    let july = strftime("%Z", year_start + 182 * 86400, false);
    if january == july {
        return january;
    }
    // `tzname[1]` is the name in the half of the year with the larger offset.
    let offset = |time| strftime("%z", time, false);
    if offset(year_start) > offset(year_start + 182 * 86400) {
        january
    } else {
        july
    }
}

pub fn collect(facts: &mut Map) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = now.as_secs() as libc::time_t;
    let micros = format!("{:06}", now.subsec_micros());
    let local = |format: &str| strftime(format, seconds, false);
    let utc = |format: &str| strftime(format, seconds, true);
    let mut date_time = Map::new();
    let mut put = |key: &str, value: String| {
        date_time.insert(Value::from(key), Value::from(value));
    };
    put("year", local("%Y"));
    put("month", local("%m"));
    put("weekday", local("%A"));
    put("weekday_number", local("%w"));
    put("weeknumber", local("%W"));
    put("day", local("%d"));
    put("hour", local("%H"));
    put("minute", local("%M"));
    put("second", local("%S"));
    put("epoch", seconds.to_string());
    put("epoch_int", seconds.to_string());
    put("date", local("%Y-%m-%d"));
    put("time", local("%H:%M:%S"));
    put(
        "iso8601_micro",
        format!("{}.{micros}Z", utc("%Y-%m-%dT%H:%M:%S")),
    );
    put("iso8601", utc("%Y-%m-%dT%H:%M:%SZ"));
    put(
        "iso8601_basic",
        format!("{}{micros}", local("%Y%m%dT%H%M%S")),
    );
    put("iso8601_basic_short", local("%Y%m%dT%H%M%S"));
    put("tz", local("%Z"));
    put("tz_dst", dst_name(seconds));
    put("tz_offset", local("%z"));
    set(facts, "date_time", Value::map(date_time));
}
