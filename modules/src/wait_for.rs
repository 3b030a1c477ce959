//! The `wait_for` module, after ansible-core 2.18's. It waits for a TCP port to accept
//! or refuse connections, or for its connections to drain. It waits for a file to
//! appear (optionally with a regex match in it) or to disappear, or just sleeps for
//! `timeout` seconds.

use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::dispatch::ModuleOptions;
use crate::spec::{Default, Elements, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "wait_for",
    &[
        OptionSpec::new("host", Kind::Str).default(Default::Str("127.0.0.1")),
        OptionSpec::new("timeout", Kind::Int).default(Default::Int(300)),
        OptionSpec::new("connect_timeout", Kind::Int).default(Default::Int(5)),
        OptionSpec::new("delay", Kind::Int).default(Default::Int(0)),
        OptionSpec::new("port", Kind::Int),
        OptionSpec::new("active_connection_states", Kind::List(Elements::Str)).default(
            Default::StrList(&[
                "ESTABLISHED",
                "FIN_WAIT1",
                "FIN_WAIT2",
                "SYN_RECV",
                "SYN_SENT",
                "TIME_WAIT",
            ]),
        ),
        OptionSpec::new("path", Kind::Path),
        OptionSpec::new("search_regex", Kind::Str),
        OptionSpec::new("state", Kind::Str)
            .default(Default::Str("started"))
            .choices(&["absent", "drained", "present", "started", "stopped"]),
        OptionSpec::new("exclude_hosts", Kind::List(Elements::Str)),
        OptionSpec::new("sleep", Kind::Int).default(Default::Int(1)),
        OptionSpec::new("msg", Kind::Str),
    ],
);

/// `/proc/net/tcp` codes of the connection states `active_connection_states` names.
const CONNECTION_STATES: &[(&str, &str)] = &[
    ("ESTABLISHED", "01"),
    ("SYN_SENT", "02"),
    ("SYN_RECV", "03"),
    ("FIN_WAIT1", "04"),
    ("FIN_WAIT2", "05"),
    ("TIME_WAIT", "06"),
];

/// The groups a successful wait found in the file or the port's data.
#[derive(Default)]
struct Matched {
    groups: Vec<Value>,
    named: Map,
}

/// The validated parameters of one wait.
struct Wait {
    host: String,
    timeout: Duration,
    connect_timeout: Duration,
    port: Option<i64>,
    path: Option<String>,
    regex: Option<fancy_regex::Regex>,
    search_regex: Option<String>,
    state: String,
    sleep: Duration,
    msg: Option<String>,
    active_states: Vec<&'static str>,
    exclude_hosts: Option<Vec<String>>,
}

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    if options.check_mode {
        // ansible-core's wait_for does not declare check mode support.
        let mut result = Map::new();
        result.insert(Value::from("changed"), Value::Bool(false));
        result.insert(Value::from("skipped"), Value::Bool(true));
        result.insert(
            Value::from("msg"),
            Value::from("remote module (wait_for) does not support check mode"),
        );
        return result;
    }
    match Wait::from_params(params) {
        Ok(wait) => {
            let delay = seconds(params.int("delay"));
            wait.run(delay)
        }
        Err(result) => result,
    }
}

fn seconds(value: Option<i64>) -> Duration {
    Duration::from_secs(value.unwrap_or(0).max(0) as u64)
}

fn failure(msg: String, elapsed: Option<i64>) -> Map {
    let mut result = crate::dispatch::failed(msg);
    if let Some(elapsed) = elapsed {
        result.insert(Value::from("elapsed"), Value::Int(elapsed));
    }
    result
}

impl Wait {
    fn from_params(params: &Params) -> Result<Wait, Map> {
        let search_regex = params.string("search_regex");
        let regex = match &search_regex {
            Some(pattern) => Some(crate::pyregex::compile(pattern, true).map_err(|err| {
                // NOTE: the error text is fancy-regex's, not Python's `re.error`.
                failure(format!("Invalid regular expression: {err}"), None)
            })?),
            None => None,
        };
        let port = params.int("port").filter(|port| *port != 0);
        let path = params.string("path").filter(|path| !path.is_empty());
        let state = params.string("state").unwrap_or_default();
        if port.is_some() && path.is_some() {
            return Err(failure(
                "port and path parameter can not both be passed to wait_for".to_string(),
                Some(0),
            ));
        }
        if path.is_some() && matches!(state.as_str(), "stopped" | "drained") {
            return Err(failure(
                format!(
                    "state={state} should only be used for checking a port in the wait_for module"
                ),
                Some(0),
            ));
        }
        let exclude_hosts = params
            .get("exclude_hosts")
            .map(|_| params.strings("exclude_hosts"));
        if exclude_hosts.is_some() && state != "drained" {
            return Err(failure(
                "exclude_hosts should only be with state=drained".to_string(),
                Some(0),
            ));
        }
        let mut active_states = Vec::new();
        for name in params.strings("active_connection_states") {
            match CONNECTION_STATES.iter().find(|(known, _)| *known == name) {
                Some((_, code)) => active_states.push(*code),
                None => {
                    return Err(failure(
                        format!("unknown active_connection_state ({name}) defined"),
                        Some(0),
                    ))
                }
            }
        }
        Ok(Wait {
            host: params.string("host").unwrap_or_default(),
            timeout: seconds(params.int("timeout")),
            connect_timeout: seconds(params.int("connect_timeout")),
            port,
            path,
            regex,
            search_regex,
            state,
            sleep: seconds(params.int("sleep")),
            msg: params.string("msg"),
            active_states,
            exclude_hosts,
        })
    }

