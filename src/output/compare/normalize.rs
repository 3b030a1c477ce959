//! Rewrites what legitimately varies between two runs of the same playbook (times,
//! temporary names, job ids) so that the comparison reports only real differences.
//!
//! Orderings that vary are not rewritten here: `diff.rs` compares hosts within a task
//! and the messages of a scope regardless of order.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::parse::{Dump, HostEvent, Log, Message, Task};

/// Every normalisation of `rplay compare`, as its `--help` lists them. Keep in step with
/// this file, `parse.rs` (what the parser drops) and `diff.rs` (what it compares as sets).
pub const NORMALIZATIONS: &str = "\
What legitimately varies between runs is normalised before comparing:
  - host order inside a task: result lines, loop items and retries are compared per
    host, each host in its own order; the hosts of an `included:` line, the order of
    `included:` lines, and the order of warnings and unrecognised lines inside one
    task (or play, or outside plays) do not matter
  - the order of included files: an include task's files run in the order in which the
    hosts reported the task, which depends on timing. After a task with `included:`
    lines, where the logs stop agreeing, the shortest stretches of tasks that hold the
    same lines for every host (task, host, loop item) are reported as reordered; their
    lines are compared per host, each with its counterpart, regardless of order
  - the host of a run_once task: it runs on the first host of the play, and group_by
    fills a group in the order in which the hosts reported. A task with the lines of one
    host in A and of another host in B, equal apart from the host (a delegation to the
    machine the other side ran on counts as equal), is reported as moved. The recap
    rows of the hosts that moved tasks connect are then compared by the sum of each
    counter over those hosts, when that sum is equal
  - `...ignoring` after a loop item line is counted per task, not given to a host,
    because ansible-core prints it after that host's last item, possibly after other
    hosts' lines
  - profile_tasks: timestamp lines are counted, not compared; the summary table is
    compared by its row count only (which tasks are slowest depends on timing)
  - result fields `start`, `end`, `stop` (date and time), `delta` (duration) and
    `elapsed` (a number of seconds, as wait_for, uri, get_url and reboot report), at any
    depth, also where an item label prints a result as a Python dict (`'start': '...'`)
  - file times and identities: `atime`, `mtime` and `ctime` numbers at any depth, apt's
    `cache_update_time` (the time of its package lists), and `dev`, `inode` and
    `version` (the inode generation that `lsattr -v` prints) beside an `inode` key (stat
    results); the same in item labels that print a result as a Python dict; the date
    column of `ls -l` lines (`Dec  5 00:56`, or `Dec  5  2025` for an older file); the
    `pause` module's `Paused for N seconds`
  - temporary names: `ansible-tmp-<time>-<pid>-<random>`, `ansible-local-<pid><random>`
    and `.XXXXXXXX` in it, a module's `ansible-moduletmp-<time>-<random>` (get_url's
    `src`), Python tempfile names (`/tmpXXXXXXXX`, `/ansible.XXXXXXXX`,
    and `/PREFIX.XXXXXXXX.SUFFIX` with 8 characters of [a-z0-9_]), mktemp's default
    `tmp.XXXXXXXXXX` and names it makes in /tmp from a template of 9 or 10 X
    (`/tmp/NAME.XXXXXXXXX`, when they have an uppercase letter or a digit), module
    payload directories (`ansible_ping_payload_XXXXXXXX`,
    `ansible_ansible.legacy.command_payload_XXXXXXXX`), systemd's private temporary
    directories (`systemd-private-<boot id>-<unit>-XXXXXX`), backup file suffixes
    (`.<pid>.<date>@<time>~`) and Python object addresses (`<... object at 0x7f...>`,
    `<frame at 0x7f...`), in results, item labels, names and unrecognised lines
  - async job ids (`j123456789.1234`), the `child_pid` of a job the async watcher
    killed, and the `frame` of a task the `timeout` keyword interrupted (a Python stack
    frame of the controller, with its address and install paths); `ASYNC POLL` lines
    are dropped, as their number depends on timing
  - OpenSSH transfer statistics in -vvvv output, the process id of the SSH master
    (`mux_client_request_alive: done pid = N`), the `ControlPath` of Ansible's SSH
    connection (`.ansible/cp/` and 10 hex digits, a hash of the host's address, port and
    user), and the `timer` callback's duration
  - the indented lines after `ansible-playbook [core X]` at -vv and more (config file,
    module paths, Python and Jinja versions of the machine)
  - layout: blank lines (outside `ERROR!` blocks), colour escape sequences, carriage
    returns, the line wrapping of warnings (also where a word longer than the line is
    cut), and the layout of JSON dumps (one-line or indented, key order): dumps are
    compared as values
  - in the `status` of the systemd modules: times, process ids, invocation ids and
    resource counters are removed (`*Timestamp*`, `*PID`, `InvocationID`, `Memory*`,
    `CPUUsageNSec`, `TasksCurrent`, `IP*`, `IO*`, `ControlGroupId`, `NRestarts`,
    `ExecMainCode`, `ExecMainStatus`; in `Exec*`, the times and pid are replaced), and
    lists of units (`After`, `Wants`, ...), which systemd prints in no fixed order, are
    sorted
  - gathered facts that change from moment to moment, with or without the `ansible_`
    prefix: every field of `date_time`, `uptime_seconds`, `memfree_mb`, `swapfree_mb`,
    `free` and `used` in `memory_mb`, and `size_available`, `block_available`,
    `block_used`, `inode_available` and `inode_used` of each of `mounts`, and the order
    of `mounts` (ansible-core lists them as the threads that measure them finish)
  - the random token of `omit` (`__omit_place_holder__` and 40 hex digits)
  - HTTP dates (`Sat, 05 Dec 2026 14:34:00 GMT`, the form of the `Date`, `Expires` and
    `Last-Modified` headers that uri results carry), anywhere
  - the order of the lists `ansible_run_tags` and `ansible_skip_tags`, which
    ansible-core builds from a Python set, so their order changes from run to run
  - the output of `uptime`, and the order of consecutive shell trace lines (`+ cmd`)
    in a block of unrecognised lines, which `set -x` prints for a pipeline's commands
    in the order they start
  - each --strip-prefix DIR, replaced by `<prefix>` everywhere";

