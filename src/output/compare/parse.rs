//! The model of a log printed by ansible-core's default stdout callback (or by rplay),
//! and the parser that builds it.
//!
//! The parser never fails: a line it does not recognise becomes an opaque
//! [`MessageKind::Text`] message of the scope it appears in. So it reads logs at any
//! verbosity (`-v` to `-vvvv`), with or without standard error merged in.

mod lines;

use std::sync::LazyLock;

use regex::Regex;

use lines::{
    continues_wrapped, join_wrapped, message_prefix, parse_banner, parse_dump, parse_included,
    parse_recap_row, parse_result_line, parse_retry_line, starts_construct, Banner, DumpStart,
    ParsedHostLine, ASYNC_POLL, TIMESTAMP,
};

/// A parsed log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Log {
    /// Warnings, errors and opaque lines outside every play: before the first `PLAY`
    /// banner and after the `PLAY RECAP`.
    pub messages: Vec<Message>,
    pub plays: Vec<Play>,
    /// The rows of `PLAY RECAP`, in log order.
    pub recap: Vec<RecapRow>,
    /// Output of the `profile_tasks` callback; `None` when it printed nothing.
    pub profile: Option<Profile>,
}

/// One `PLAY [...]` section.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Play {
    /// The name inside the banner's brackets; `None` for a bare `PLAY` banner.
    pub name: Option<String>,
    pub check_mode: bool,
    /// Line of the banner; `None` for tasks that appear before any play banner.
    pub line: Option<usize>,
    /// Line of `skipping: no hosts matched`.
    pub no_hosts_matched: Option<usize>,
    /// Lines of the `NO MORE HOSTS LEFT` banners (ansible-core can print two in a row).
    pub no_more_hosts_left: Vec<usize>,
    /// Messages between the play banner and its first task.
    pub messages: Vec<Message>,
    pub tasks: Vec<Task>,
}

/// The banner word of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskKind {
    /// `TASK [...]`
    Task,
    /// `RUNNING HANDLER [...]`
    Handler,
    /// `CLEANUP TASK [...]`
    Cleanup,
}

impl TaskKind {
    /// Returns the banner prefix as printed.
    pub fn banner(self) -> &'static str {
        match self {
            TaskKind::Task => "TASK",
            TaskKind::Handler => "RUNNING HANDLER",
            TaskKind::Cleanup => "CLEANUP TASK",
        }
    }
}

/// One task banner and everything printed under it.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub kind: TaskKind,
    /// The text inside the banner's brackets, with `role : ` prefix and, when
    /// `display_args_to_stdout` is on, the arguments.
    pub name: String,
    pub check_mode: bool,
    /// Line of the banner; `None` for results that appear before any task banner.
    pub line: Option<usize>,
    /// Host lines (results, loop items, retries) in log order.
    pub results: Vec<HostLine>,
    pub included: Vec<Included>,
    /// Lines of `...ignoring` that no result line precedes directly. ansible-core prints
    /// the `...ignoring` of a loop after the host's last item, and other hosts' items may
    /// come in between, so it cannot be attributed to a host.
    pub loose_ignoring: Vec<usize>,
    pub messages: Vec<Message>,
}

impl Task {
    fn new(kind: TaskKind, name: String, check_mode: bool, line: Option<usize>) -> Task {
        Task {
            kind,
            name,
            check_mode,
            line,
            results: Vec::new(),
            included: Vec::new(),
            loose_ignoring: Vec::new(),
            messages: Vec::new(),
        }
    }
}

/// One line about one host inside a task, with its result dump.
#[derive(Clone, Debug, PartialEq)]
pub struct HostLine {
    pub host: String,
    /// The `-> DELEGATE` part of `[host -> delegate]`.
    pub delegated_to: Option<String>,
    pub event: HostEvent,
    /// The JSON after `=>` (or after `Result was:` of a retry).
    pub dump: Option<Dump>,
    pub line: usize,
}