    fn run(&self, delay: Duration) -> Map {
        let start = Instant::now();
        std::thread::sleep(delay);
        let end = start + self.timeout;
        let waited = if self.port.is_none() && self.path.is_none() && self.state != "drained" {
            std::thread::sleep(self.timeout);
            Ok(Matched::default())
        } else {
            match self.state.as_str() {
                "absent" | "stopped" => self.wait_gone(start, end),
                "started" | "present" => self.wait_there(start, end),
                _ => self.wait_drained(start, end),
            }
        };
        match waited {
            Ok(matched) => self.result(start, matched),
            Err(result) => result,
        }
    }

    fn elapsed(start: Instant) -> i64 {
        start.elapsed().as_secs() as i64
    }

    fn timed_out(&self, start: Instant, message: String) -> Map {
        failure(
            self.msg.clone().unwrap_or(message),
            Some(Self::elapsed(start)),
        )
    }

    fn wait_gone(&self, start: Instant, end: Instant) -> Result<Matched, Map> {
        while Instant::now() < end {
            if let Some(path) = &self.path {
                if std::fs::symlink_metadata(path).is_err() && std::fs::metadata(path).is_err() {
                    return Ok(Matched::default());
                }
            } else if let Some(port) = self.port {
                match self.connect(port, self.connect_timeout) {
                    Some(stream) => close(stream),
                    None => return Ok(Matched::default()),
                }
            }
            std::thread::sleep(self.sleep);
        }
        Err(match (&self.path, self.port) {
            (Some(path), _) => self.timed_out(
                start,
                format!("Timeout when waiting for {path} to be absent."),
            ),
            (None, port) => self.timed_out(
                start,
                format!(
                    "Timeout when waiting for {}:{} to stop.",
                    self.host,
                    port.unwrap_or_default()
                ),
            ),
        })
    }

    fn wait_there(&self, start: Instant, end: Instant) -> Result<Matched, Map> {
        while Instant::now() < end {
            let found = match (&self.path, self.port) {
                (Some(path), _) => self.check_file(path, start)?,
                (None, Some(port)) => self.check_port(port, end),
                (None, None) => None,
            };
            if let Some(matched) = found {
                return Ok(matched);
            }
            std::thread::sleep(self.sleep);
        }
        let search = self.search_regex.as_deref();
        let message = match (&self.path, self.port, search) {
            (Some(path), _, Some(regex)) => {
                format!("Timeout when waiting for search string {regex} in {path}")
            }
            (Some(path), _, None) => format!("Timeout when waiting for file {path}"),
            (None, port, Some(regex)) => format!(
                "Timeout when waiting for search string {regex} in {}:{}",
                self.host,
                port.unwrap_or_default()
            ),
            (None, port, None) => format!(
                "Timeout when waiting for {}:{}",
                self.host,
                port.unwrap_or_default()
            ),
        };
        Err(self.timed_out(start, message))
    }

    /// Checks that the file is there (and matches the regex, if any) and returns the match.
    fn check_file(&self, path: &str, start: Instant) -> Result<Option<Matched>, Map> {
        if let Err(err) = std::fs::metadata(path) {
            if err.raw_os_error() == Some(libc::ENOENT) {
                return Ok(None);
            }
            let reason = crate::files::os_error(&err);
            let reason = reason
                .split_once("] ")
                .map_or(reason.as_str(), |(_, text)| text);
            let message = self
                .msg
                .clone()
                .unwrap_or_else(|| format!("Failed to stat {path}, {reason}"));
            return Err(failure(message, Some(Self::elapsed(start))));
        }
        let Some(regex) = &self.regex else {
            return Ok(Some(Matched::default()));
        };
        let Ok(data) = std::fs::read(path) else {
            return Ok(None);
        };
        // NOTE: Python matches a bytes pattern; non-UTF-8 bytes are replaced here, so
        // a pattern can match text around them but not the bytes themselves.
        let text = String::from_utf8_lossy(&data);
        Ok(search(regex, &text))
    }

