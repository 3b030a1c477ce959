//! The `ansible.posix.profile_tasks` callback: a timestamp line at each task start and a
//! table of the slowest tasks after the recap.

use std::time::{Instant, SystemTime};

use crate::executor::events::TaskInfo;

/// How the summary table is ordered (`[callback_profile_tasks] sort_order`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    Descending,
    Ascending,
    None,
}

pub struct ProfileTasks {
    started: Instant,
    last: Instant,
    /// Task id, display name and accumulated seconds, in first-start order.
    tasks: Vec<(u64, String, f64)>,
    current: Option<(usize, Instant)>,
    sort_order: SortOrder,
    /// Rows in the summary; `None` for all.
    output_limit: Option<usize>,
    columns: usize,
}

impl ProfileTasks {
    pub fn new(sort_order: SortOrder, output_limit: Option<usize>, columns: usize) -> ProfileTasks {
        let now = Instant::now();
        ProfileTasks {
            started: now,
            last: now,
            tasks: Vec::new(),
            current: None,
            sort_order,
            output_limit,
            columns,
        }
    }

    /// Records a task start and returns its timestamp line.
    pub fn task_start(&mut self, task: &TaskInfo) -> String {
        let line = self.time_line();
        self.close_current();
        let index = match self.tasks.iter().position(|(id, _, _)| *id == task.id) {
            Some(index) => index,
            None => {
                self.tasks.push((task.id, task.name.clone(), 0.0));
                self.tasks.len() - 1
            }
        };
        self.current = Some((index, Instant::now()));
        line
    }

    /// Returns the closing timestamp line, the `=` rule and the table of task times.
    pub fn summary(&mut self) -> String {
        let mut out = self.time_line();
        out.push('\n');
        out.push_str(&filled("", '='));
        self.close_current();
        let mut rows: Vec<&(u64, String, f64)> = self.tasks.iter().collect();
        match self.sort_order {
            SortOrder::Descending => rows.sort_by(|a, b| b.2.total_cmp(&a.2)),
            SortOrder::Ascending => rows.sort_by(|a, b| a.2.total_cmp(&b.2)),
            SortOrder::None => {}
        }
        if let Some(limit) = self.output_limit {
            rows.truncate(limit);
        }
        let name_width = self.columns.saturating_sub(9);
        for (_, name, seconds) in rows {
            let time = format!(" {seconds:.2}s");
            out.push('\n');
            out.push_str(&format!("{:-<name_width$}{:->9}", format!("{name} "), time));
        }
        out
    }

    fn close_current(&mut self) {
        if let Some((index, since)) = self.current.take() {
            self.tasks[index].2 += since.elapsed().as_secs_f64();
        }
    }

    fn time_line(&mut self) -> String {
        let now = Instant::now();
        let since_last = now - self.last;
        let total = now - self.started;
        self.last = now;
        let stamp = local_timestamp();
        filled(
            &format!(
                "{stamp} ({}){}{}",
                duration_text(since_last.as_secs_f64()),
                " ".repeat(7),
                duration_text(total.as_secs_f64())
            ),
            '*',
        )
    }
}

/// `H:MM:SS.mmm`, as profile_tasks' `secondsToStr`.
fn duration_text(seconds: f64) -> String {
    let millis = (seconds * 1000.0) as u64;
    format!(
        "{}:{:02}:{:02}.{:03}",
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1000 % 60,
        millis % 1000
    )
}

/// Pads a message with `fill` characters to 79 columns plus a trailing space.
fn filled(message: &str, fill: char) -> String {
    let (message, width) = if message.is_empty() {
        (String::new(), 79)
    } else {
        let message = format!("{message} ");
        let width = 79usize.saturating_sub(message.chars().count());
        (message, width)
    };
    format!("{message}{} ", fill.to_string().repeat(width.max(3)))
}

/// The current time as `time.strftime('%A %d %B %Y  %H:%M:%S %z')` in UTC.
///
/// NOTE: always UTC (`+0000`); ansible-core prints the controller's local time zone.
fn local_timestamp() -> String {
    let seconds = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = rplay_modules::time::civil_from_days(days);
    const WEEKDAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    format!(
        "{} {:02} {} {}  {:02}:{:02}:{:02} +0000",
        WEEKDAYS[days.rem_euclid(7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filled_line_width() {
        // Shape recorded from ansible-playbook 2.18.19 with profile_tasks enabled.
        let line = filled(
            "Friday 04 December 2026  22:00:36 +0000 (0:00:00.011)       0:00:00.011",
            '*',
        );
        assert_eq!(
            line,
            "Friday 04 December 2026  22:00:36 +0000 (0:00:00.011)       0:00:00.011 ******* "
        );
        assert_eq!(filled("", '=').len(), 80);
    }

    #[test]
    fn durations() {
        assert_eq!(duration_text(0.011), "0:00:00.011");
        assert_eq!(duration_text(3725.5), "1:02:05.500");
    }
}