/// The event a host line reports.
#[derive(Clone, Debug, PartialEq)]
pub enum HostEvent {
    /// `ok:`, `changed:`, `skipping:`, `fatal:` or `failed:`, with the loop item's label.
    Result {
        status: Status,
        item: Option<String>,
        /// Followed directly by `...ignoring`.
        ignoring: bool,
    },
    /// `FAILED - RETRYING: [host]: NAME (N retries left).`
    Retry { name: String, retries_left: i64 },
}

/// The status word of a result line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Changed,
    Skipping,
    /// `fatal: [host]: FAILED!`
    Fatal,
    /// `failed: [host] (item=...)`
    Failed,
    /// `fatal: [host]: UNREACHABLE!`
    Unreachable,
}

impl Status {
    /// Returns the status name: the line's first word, or `unreachable` for
    /// `fatal: [host]: UNREACHABLE!`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Skipping => "skipping",
            Status::Fatal => "fatal",
            Status::Failed => "failed",
            Status::Unreachable => "unreachable",
        }
    }
}

/// A result dump.
#[derive(Clone, Debug, PartialEq)]
pub enum Dump {
    Json(serde_json::Value),
    /// Text that did not parse as JSON (a truncated log, for instance).
    Text(String),
}

/// `included: FILE for HOSTS => (item=LABEL)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Included {
    pub file: String,
    pub hosts: Vec<String>,
    pub item: Option<String>,
    pub line: usize,
}

/// The kind of a [`Message`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageKind {
    /// `[WARNING]: ...`
    Warning,
    /// `[DEPRECATION WARNING]: ...`
    Deprecation,
    /// `ERROR! ...` or `[ERROR]: ...`
    Error,
    /// A line the parser does not recognise.
    Text,
}

/// A warning, an error or an opaque line.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub kind: MessageKind,
    /// The text after the `[WARNING]: ` (and similar) prefix, unwrapped into one line;
    /// for an `ERROR!` block its first line; for an opaque line the line itself.
    pub text: String,
    /// The lines after the first of an `ERROR!` block, without trailing blank lines.
    pub detail: Vec<String>,
    pub line: usize,
}

/// One row of `PLAY RECAP`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecapRow {
    pub host: String,
    pub ok: u64,
    pub changed: u64,
    pub unreachable: u64,
    pub failed: u64,
    pub skipped: u64,
    pub rescued: u64,
    pub ignored: u64,
    pub line: usize,
}

impl RecapRow {
    /// Returns the counters with their recap names, in printed order.
    pub fn counters(&self) -> [(&'static str, u64); 7] {
        [
            ("ok", self.ok),
            ("changed", self.changed),
            ("unreachable", self.unreachable),
            ("failed", self.failed),
            ("skipped", self.skipped),
            ("rescued", self.rescued),
            ("ignored", self.ignored),
        ]
    }
}

/// The output of the `profile_tasks` callback.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    /// Number of timestamp lines (one per task start and one at the end).
    pub timestamps: usize,
    /// Task names of the summary table's rows, in printed order.
    pub rows: Vec<String>,
    /// Line of the table's `=====` rule.
    pub table_line: Option<usize>,
}

/// Parses a log. Colour escape sequences and carriage returns are removed first.
pub fn parse_log(text: &str) -> Log {
    let lines: Vec<String> = text.lines().map(clean_line).collect();
    let mut parser = Parser {
        lines: &lines,
        index: 0,
        log: Log::default(),
        scope: Scope::Playbook,
        ignorable: None,
    };
    parser.run();
    parser.log
}

/// Removes ANSI colour sequences and a trailing carriage return.
fn clean_line(line: &str) -> String {
    static ESCAPE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\x1b\[[0-9;]*[A-Za-z]").expect("valid regex"));
    let line = line.strip_suffix('\r').unwrap_or(line);
    ESCAPE.replace_all(line, "").into_owned()
}

/// The parser's position, which decides the list a message or result line goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    Playbook,
    Play,
    Task,
    Recap,
    ProfileTable,
}

struct Parser<'a> {
    lines: &'a [String],
    index: usize,
    log: Log,
    scope: Scope,
    /// The result a following `...ignoring` belongs to: a non-item failure that was the
    /// last thing parsed.
    ignorable: Option<usize>,
}