    /// Checks that the port accepts a connection (and sends data matching the regex, if
    /// any).
    fn check_port(&self, port: i64, end: Instant) -> Option<Matched> {
        let remaining = end.saturating_duration_since(Instant::now());
        let remaining = Duration::from_secs(remaining.as_secs_f64().ceil() as u64);
        let stream = self.connect(port, self.connect_timeout.min(remaining))?;
        let Some(regex) = &self.regex else {
            close(stream);
            return Some(Matched::default());
        };
        let matched = read_until_match(&stream, regex, end);
        close(stream);
        matched
    }

    fn connect(&self, port: i64, timeout: Duration) -> Option<TcpStream> {
        let port = u16::try_from(port).ok()?;
        let addresses: Vec<SocketAddr> =
            (self.host.as_str(), port).to_socket_addrs().ok()?.collect();
        let timeout = timeout.max(Duration::from_millis(1));
        addresses
            .iter()
            .find_map(|address| TcpStream::connect_timeout(address, timeout).ok())
    }

    fn wait_drained(&self, start: Instant, end: Instant) -> Result<Matched, Map> {
        let port = format!("{:04X}", self.port.unwrap_or_default());
        let hosts = host_hex(&self.host);
        let excluded: Vec<(u8, String)> = self
            .exclude_hosts
            .iter()
            .flatten()
            .flat_map(|host| host_hex(host))
            .collect();
        while Instant::now() < end {
            if active_connections(&port, &hosts, &excluded, &self.active_states) == 0 {
                return Ok(Matched::default());
            }
            std::thread::sleep(self.sleep);
        }
        Err(self.timed_out(
            start,
            format!(
                "Timeout when waiting for {}:{} to drain",
                self.host,
                self.port.unwrap_or_default()
            ),
        ))
    }

    fn result(&self, start: Instant, matched: Matched) -> Map {
        let mut result = Map::new();
        result.insert(Value::from("changed"), Value::Bool(false));
        result.insert(Value::from("state"), Value::from(self.state.as_str()));
        result.insert(
            Value::from("port"),
            self.port.map(Value::Int).unwrap_or_default(),
        );
        result.insert(
            Value::from("search_regex"),
            self.search_regex
                .clone()
                .map(Value::from)
                .unwrap_or_default(),
        );
        result.insert(Value::from("match_groups"), Value::list(matched.groups));
        result.insert(Value::from("match_groupdict"), Value::map(matched.named));
        result.insert(
            Value::from("path"),
            self.path.clone().map(Value::from).unwrap_or_default(),
        );
        result.insert(Value::from("elapsed"), Value::Int(Self::elapsed(start)));
        result
    }
}

fn close(stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Both);
}

/// Reads from `stream` until its data matches `regex`, it closes, or `end` passes.
fn read_until_match(
    stream: &TcpStream,
    regex: &fancy_regex::Regex,
    end: Instant,
) -> Option<Matched> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 1024];
    let mut reader = stream;
    while Instant::now() < end {
        let remaining = end.saturating_duration_since(Instant::now());
        let _ = stream.set_read_timeout(Some(remaining.max(Duration::from_millis(1))));
        match reader.read(&mut buffer) {
            Ok(0) => return None,
            Ok(read) => {
                data.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&data);
                if let Ok(true) = regex.is_match(text.as_ref()) {
                    // Python records no groups for a port's data.
                    return Some(Matched::default());
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => {}
        }
    }
    None
}

/// Finds the first match of `regex` in `text`, with its groups as `re.Match.groups()`
/// and `groupdict()` give them.
fn search(regex: &fancy_regex::Regex, text: &str) -> Option<Matched> {
    let captures = regex.captures(text).ok().flatten()?;
    let mut matched = Matched::default();
    for index in 1..captures.len() {
        matched.groups.push(
            captures
                .get(index)
                .map(|group| Value::from(group.as_str()))
                .unwrap_or_default(),
        );
    }
    for name in regex.capture_names().flatten() {
        matched.named.insert(
            Value::from(name),
            captures
                .name(name)
                .map(|group| Value::from(group.as_str()))
                .unwrap_or_default(),
        );
    }
    Some(matched)
}