/// The placeholder that replaces a `--strip-prefix` directory.
const PREFIX_PLACEHOLDER: &str = "<prefix>";

/// Rewrites texts and result values; built once per comparison.
pub struct Normalizer {
    /// Directories to replace, longest first so that nested ones are replaced whole.
    prefixes: Vec<String>,
}

impl Normalizer {
    pub fn new(strip_prefixes: &[String]) -> Normalizer {
        let mut prefixes: Vec<String> = strip_prefixes
            .iter()
            .map(|prefix| prefix.trim_end_matches('/').to_string())
            .filter(|prefix| !prefix.is_empty())
            .collect();
        prefixes.sort_by_key(|prefix| std::cmp::Reverse(prefix.len()));
        Normalizer { prefixes }
    }

    /// Normalises every text and dump of a parsed log in place.
    pub fn normalize_log(&self, log: &mut Log) {
        self.normalize_messages(&mut log.messages);
        for play in &mut log.plays {
            if let Some(name) = &mut play.name {
                *name = self.text(name);
            }
            self.normalize_messages(&mut play.messages);
            for task in &mut play.tasks {
                self.normalize_task(task);
            }
        }
    }

    fn normalize_task(&self, task: &mut Task) {
        task.name = self.text(&task.name);
        self.normalize_messages(&mut task.messages);
        for included in &mut task.included {
            included.file = self.text(&included.file);
            if let Some(item) = &mut included.item {
                *item = self.text(item);
            }
        }
        for line in &mut task.results {
            match &mut line.event {
                HostEvent::Result {
                    item: Some(item), ..
                } => *item = self.text(item),
                HostEvent::Result { item: None, .. } => {}
                HostEvent::Retry { name, .. } => *name = self.text(name),
            }
            match &mut line.dump {
                Some(Dump::Json(value)) => self.value(value),
                Some(Dump::Text(text)) => *text = self.text(text),
                None => {}
            }
        }
    }

    fn normalize_messages(&self, messages: &mut [Message]) {
        for message in messages {
            message.text = self.text(&message.text);
            for line in &mut message.detail {
                *line = self.text(line);
            }
            sort_trace_runs(&mut message.detail);
        }
    }

    /// Rewrites prefixes, temporary names, job ids and timing statistics in a text.
    pub fn text(&self, text: &str) -> String {
        let mut text = text.to_string();
        for prefix in &self.prefixes {
            if text.contains(prefix.as_str()) {
                text = text.replace(prefix.as_str(), PREFIX_PLACEHOLDER);
            }
        }
        for (pattern, replacement) in TEXT_PATTERNS.iter() {
            if let std::borrow::Cow::Owned(replaced) = pattern.replace_all(&text, *replacement) {
                text = replaced;
            }
        }
        replace_mktemp_names(&text)
    }