impl Parser<'_> {
    fn run(&mut self) {
        let lines = self.lines;
        while let Some(line) = lines.get(self.index) {
            self.index += 1;
            let ignorable = self.ignorable.take();
            self.parse_line(line, self.index, ignorable);
        }
    }

    fn parse_line(&mut self, line: &str, number: usize, ignorable: Option<usize>) {
        if line.trim().is_empty() {
            // Blank lines carry nothing, and they do not break `...ignoring`.
            self.ignorable = ignorable;
            return;
        }
        if self.scope == Scope::ProfileTable && self.parse_profile_row(line) {
            return;
        }
        if TIMESTAMP.is_match(line) {
            self.parse_timestamp(number);
        } else if let Some(banner) = parse_banner(line) {
            self.open_banner(banner, number);
        } else if line == "...ignoring" {
            self.mark_ignoring(number, ignorable);
        } else if let Some((kind, rest)) = message_prefix(line) {
            self.parse_wrapped_message(kind, rest, line, number);
        } else if let Some(text) = line.strip_prefix("ERROR! ") {
            self.parse_error_block(text, number);
        } else if let Some(result) = parse_result_line(line) {
            self.add_host_line(result, number);
        } else if let Some(retry) = parse_retry_line(line) {
            self.add_host_line(retry, number);
        } else if let Some(included) = parse_included(line, number) {
            self.task().included.push(included);
        } else if line == "skipping: no hosts matched" {
            self.play().no_hosts_matched = Some(number);
        } else if let Some(row) = parse_recap_row(line, number) {
            if self.scope == Scope::Recap {
                self.log.recap.push(row);
            } else {
                self.add_text(line, number);
            }
        } else if line.starts_with("ansible-playbook [core ") {
            self.add_text(line, number);
            self.skip_version_details();
        } else if !ASYNC_POLL.is_match(line) {
            self.add_text(line, number);
        }
    }

    fn open_banner(&mut self, banner: Banner, number: usize) {
        match banner {
            Banner::Play { name, check_mode } => {
                self.log.plays.push(Play {
                    name,
                    check_mode,
                    line: Some(number),
                    ..Play::default()
                });
                self.scope = Scope::Play;
            }
            Banner::Task {
                kind,
                name,
                check_mode,
            } => {
                let task = Task::new(kind, name, check_mode, Some(number));
                self.play().tasks.push(task);
                self.scope = Scope::Task;
            }
            Banner::NoMoreHostsLeft => self.play().no_more_hosts_left.push(number),
            Banner::Recap => self.scope = Scope::Recap,
            Banner::Other(text) => self.add_text(&text, number),
        }
    }

    /// Returns the current play, creating one without a banner line for tasks that come
    /// before any play banner.
    fn play(&mut self) -> &mut Play {
        if self.log.plays.is_empty() {
            self.log.plays.push(Play::default());
        }
        self.log.plays.last_mut().expect("a play was just ensured")
    }

    /// Returns the current task, creating one without a banner line for results outside
    /// any task.
    fn task(&mut self) -> &mut Task {
        if self.scope != Scope::Task || self.play().tasks.is_empty() {
            let task = Task::new(TaskKind::Task, String::new(), false, None);
            self.play().tasks.push(task);
            self.scope = Scope::Task;
        }
        self.play()
            .tasks
            .last_mut()
            .expect("a task was just ensured")
    }

    fn add_message(&mut self, message: Message) {
        match self.scope {
            Scope::Playbook | Scope::Recap | Scope::ProfileTable => self.log.messages.push(message),
            Scope::Play => self.play().messages.push(message),
            Scope::Task => self.task().messages.push(message),
        }
    }

    fn add_text(&mut self, line: &str, number: usize) {
        self.add_message(Message {
            kind: MessageKind::Text,
            text: line.to_string(),
            detail: Vec::new(),
            line: number,
        });
    }

    fn parse_timestamp(&mut self, number: usize) {
        let profile = self.log.profile.get_or_insert_with(Profile::default);
        profile.timestamps += 1;
        let rule = self.lines.get(self.index).map(|line| line.trim_end());
        if rule.is_some_and(|rule| rule.len() >= 20 && rule.chars().all(|c| c == '=')) {
            profile.table_line = Some(number + 1);
            self.index += 1;
            self.scope = Scope::ProfileTable;
        }
    }

    /// Adds a row of the profile_tasks table; returns false at the first other line.
    /// At -vv and more each row is followed by a line with the task's path, which is
    /// skipped.
    fn parse_profile_row(&mut self, line: &str) -> bool {
        static ROW: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"^(.*?) ?-* ?\d+\.\d+s$").expect("valid regex"));
        static TASK_PATH: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"^\S.*:\d+ -*$").expect("valid regex"));
        let Some(captures) = ROW.captures(line) else {
            let after_row = self
                .log
                .profile
                .as_ref()
                .is_some_and(|profile| !profile.rows.is_empty());
            if after_row && TASK_PATH.is_match(line) {
                return true;
            }
            self.scope = Scope::Playbook;
            return false;
        };
        let profile = self.log.profile.get_or_insert_with(Profile::default);
        profile.rows.push(captures[1].trim_end().to_string());
        true
    }

    fn mark_ignoring(&mut self, number: usize, ignorable: Option<usize>) {
        let task = self.task();
        match ignorable.and_then(|index| task.results.get_mut(index)) {
            Some(HostLine {
                event: HostEvent::Result { ignoring, .. },
                ..
            }) => *ignoring = true,
            _ => task.loose_ignoring.push(number),
        }
    }

    fn add_host_line(&mut self, parsed: ParsedHostLine, number: usize) {
        let dump = match parsed.dump {
            Some(DumpStart::OneLine(text)) => Some(parse_dump(&text)),
            Some(DumpStart::MultiLine) => Some(self.read_multiline_dump()),
            None => None,
        };
        let attributable = matches!(
            parsed.event,
            HostEvent::Result {
                status: Status::Fatal | Status::Unreachable,
                item: None,
                ..
            }
        );
        let results = &mut self.task().results;
        results.push(HostLine {
            host: parsed.host,
            delegated_to: parsed.delegated_to,
            event: parsed.event,
            dump,
            line: number,
        });
        let index = results.len() - 1;
        if attributable {
            self.ignorable = Some(index);
        }
    }

    /// Reads the lines of an indented JSON dump up to its closing `}` line.
    fn read_multiline_dump(&mut self) -> Dump {
        let mut text = String::from("{");
        while self.index < self.lines.len() {
            let line = &self.lines[self.index];
            self.index += 1;
            text.push('\n');
            text.push_str(line);
            if line == "}" {
                break;
            }
        }
        parse_dump(&text)
    }

    fn parse_wrapped_message(&mut self, kind: MessageKind, rest: &str, line: &str, number: usize) {
        let text = if rest.trim().is_empty() {
            // `Display.warning(formatted=True)` prints the message unwrapped on the lines
            // after the prefix, up to a blank line.
            self.read_formatted_message()
        } else {
            self.read_wrapped_lines(rest, line)
        };
        self.add_message(Message {
            kind,
            text,
            detail: Vec::new(),
            line: number,
        });
    }

    fn read_formatted_message(&mut self) -> String {
        let mut lines = Vec::new();
        while let Some(line) = self.lines.get(self.index) {
            if line.trim().is_empty() || starts_construct(line) {
                break;
            }
            lines.push(line.clone());
            self.index += 1;
        }
        lines.join("\n")
    }

    /// Joins the lines that `textwrap` made of one message. A following line continues
    /// the message when it starts nothing the parser recognises and its first word could not
    /// have fitted on the previous line at the minimum width of 79 columns.
    fn read_wrapped_lines(&mut self, first: &str, first_line: &str) -> String {
        let mut text = first.trim().to_string();
        let mut previous = first_line.to_string();
        while let Some(line) = self.lines.get(self.index) {
            if !continues_wrapped(&previous, line) {
                break;
            }
            join_wrapped(&mut text, &previous, line);
            previous = line.clone();
            self.index += 1;
        }
        text
    }

    fn parse_error_block(&mut self, text: &str, number: usize) {
        let mut detail = Vec::new();
        while let Some(line) = self.lines.get(self.index) {
            if starts_construct(line) {
                break;
            }
            detail.push(line.clone());
            self.index += 1;
        }
        while detail.last().is_some_and(|line| line.trim().is_empty()) {
            detail.pop();
        }
        self.add_message(Message {
            kind: MessageKind::Error,
            text: text.to_string(),
            detail,
            line: number,
        });
    }

    /// Skips the indented lines after `ansible-playbook [core X]` (config file, module
    /// paths, Python and Jinja versions), which describe the machine, not the run.
    fn skip_version_details(&mut self) {
        while self
            .lines
            .get(self.index)
            .is_some_and(|line| line.starts_with("  "))
        {
            self.index += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn only_task(log: &Log) -> &Task {
        assert_eq!(log.plays.len(), 1, "plays: {:?}", log.plays);
        assert_eq!(
            log.plays[0].tasks.len(),
            1,
            "tasks: {:?}",
            log.plays[0].tasks
        );
        &log.plays[0].tasks[0]
    }

    fn result(line: &HostLine) -> (Status, Option<&str>, bool) {
        match &line.event {
            HostEvent::Result {
                status,
                item,
                ignoring,
            } => (*status, item.as_deref(), *ignoring),
            HostEvent::Retry { .. } => panic!("not a result: {line:?}"),
        }
    }

    #[test]
    fn banners_and_results() {
        let log = parse_log(
            "\nPLAY [web] ****\n\nTASK [role : Do it] ****\nok: [alpha]\nchanged: [beta -> gamma]\n",
        );
        assert_eq!(log.plays[0].name.as_deref(), Some("web"));
        let task = only_task(&log);
        assert_eq!(task.name, "role : Do it");
        assert_eq!(task.line, Some(4));
        assert_eq!(result(&task.results[0]), (Status::Ok, None, false));
        assert_eq!(task.results[1].host, "beta");
        assert_eq!(task.results[1].delegated_to.as_deref(), Some("gamma"));
        assert_eq!(result(&task.results[1]).0, Status::Changed);
    }

    #[test]
    fn handler_and_check_mode_banners() {
        let log = parse_log("PLAY [p] [CHECK MODE] ***\nRUNNING HANDLER [h] [CHECK MODE] ***\n");
        assert!(log.plays[0].check_mode);
        let task = only_task(&log);
        assert_eq!(task.kind, TaskKind::Handler);
        assert_eq!(task.name, "h");
        assert!(task.check_mode);
    }

    #[test]
    fn item_lines() {
        let log = parse_log(concat!(
            "TASK [t] ***\n",
            "ok: [a] => (item=red) => {\n    \"msg\": \"red\"\n}\n",
            "skipping: [a] => (item=2) \n",
            "skipping: [a] => (item=3)  => {\"false_condition\": \"item != 3\"}\n",
            "failed: [b] (item={'x': (1)}) => {\"msg\": \"no\"}\n",
            "changed: [b] => (item=x)\n",
        ));
        let task = only_task(&log);
        let items: Vec<_> = task.results.iter().map(result).collect();
        assert_eq!(
            items,
            [
                (Status::Ok, Some("red"), false),
                (Status::Skipping, Some("2"), false),
                (Status::Skipping, Some("3"), false),
                (Status::Failed, Some("{'x': (1)}"), false),
                (Status::Changed, Some("x"), false),
            ]
        );
        assert_eq!(
            task.results[0].dump,
            Some(Dump::Json(json!({"msg": "red"})))
        );
        assert_eq!(task.results[1].dump, None);
        assert_eq!(
            task.results[2].dump,
            Some(Dump::Json(json!({"false_condition": "item != 3"})))
        );
    }

    #[test]
    fn fatal_ignoring_and_unreachable() {
        let log = parse_log(concat!(
            "TASK [t] ***\n",
            "fatal: [a]: FAILED! => {\"msg\": \"x\"}\n",
            "...ignoring\n",
            "fatal: [b]: UNREACHABLE! => {\n    \"unreachable\": true\n}\n",
            "failed: [c] (item=1) => {\"msg\": \"y\"}\n",
            "...ignoring\n",
        ));
        let task = only_task(&log);
        assert_eq!(result(&task.results[0]), (Status::Fatal, None, true));
        assert_eq!(result(&task.results[1]), (Status::Unreachable, None, false));
        assert_eq!(result(&task.results[2]), (Status::Failed, Some("1"), false));
        assert_eq!(task.loose_ignoring, [8]);
    }

    #[test]
    fn retries_with_and_without_dump() {
        let log = parse_log(concat!(
            "TASK [t] ***\n",
            "FAILED - RETRYING: [a]: Wait (2 retries left).\n",
            "FAILED - RETRYING: [a]: Wait (1 retries left).Result was: {\n",
            "    \"attempts\": 2\n",
            "}\n",
        ));
        let task = only_task(&log);
        let retry = |line: &HostLine| match &line.event {
            HostEvent::Retry { name, retries_left } => (name.clone(), *retries_left),
            HostEvent::Result { .. } => panic!("not a retry"),
        };
        assert_eq!(retry(&task.results[0]), ("Wait".to_string(), 2));
        assert_eq!(retry(&task.results[1]), ("Wait".to_string(), 1));
        assert_eq!(
            task.results[1].dump,
            Some(Dump::Json(json!({"attempts": 2})))
        );
    }

    #[test]
    fn included_lines() {
        let log = parse_log(concat!(
            "TASK [t] ***\n",
            "included: /x/a for b.example, c => (item=one)\n",
            "included: /x/for me.yml for d\n",
        ));
        let task = only_task(&log);
        assert_eq!(task.included[0].file, "/x/a");
        assert_eq!(task.included[0].hosts, ["b.example", "c"]);
        assert_eq!(task.included[0].item.as_deref(), Some("one"));
        assert_eq!(task.included[1].file, "/x/for me.yml");
        assert_eq!(task.included[1].item, None);
    }

    #[test]
    fn wrapped_warning_is_unwrapped() {
        let log = parse_log(concat!(
            "[WARNING]: Could not match supplied host pattern, ignoring:\n",
            "a_group_with_a_long_name_that_does_not_exist_in_the_inventory_of_this_case\n",
            "\n",
            "PLAY [p] ***\n",
        ));
        assert_eq!(log.messages.len(), 1);
        assert_eq!(log.messages[0].kind, MessageKind::Warning);
        assert_eq!(
            log.messages[0].text,
            "Could not match supplied host pattern, ignoring: a_group_with_a_long_name_that_does_not_exist_in_the_inventory_of_this_case"
        );
    }

    #[test]
    fn long_word_broken_at_width_is_joined() {
        // Recorded from ansible-playbook 2.18.19: a path longer than the width is cut to
        // fill the line (79 characters, some of them not ASCII).
        let log = parse_log(concat!(
            "[WARNING]: Failure using method (v2_runner_on_ok) in callback plugin\n",
            "(<ansible.plugins.callback.junit.CallbackModule object at 0x7f36aed26110>):\n",
            "/tmp/rplay-peer-\n",
            "results/handlers/ansible/root/test/results/.tmp/integration/handlers-peer-ÅÑŚÌβ\n",
            "ŁÈ/test/integration/targets/handlers/main.yml:1: test listen in roles\n",
        ));
        assert_eq!(
            log.messages[0].text,
            "Failure using method (v2_runner_on_ok) in callback plugin \
             (<ansible.plugins.callback.junit.CallbackModule object at 0x7f36aed26110>): \
             /tmp/rplay-peer-results/handlers/ansible/root/test/results/.tmp/integration/\
             handlers-peer-ÅÑŚÌβŁÈ/test/integration/targets/handlers/main.yml:1: test listen in roles"
        );
    }

    #[test]
    fn long_word_cut_after_hyphen_is_joined() {
        // Recorded from ansible-playbook 2.18.19: `/tm` fills the line, and the rest of
        // the long word is cut after its last hyphen that fits.
        let log = parse_log(concat!(
            "[WARNING]: Failure using method (v2_runner_on_failed) in callback plugin\n",
            "(<ansible.plugins.callback.junit.CallbackModule object at 0x7faef3b7a6d0>): /tm\n",
            "p/peer3-\n",
            "a/any_errors_fatal/ansible/root/test/results/.tmp/integration/any_errors_fatal-\n",
            "peer-ÅÑŚÌβŁÈ/test/integration/targets/any_errors_fatal/50897.yml:5:\n",
        ));
        assert_eq!(
            log.messages[0].text,
            "Failure using method (v2_runner_on_failed) in callback plugin \
             (<ansible.plugins.callback.junit.CallbackModule object at 0x7faef3b7a6d0>): \
             /tmp/peer3-a/any_errors_fatal/ansible/root/test/results/.tmp/integration/\
             any_errors_fatal-peer-ÅÑŚÌβŁÈ/test/integration/targets/any_errors_fatal/50897.yml:5:"
        );
    }

    #[test]
    fn deprecation_with_hyphen_break() {
        // Recorded from ansible-playbook 2.18.19; deprecations keep their spaces at line
        // ends and break after the hyphen of `wt-compare`.
        let log = parse_log(concat!(
            "TASK [t] ***\n",
            "[DEPRECATION WARNING]: Conditional result at location /work/wt-\n",
            "compare/fixtures/compare/warnings/playbook.yml 8:13 was of type 'str'. \n",
            "Conditional results should only be True or False. The result was interpreted as\n",
            " True. This feature will be removed in version 2.19. Deprecation warnings can \n",
            "be disabled by setting deprecation_warnings=False in ansible.cfg.\n",
            "ok: [alpha]\n",
        ));
        let task = only_task(&log);
        assert_eq!(task.messages.len(), 1);
        assert_eq!(
            task.messages[0].text,
            "Conditional result at location /work/wt-compare/fixtures/compare/warnings/playbook.yml 8:13 was of type 'str'. Conditional results should only be True or False. The result was interpreted as True. This feature will be removed in version 2.19. Deprecation warnings can be disabled by setting deprecation_warnings=False in ansible.cfg."
        );
        assert_eq!(task.results.len(), 1);
    }

    #[test]
    fn short_warning_does_not_swallow_next_line() {
        let log = parse_log("TASK [t] ***\n[WARNING]: short\nsome other line\n");
        let task = only_task(&log);
        assert_eq!(task.messages[0].text, "short");
        assert_eq!(task.messages[1].kind, MessageKind::Text);
        assert_eq!(task.messages[1].text, "some other line");
    }

    #[test]
    fn error_block() {
        let log = parse_log(concat!(
            "ERROR! conflicting action statements: debug, bogus_keyword\n",
            "\n",
            "The offending line appears to be:\n",
            "\n",
            "    - name: bad\n",
            "      ^ here\n",
            "\n",
        ));
        assert_eq!(log.messages.len(), 1);
        let error = &log.messages[0];
        assert_eq!(error.kind, MessageKind::Error);
        assert_eq!(
            error.text,
            "conflicting action statements: debug, bogus_keyword"
        );
        assert_eq!(
            error.detail,
            [
                "",
                "The offending line appears to be:",
                "",
                "    - name: bad",
                "      ^ here"
            ]
        );
    }

    #[test]
    fn recap_and_profile_table() {
        let log = parse_log(concat!(
            "TASK [t] ***\n",
            "Friday 04 December 2026  22:51:20 +0000 (0:00:00.030)       0:00:00.030 ******* \n",
            "ok: [alpha]\n",
            "\n",
            "PLAY RECAP ***\n",
            "alpha                      : ok=2    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   \n",
            "\n",
            "Friday 04 December 2026  22:51:20 +0000 (0:00:00.025)       0:00:00.481 ******* \n",
            "=============================================================================== \n",
            "run a command ----------------------------------------------------------- 0.43s\n",
            "say --------------------------------------------------------------------- 0.03s\n",
        ));
        assert_eq!(log.recap.len(), 1);
        assert_eq!(log.recap[0].host, "alpha");
        assert_eq!(log.recap[0].ok, 2);
        assert_eq!(log.recap[0].changed, 1);
        let profile = log.profile.as_ref().expect("profile output");
        assert_eq!(profile.timestamps, 2);
        assert_eq!(profile.rows, ["run a command", "say"]);
        assert!(log.messages.is_empty(), "{:?}", log.messages);
    }

    #[test]
    fn profile_table_with_task_paths() {
        // At -vv and more, profile_tasks prints each task's path under its row.
        let log = parse_log(concat!(
            "Friday 04 December 2026  23:03:11 +0000 (0:00:00.038)       0:00:02.377 ******* \n",
            "=============================================================================== \n",
            "dynamic_groups : Match needed groups --------------------------------- 0.31s\n",
            "/x/roles/dynamic_groups/tasks/main.yml:2 ----------------------------------------\n",
            "Check that netaddr is installed --------------------------------------- 0.26s\n",
            "/x/playbooks/ansible_version.yml:21 \n",
        ));
        let profile = log.profile.as_ref().expect("profile output");
        assert_eq!(
            profile.rows,
            [
                "dynamic_groups : Match needed groups",
                "Check that netaddr is installed"
            ]
        );
        assert!(log.messages.is_empty(), "{:?}", log.messages);
    }

    #[test]
    fn version_banner_details_are_skipped() {
        let log = parse_log(concat!(
            "ansible-playbook [core 2.18.19]\n",
            "  config file = None\n",
            "  python version = 3.11.7\n",
            "No config file found; using defaults\n",
        ));
        let texts: Vec<_> = log.messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "ansible-playbook [core 2.18.19]",
                "No config file found; using defaults"
            ]
        );
    }

    #[test]
    fn colour_and_carriage_returns_are_removed() {
        let log = parse_log("TASK [t] ***\r\n\x1b[0;32mok: [alpha]\x1b[0m\r\n");
        assert_eq!(result(&only_task(&log).results[0]).0, Status::Ok);
    }

    #[test]
    fn unknown_lines_stay_in_their_task() {
        let log = parse_log(concat!(
            "PLAY [p] ***\n",
            "TASK [t] ***\n",
            "task path: /x/playbook.yml:4\n",
            "<alpha> EXEC /bin/sh -c 'echo ~root && sleep 0'\n",
            "ok: [alpha]\n",
        ));
        let task = only_task(&log);
        assert_eq!(task.messages.len(), 2);
        assert_eq!(task.results.len(), 1);
    }

    #[test]
    fn async_poll_lines_are_dropped() {
        let log = parse_log(concat!(
            "TASK [t] ***\n",
            "ASYNC POLL on alpha: jid=j583214702463.1234 started=1 finished=0\n",
            "ASYNC OK on alpha: jid=j583214702463.1234\n",
            "changed: [alpha]\n",
        ));
        let task = only_task(&log);
        let texts: Vec<_> = task.messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["ASYNC OK on alpha: jid=j583214702463.1234"]);
        assert_eq!(task.results.len(), 1);
    }

    #[test]
    fn truncated_dump_is_text() {
        let log = parse_log("TASK [t] ***\nok: [a] => {\n    \"msg\": \"x\"\n");
        let task = only_task(&log);
        assert!(matches!(task.results[0].dump, Some(Dump::Text(_))));
    }

    #[test]
    fn no_hosts_matched_and_no_more_hosts() {
        let log = parse_log(concat!(
            "PLAY [p] ***\n",
            "skipping: no hosts matched\n",
            "PLAY [q] ***\n",
            "TASK [t] ***\n",
            "NO MORE HOSTS LEFT ***\n",
            "\n",
            "NO MORE HOSTS LEFT ***\n",
        ));
        assert_eq!(log.plays[0].no_hosts_matched, Some(2));
        assert_eq!(log.plays[1].no_more_hosts_left, [5, 7]);
    }
}