/// Returns the addresses of `host` as `/proc/net/tcp{,6}` writes them, each 32-bit
/// word in the machine's byte order, tagged 4 or 6. An IPv4 address comes also in its
/// IPv4-mapped IPv6 form.
fn host_hex(host: &str) -> Vec<(u8, String)> {
    let Ok(addresses) = (host, 80).to_socket_addrs() else {
        return Vec::new();
    };
    let mut hexes = Vec::new();
    for address in addresses {
        match address.ip() {
            std::net::IpAddr::V4(ip) => {
                hexes.push((4, words_hex(&ip.octets())));
                hexes.push((6, words_hex(&ip.to_ipv6_mapped().octets())));
            }
            std::net::IpAddr::V6(ip) => hexes.push((6, words_hex(&ip.octets()))),
        }
    }
    hexes
}

fn words_hex(octets: &[u8]) -> String {
    octets
        .chunks(4)
        .map(|word| {
            // Python's `socket.ntohl` of the word read in network order.
            let network = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
            format!("{:08X}", u32::from_be(network))
        })
        .collect()
}

/// Connections in `/proc/net/tcp{,6}` on the port, in an active state, from a host not
/// excluded, whose local address is the host's (or the host is the any-address).
fn active_connections(
    port: &str,
    hosts: &[(u8, String)],
    excluded: &[(u8, String)],
    states: &[&str],
) -> usize {
    let mut count = 0;
    for (family, file, any) in [
        (4u8, "/proc/net/tcp", "00000000"),
        (6u8, "/proc/net/tcp6", "00000000000000000000000000000000"),
    ] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 4 || !states.contains(&fields[3]) {
                continue;
            }
            let Some((local_ip, local_port)) = fields[1].split_once(':') else {
                continue;
            };
            if local_port != port {
                continue;
            }
            let remote_ip = fields[2].split_once(':').map_or("", |(ip, _)| ip);
            if excluded
                .iter()
                .any(|(f, ip)| *f == family && ip == remote_ip)
            {
                continue;
            }
            let has = |ip: &str| hosts.iter().any(|(f, known)| *f == family && known == ip);
            let mapped_any = family == 6
                && local_ip.starts_with("0000000000000000FFFF0000")
                && has("0000000000000000FFFF000000000000");
            if has(local_ip) || has(any) || mapped_any {
                count += 1;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_tcp_addresses() {
        let hexes = host_hex("127.0.0.1");
        assert_eq!(hexes[0], (4, "0100007F".to_string()));
        assert_eq!(
            hexes[1],
            (6, "0000000000000000FFFF00000100007F".to_string())
        );
    }

    #[test]
    fn search_groups_like_python() {
        let regex = crate::pyregex::compile(r"completed (?P<foo>\w+) ([0-9]+)", true).unwrap();
        let matched = search(&regex, "x\ncompleted data 123\n").unwrap();
        assert_eq!(
            matched.groups,
            vec![Value::from("data"), Value::from("123")]
        );
        assert_eq!(matched.named.get("foo"), Some(&Value::from("data")));
    }

    #[test]
    fn both_port_and_path_rejected() {
        let mut args = Map::new();
        args.insert(Value::from("port"), Value::Int(1));
        args.insert(Value::from("path"), Value::from("/x"));
        let params = SPEC.validate(&args).unwrap();
        let result = run(&params, &ModuleOptions::default());
        assert_eq!(
            result.get("msg"),
            Some(&Value::from(
                "port and path parameter can not both be passed to wait_for"
            ))
        );
        assert_eq!(result.get("elapsed"), Some(&Value::Int(0)));
    }

    #[test]
    fn closed_port_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut args = Map::new();
        args.insert(Value::from("port"), Value::Int(i64::from(port)));
        args.insert(Value::from("timeout"), Value::Int(1));
        let params = SPEC.validate(&args).unwrap();
        let result = run(&params, &ModuleOptions::default());
        assert_eq!(
            result.get("msg"),
            Some(&Value::from(format!(
                "Timeout when waiting for 127.0.0.1:{port}"
            )))
        );
        assert_eq!(result.get("elapsed"), Some(&Value::Int(1)));
    }

    #[test]
    fn file_with_regex_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "state: ready 7\n").unwrap();
        let mut args = Map::new();
        args.insert(Value::from("path"), Value::from(path.display().to_string()));
        args.insert(Value::from("search_regex"), Value::from(r"ready (\d)"));
        let params = SPEC.validate(&args).unwrap();
        let result = run(&params, &ModuleOptions::default());
        assert_eq!(
            result.get("match_groups"),
            Some(&Value::list(vec![Value::from("7")]))
        );
        assert_eq!(result.get("elapsed"), Some(&Value::Int(0)));
    }
}