    /// Rewrites a result value: times under `start`, `end` and `delta` at any depth,
    /// then every string and key as [`Normalizer::text`] does.
    pub fn value(&self, value: &mut Value) {
        match value {
            Value::String(text) => *text = self.text(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.value(item)),
            Value::Object(map) => {
                let file_identity = map.contains_key("inode");
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    sort_tag_set(&key, &mut item);
                    if key == "status" {
                        normalize_systemd_status(&mut item);
                    }
                    normalize_varying_fact(&key, &mut item);
                    let replaced = replace_time(&key, &mut item)
                        || replace_run_identity(&key, &mut item)
                        || replace_file_time(&key, &mut item)
                        || (file_identity && replace_file_identity(&key, &mut item));
                    if !replaced {
                        self.value(&mut item);
                    }
                    map.insert(self.text(&key), item);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// Replaces the value of a `start`, `end` or `delta` key when it has the form of a
/// command module time, and a number under `elapsed` (the seconds that wait_for, uri,
/// get_url and reboot waited); returns whether it did.
fn replace_time(key: &str, value: &mut Value) -> bool {
    static DATE_TIME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$").expect("valid regex")
    });
    static DURATION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^-?\d+:\d\d:\d\d(\.\d+)?$").expect("valid regex"));
    if key == "elapsed" && value.is_number() {
        *value = Value::String("<duration>".to_string());
        return true;
    }
    let Value::String(text) = value else {
        return false;
    };
    let (pattern, placeholder) = match key {
        "start" | "end" | "stop" => (&*DATE_TIME, "<date time>"),
        "delta" => (&*DURATION, "<duration>"),
        _ => return false,
    };
    if !pattern.is_match(text) {
        return false;
    }
    *value = Value::String(placeholder.to_string());
    true
}

/// Replaces the `child_pid` of an async job its watcher killed and the `frame` under
/// `timedout`, which name one run's processes and Python frames. Returns whether it did.
fn replace_run_identity(key: &str, value: &mut Value) -> bool {
    match (key, &mut *value) {
        ("child_pid", Value::Number(_)) => {
            *value = Value::String("<pid>".to_string());
            true
        }
        ("timedout", Value::Object(details)) if details.contains_key("frame") => {
            details.insert("frame".to_string(), Value::String("<frame>".to_string()));
            true
        }
        _ => false,
    }
}

/// Sorts each run of consecutive shell trace lines (`+ command`, as `set -x` prints
/// them). The shell traces the commands of a pipeline as each one starts, in an order
/// that varies from run to run.
fn sort_trace_runs(lines: &mut [String]) {
    let mut start = 0;
    while start < lines.len() {
        if !lines[start].starts_with("+ ") {
            start += 1;
            continue;
        }
        let end = lines[start..]
            .iter()
            .position(|line| !line.starts_with("+ "))
            .map_or(lines.len(), |offset| start + offset);
        lines[start..end].sort();
        start = end;
    }
}

/// Replaces a file time in seconds since the epoch (`atime`, `mtime`, `ctime`, and apt's
/// `cache_update_time`, the time of its package lists); returns whether it did.
fn replace_file_time(key: &str, value: &mut Value) -> bool {
    if !matches!(key, "atime" | "mtime" | "ctime" | "cache_update_time") || !value.is_number() {
        return false;
    }
    *value = Value::String("<file time>".to_string());
    true
}

/// Replaces a device, inode or inode generation number of a stat result, which a fresh
/// host's new root changes; returns whether it did. stat prints the generation
/// (`version`) as `lsattr -v` does, as a string of digits.
fn replace_file_identity(key: &str, value: &mut Value) -> bool {
    let number = match value {
        Value::Number(_) => true,
        Value::String(text) => {
            key == "version" && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    };
    if !matches!(key, "dev" | "inode" | "version") || !number {
        return false;
    }
    *value = Value::String("<file identity>".to_string());
    true
}

/// Replaces the random part of names that mktemp makes in /tmp from a template of the
/// caller (`mktemp -d /tmp/ansible_test.XXXXXXXXX`): 9 or 10 letters and digits after
/// the last dot. A part without an uppercase letter or a digit is kept, as it is more
/// likely an ordinary extension than mktemp's choice from 62 characters.
fn replace_mktemp_names(text: &str) -> String {
    static MKTEMP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(/tmp/[A-Za-z0-9_-]+\.)([A-Za-z0-9]{9,10})\b").expect("valid regex")
    });
    MKTEMP
        .replace_all(text, |captures: &regex::Captures| {
            let random = &captures[2];
            if random
                .bytes()
                .any(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                format!("{}<random>", &captures[1])
            } else {
                captures[0].to_string()
            }
        })
        .into_owned()
}

/// Normalises the `status` mapping of the systemd modules (one with an `ActiveState`
/// key). Times, process ids, invocation ids and resource counters depend on when the
/// unit ran, so they are removed. Lists of units (`After`, `Wants`, ...) are sorted,
/// because systemd prints them in no fixed order.
fn normalize_systemd_status(status: &mut Value) {
    static VARYING: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"Timestamp|PID$|^InvocationID$|^Memory(Current|Peak|Available|SwapCurrent|SwapPeak|ZSwapCurrent)$",
            r"|^CPUUsageNSec$|^TasksCurrent$|^IP(Ingress|Egress)|^IO(Read|Write)|^ControlGroupId$",
            r"|^NRestarts$|^ExecMainCode$|^ExecMainStatus$",
        ))
        .expect("valid regex")
    });
    static EXEC_DETAILS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"start_time=\[[^\]]*\]|stop_time=\[[^\]]*\]|pid=\d+|code=\(null\)|status=\d+/\d+",
        )
        .expect("valid regex")
    });
    static UNIT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^[\w@:.\\-]+\.(service|target|slice|socket|mount|path|timer|device|swap|scope|automount)$")
            .expect("valid regex")
    });
    let Value::Object(map) = status else {
        return;
    };
    if !map.contains_key("ActiveState") {
        return;
    }
    // Removed rather than replaced: whether systemd reports a time at all (such as
    // `ExecMainExitTimestamp`) depends on when the status was read, too.
    map.retain(|key, value| {
        // `GuessMainPID` is a setting (yes or no), not a process id.
        let setting = key.ends_with("PID")
            && !value
                .as_str()
                .is_some_and(|text| text.bytes().all(|b| b.is_ascii_digit()));
        !VARYING.is_match(key) || setting
    });
    for (key, value) in map.iter_mut() {
        let Value::String(text) = value else {
            continue;
        };
        if key.starts_with("Exec") {
            *text = EXEC_DETAILS.replace_all(text, "<varies>").into_owned();
        } else if !text.is_empty() && text.split_whitespace().all(|word| UNIT.is_match(word)) {
            let mut units: Vec<&str> = text.split_whitespace().collect();
            units.sort_unstable();
            *text = units.join(" ");
        }
    }
}

/// Replaces the gathered facts that change from one moment to the next: the time
/// (`date_time`), the uptime, free and used memory, and free and used space and inodes of
/// each mount. Keys stay, so a missing or extra fact still shows. Mounts are sorted.
fn normalize_varying_fact(key: &str, value: &mut Value) {
    let key = key.strip_prefix("ansible_").unwrap_or(key);
    match (key, value) {
        ("date_time", Value::Object(fields)) if fields.contains_key("epoch") => {
            for field in fields.values_mut() {
                *field = Value::String("<date time>".to_string());
            }
        }
        ("uptime_seconds" | "memfree_mb" | "swapfree_mb", value) if value.is_number() => {
            *value = Value::String("<varies>".to_string());
        }
        ("memory_mb", Value::Object(kinds)) if kinds.contains_key("real") => {
            for kind in kinds.values_mut() {
                replace_numbers(kind, &["free", "used"]);
            }
        }
        ("mounts", Value::Array(mounts)) => {
            for mount in mounts.iter_mut() {
                replace_numbers(
                    mount,
                    &[
                        "size_available",
                        "block_available",
                        "block_used",
                        "inode_available",
                        "inode_used",
                    ],
                );
            }
            // ansible-core lists the mounts as the threads that measure them finish.
            mounts.sort_by_key(mount_key);
        }
        _ => {}
    }
}

/// Returns the mount point and device of a mount fact, which order the list of mounts.
fn mount_key(mount: &Value) -> (String, String) {
    let field = |name: &str| {
        mount
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (field("mount"), field("device"))
}

/// Replaces the numbers under `keys` in an object with `<varies>`.
fn replace_numbers(object: &mut Value, keys: &[&str]) {
    let Value::Object(map) = object else {
        return;
    };
    for key in keys {
        if let Some(value) = map.get_mut(*key) {
            if value.is_number() {
                *value = Value::String("<varies>".to_string());
            }
        }
    }
}

/// Sorts the value of `ansible_run_tags` or `ansible_skip_tags`: ansible-core turns the
/// tags of the command line into a Python set and then a list, in hash order.
fn sort_tag_set(key: &str, value: &mut Value) {
    if !matches!(key, "ansible_run_tags" | "ansible_skip_tags") {
        return;
    }
    if let Value::Array(items) = value {
        if items.iter().all(Value::is_string) {
            items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
    }
}

/// Patterns of temporary names, ids and statistics, with their replacements.
static TEXT_PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // ansible-core's remote temporary directory: ansible-tmp-TIME-PID-RANDOM.
        (r"ansible-tmp-\d+(?:\.\d+)?-\d+-\d+", "ansible-tmp-<random>"),
        // AnsibleModule's temporary directory: ansible-moduletmp-TIME- + mkdtemp suffix.
        (
            r"ansible-moduletmp-\d+(?:\.\d+)?-[a-z0-9_]{8}\b",
            "ansible-moduletmp-<random>",
        ),
        // The controller's local temporary directory: ansible-local-PID + mkdtemp suffix.
        (r"ansible-local-\d+[a-z0-9_]{8}", "ansible-local-<random>"),
        // Python tempfile names in it with the prefix `.` (copy's `content`).
        (
            r"(ansible-local-<random>/\.)[a-z0-9_]{8}\b",
            "${1}<random>",
        ),
        // Python tempfile names: prefix `tmp` (default) or `ansible.` (tempfile module)
        // and 8 random characters.
        (r"/tmp[a-z0-9_]{8}\b", "/tmp<random>"),
        (r"/ansible\.[a-z0-9_]{8}\b", "/ansible.<random>"),
        // The same with a prefix and a suffix of the caller (the tempfile module's
        // `prefix` and `suffix`), recognised only between two dots.
        (
            r"(/[A-Za-z0-9_-]+\.)[a-z0-9_]{8}(\.[A-Za-z0-9])",
            "${1}<random>${2}",
        ),
        // mktemp's default template tmp.XXXXXXXXXX.
        (r"\btmp\.[A-Za-z0-9]{10}\b", "tmp.<random>"),
        // A module's payload directory: ansible_<module>_payload_ + 8 random characters.
        (
            r"\bansible_([\w.]+?)_payload_[a-z0-9_]{8}\b",
            "ansible_${1}_payload_<random>",
        ),
        // systemd's PrivateTmp directories: the boot id, the unit, 6 random characters.
        (
            r"\bsystemd-private-[0-9a-f]{32}-([\w@.\\-]+)-[A-Za-z0-9]{6}\b",
            "systemd-private-<id>-${1}-<random>",
        ),
        // The date column of `ls -l`: `Mon DD HH:MM`, or `Mon DD  YYYY` for old files.
        (
            r"(?m)^([-bcdlps][-rwxsStT]{9}[.+@]?\s+\d+\s+\S+\s+\S+\s+\d+(?:,\s*\d+)?\s+)[A-Z][a-z]{2} [ \d]\d (?:\d\d:\d\d| \d{4}) ",
            "${1}<date> ",
        ),
        // Backup files of file-editing modules: NAME.<pid>.<date>@<time>~.
        (r"\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~", ".<pid>.<date>~"),
        // Python's default reprs: `<... object at 0x7f234523bad0>`, `<frame at 0x...`.
        (r"(<[^<>]*? at )0x[0-9a-f]+", "${1}0x<address>"),
        // Command times inside a Python dict repr, as item labels print earlier results.
        (
            r"'(start|end)': '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?'",
            "'$1': '<date time>'",
        ),
        (
            r"'delta': '-?\d+:\d\d:\d\d(?:\.\d+)?'",
            "'delta': '<duration>'",
        ),
        (r"'(atime|mtime|ctime)': \d+(?:\.\d+)?", "'$1': <file time>"),
        // A stat result printed as a Python dict: `'inode': N, 'dev': N, ... 'version': 'N'`.
        (
            r"'(inode|dev)': \d+(, .*'version': )'\d+'",
            "'$1': <file identity>$2'<file identity>'",
        ),
        (r"'(inode|dev)': \d+", "'$1': <file identity>"),
        // uptime's output: the time, how long the machine has run, users and load.
        (
            r"^ ?\d\d:\d\d:\d\d up .*, +\d+ users?, +load average: [\d.]+, [\d.]+, [\d.]+$",
            "<uptime>",
        ),
        // The pause module's measured wait.
        (
            r"^Paused for \d+(?:\.\d+)? (seconds|minutes)$",
            "Paused for <duration>",
        ),
        // The placeholder of `omit`, made from random bytes by each ansible-playbook.
        (
            r"\b__omit_place_holder__[0-9a-f]{40}\b",
            "__omit_place_holder__<random>",
        ),
        // HTTP dates (RFC 9110's IMF-fixdate), as servers send them in `Date` headers.
        (
            r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT\b",
            "<http date>",
        ),
        // Async job ids: j<random>.<pid>.
        (r"\bj\d{5,}\.\d+\b", "j<id>"),
        (r"(\.ansible/cp/)[0-9a-f]{10}\b", "${1}<hash>"),
        (
            r"\bmux_client_request_alive: done pid = \d+",
            "mux_client_request_alive: done pid = <pid>",
        ),
        (
            r"Transferred: sent \d+, received \d+ bytes, in \d+(?:\.\d+)? seconds",
            "Transferred: <statistics>",
        ),
        (
            r"Bytes per second: sent \d+(?:\.\d+)?, received \d+(?:\.\d+)?",
            "Bytes per second: <statistics>",
        ),
        (
            r"^Playbook run took \d+ days, \d+ hours, \d+ minutes, \d+ seconds$",
            "Playbook run took <duration>",
        ),
    ]
    .into_iter()
    .map(|(pattern, replacement)| (Regex::new(pattern).expect("valid regex"), replacement))
    .collect()
});

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trace_runs_and_uptime() {
        let mut lines: Vec<String> = [
            "x",
            "+ tee out.txt",
            "+ ansible-playbook a.yml",
            "y",
            "+ b",
            "+ a",
        ]
        .iter()
        .map(|line| line.to_string())
        .collect();
        sort_trace_runs(&mut lines);
        assert_eq!(
            lines,
            [
                "x",
                "+ ansible-playbook a.yml",
                "+ tee out.txt",
                "y",
                "+ a",
                "+ b"
            ]
        );
        let normalizer = Normalizer::new(&[]);
        assert_eq!(
            normalizer.text(" 01:37:55 up  3:52,  0 user,  load average: 6.70, 3.89, 4.00"),
            "<uptime>"
        );
        assert_eq!(
            normalizer
                .text(" 01:43:33 up 2 days,  3:58,  2 users,  load average: 0.00, 0.01, 0.05"),
            "<uptime>"
        );
    }

    #[test]
    fn stat_times_and_identities() {
        let normalizer = Normalizer::new(&[]);
        let mut value = json!({
            "stat": {"atime": 1796434745.29, "mtime": 1796434745, "dev": 45, "inode": 12, "mode": "0644"},
            "other": {"dev": 3},
            "stop": "2026-12-05 01:39:44.344288",
            "cache_update_time": 1796442143,
            "stdout": "Paused for 1.01 seconds"
        });
        normalizer.value(&mut value);
        assert_eq!(
            value,
            json!({
                "stat": {"atime": "<file time>", "mtime": "<file time>", "dev": "<file identity>", "inode": "<file identity>", "mode": "0644"},
                "other": {"dev": 3},
                "stop": "<date time>",
                "cache_update_time": "<file time>",
                "stdout": "Paused for <duration>"
            })
        );
        assert_eq!(
            normalizer.text("{'state': 'absent', 'mtime': 1796434801.2132652, 'atime': 17}"),
            "{'state': 'absent', 'mtime': <file time>, 'atime': <file time>}"
        );
        assert_eq!(
            normalizer.text("{'stat': {'size': 120, 'inode': 219, 'dev': 173, 'version': '31', 'x': 1}}"),
            "{'stat': {'size': 120, 'inode': <file identity>, 'dev': <file identity>, 'version': '<file identity>', 'x': 1}}"
        );
    }

    #[test]
    fn item_label_times_and_run_specific_names() {
        let normalizer = Normalizer::new(&[]);
        let label = "{'changed': False, 'stdout': '128', 'start': '2026-12-05 00:37:01.810295', 'end': '2026-12-05 00:37:01.821167', 'delta': '0:00:00.010872'}";
        assert_eq!(
            normalizer.text(label),
            "{'changed': False, 'stdout': '128', 'start': '<date time>', 'end': '<date time>', 'delta': '<duration>'}"
        );
        assert_eq!(
            normalizer.text("{'date': 'Sat, 05 Dec 2026 14:34:00 GMT', 'status': 302}"),
            "{'date': '<http date>', 'status': 302}"
        );
        assert_eq!(
            normalizer.text("/tmp/ansible_ping_payload_s30dyhwl/ansible_ping_payload.zip"),
            "/tmp/ansible_ping_payload_<random>/ansible_ping_payload.zip"
        );
        assert_eq!(
            normalizer.text("pangrams.06.txt.362.2026-12-05@00:34:56~"),
            "pangrams.06.txt.<pid>.<date>~"
        );
        assert_eq!(
            normalizer
                .text("(<ansible.plugins.callback.junit.CallbackModule object at 0x7f234523bad0>)"),
            "(<ansible.plugins.callback.junit.CallbackModule object at 0x<address>>)"
        );
        assert_eq!(
            normalizer.text("Interrupted at <frame at 0x7f0ebb3ad840, file 'x.py', line 415>"),
            "Interrupted at <frame at 0x<address>, file 'x.py', line 415>"
        );
    }

    #[test]
    fn temporary_names() {
        let normalizer = Normalizer::new(&[]);
        let cases = [
            (
                "mkdir /root/.ansible/tmp/ansible-tmp-1796424667.7231867-2086-215393010652953/x",
                "mkdir /root/.ansible/tmp/ansible-tmp-<random>/x",
            ),
            (
                "PUT /root/.ansible/tmp/ansible-local-2082m3x_xskj/tmpt3nub3an TO y",
                "PUT /root/.ansible/tmp/ansible-local-<random>/tmp<random> TO y",
            ),
            ("/tmp/tmp.9iz7sn5Xh4", "/tmp/tmp.<random>"),
            (
                "/root/.ansible/tmp/ansible-local-2082m3x_xskj/.ycmy8i0_",
                "/root/.ansible/tmp/ansible-local-<random>/.<random>",
            ),
            ("/tmp/ansible.k2_x9abc", "/tmp/ansible.<random>"),
            (
                "/root/.ansible/tmp/ansible-moduletmp-1796481123.8291981-qwe50xjb/tmpa1b2c3d4",
                "/root/.ansible/tmp/ansible-moduletmp-<random>/tmp<random>",
            ),
            (
                "/tmp/ansible.s9qiylk7.test/hello._yp1r_u8.goodbye",
                "/tmp/ansible.<random>.test/hello.<random>.goodbye",
            ),
            // Without a suffix, a name of 8 letters is an ordinary extension.
            ("/inventory.handlers", "/inventory.handlers"),
            ("/tmp/ansible_test.C66wC1pFs", "/tmp/ansible_test.<random>"),
            ("/tmp/foo.extension", "/tmp/foo.extension"),
            (
                "/root/.ansible_async/j583214702463.1234",
                "/root/.ansible_async/j<id>",
            ),
            // Ordinary words that look alike stay.
            (
                "/etc/tmpfiles.d and tmp.conf",
                "/etc/tmpfiles.d and tmp.conf",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(normalizer.text(text), expected, "for {text}");
        }
    }

    #[test]
    fn async_pid_and_timeout_frame() {
        let normalizer = Normalizer::new(&[]);
        let mut value = json!({
            "child_pid": 4242,
            "timedout": {"frame": "Interrupted at <frame at 0x7fc3>", "period": 2},
        });
        normalizer.value(&mut value);
        assert_eq!(
            value,
            json!({
                "child_pid": "<pid>",
                "timedout": {"frame": "<frame>", "period": 2},
            })
        );
    }

    #[test]
    fn times_only_under_their_keys() {
        let normalizer = Normalizer::new(&[]);
        let mut value = json!({
            "start": "2026-12-04 22:53:57.473966",
            "end": "2026-12-04 22:53:57.478081",
            "delta": "0:00:00.004115",
            "elapsed": 3,
            "results": [{"delta": "0:00:01.000000"}],
            "msg": "2026-12-04 22:53:57.473966",
            "other": {"start": "not a time"},
        });
        normalizer.value(&mut value);
        assert_eq!(
            value,
            json!({
                "start": "<date time>",
                "end": "<date time>",
                "delta": "<duration>",
                "elapsed": "<duration>",
                "results": [{"delta": "<duration>"}],
                "msg": "2026-12-04 22:53:57.473966",
                "other": {"start": "not a time"},
            })
        );
    }

    #[test]
    fn statistics_and_durations() {
        let normalizer = Normalizer::new(&[]);
        assert_eq!(
            normalizer.text("Transferred: sent 3024, received 2512 bytes, in 0.1 seconds"),
            "Transferred: <statistics>"
        );
        assert_eq!(
            normalizer.text("Bytes per second: sent 30240.5, received 25120.0"),
            "Bytes per second: <statistics>"
        );
        assert_eq!(
            normalizer.text("-o 'ControlPath=\"/root/.ansible/cp/842667720f\"'"),
            "-o 'ControlPath=\"/root/.ansible/cp/<hash>\"'"
        );
        assert_eq!(
            normalizer.text("debug3: mux_client_request_alive: done pid = 32413"),
            "debug3: mux_client_request_alive: done pid = <pid>"
        );
        assert_eq!(
            normalizer.text("Playbook run took 0 days, 0 hours, 1 minutes, 3 seconds"),
            "Playbook run took <duration>"
        );
    }

    #[test]
    fn listing_dates_and_private_dirs() {
        let normalizer = Normalizer::new(&[]);
        let listing = "total 4\ndrwxrwxrwt 8 root root  160 Dec  5 00:56 .\n\
            -rw-r--r--. 1 root root 12 Jan 30  2025 old\n\
            crw-rw-rw- 1 root root 1, 3 Dec 15 10:02 null\n\
            drwx------ 2 root root   60 Dec  5 00:56 ansible_ansible.legacy.command_payload_w2bpqd0u\n\
            drwx------ 3 root root   60 Dec  5 00:56 systemd-private-7d19987f626640baaa80f582a0af9f6c-systemd-logind.service-dYv8zv";
        assert_eq!(
            normalizer.text(listing),
            "total 4\ndrwxrwxrwt 8 root root  160 <date> .\n\
            -rw-r--r--. 1 root root 12 <date> old\n\
            crw-rw-rw- 1 root root 1, 3 <date> null\n\
            drwx------ 2 root root   60 <date> ansible_ansible.legacy.command_payload_<random>\n\
            drwx------ 3 root root   60 <date> systemd-private-<id>-systemd-logind.service-<random>"
        );
        // A date elsewhere in a line stays.
        assert_eq!(
            normalizer.text("backup made Dec  5 00:56 by root"),
            "backup made Dec  5 00:56 by root"
        );
    }

    #[test]
    fn tag_sets_and_inode_generation() {
        let normalizer = Normalizer::new(&[]);
        let mut value = json!({
            "ansible_run_tags": ["tag3", "tag1"],
            "ansible_skip_tags": ["b", "a"],
            "other_tags": ["tag3", "tag1"],
            "stat": {"inode": 5, "version": "3187923442", "attributes": []},
            "package": {"version": "2.0"},
        });
        normalizer.value(&mut value);
        assert_eq!(
            value,
            json!({
                "ansible_run_tags": ["tag1", "tag3"],
                "ansible_skip_tags": ["a", "b"],
                "other_tags": ["tag3", "tag1"],
                "stat": {"inode": "<file identity>", "version": "<file identity>", "attributes": []},
                "package": {"version": "2.0"},
            })
        );
    }

    #[test]
    fn facts_that_change_and_omit_token() {
        let normalizer = Normalizer::new(&[]);
        let mut value = json!({
            "ansible_date_time": {"epoch": "1796444134", "tz": "UTC"},
            "ansible_uptime_seconds": 20311,
            "ansible_facts": {
                "memory_mb": {"real": {"free": 1, "used": 2, "total": 3}, "swap": {"free": 0}},
                "mounts": [
                    {"mount": "/run/netns", "device": "tmpfs"},
                    {"mount": "/", "size_available": 4, "size_total": 5},
                ],
            },
            "omit": "__omit_place_holder__8e59a308b5fd5eea50559d0145d4006b6cf90c40",
            "date_time": "not facts",
        });
        normalizer.value(&mut value);
        assert_eq!(
            value,
            json!({
                "ansible_date_time": {"epoch": "<date time>", "tz": "<date time>"},
                "ansible_uptime_seconds": "<varies>",
                "ansible_facts": {
                    "memory_mb": {"real": {"free": "<varies>", "used": "<varies>", "total": 3}, "swap": {"free": "<varies>"}},
                    "mounts": [
                        {"mount": "/", "size_available": "<varies>", "size_total": 5},
                        {"mount": "/run/netns", "device": "tmpfs"},
                    ],
                },
                "omit": "__omit_place_holder__<random>",
                "date_time": "not facts",
            })
        );
    }

    #[test]
    fn systemd_status() {
        let normalizer = Normalizer::new(&[]);
        let mut value = json!({"status": {
            "ActiveState": "active",
            "ActiveEnterTimestamp": "Sat 2026-12-05 03:44:58 UTC",
            "MainPID": "331",
            "GuessMainPID": "yes",
            "After": "sysinit.target basic.target system.slice",
            "ExecStart": "{ path=/bin/sleep ; argv[]=/bin/sleep 1 ; start_time=[Sat 2026-12-05] ; pid=331 ; code=(null) ; status=0/0 }",
            "Description": "Ansible Test Service",
        }});
        normalizer.value(&mut value);
        assert_eq!(
            value,
            json!({"status": {
                "ActiveState": "active",
                "GuessMainPID": "yes",
                "After": "basic.target sysinit.target system.slice",
                "ExecStart": "{ path=/bin/sleep ; argv[]=/bin/sleep 1 ; <varies> ; <varies> ; <varies> ; <varies> }",
                "Description": "Ansible Test Service",
            }})
        );
        // A `status` without `ActiveState` is not systemd's.
        let mut other = json!({"status": {"MainPID": "3", "After": "b.target a.target"}});
        normalizer.value(&mut other);
        assert_eq!(
            other,
            json!({"status": {"MainPID": "3", "After": "b.target a.target"}})
        );
    }

    #[test]
    fn prefixes_longest_first() {
        let normalizer = Normalizer::new(&["/a".to_string(), "/a/b/".to_string()]);
        assert_eq!(
            normalizer.text("/a/b/c and /a/d"),
            "<prefix>/c and <prefix>/d"
        );
    }
}
