//! HTTP(S) requests for `get_url` and `uri`, after ansible-core 2.18's `fetch_url`
//! (`module_utils/urls.py`) on the lab's Python 3.11. The requests on the wire, the
//! `info` mapping (status, lower-cased headers, cookies, `msg`), the redirect rules,
//! basic, digest and netrc authentication, proxies from the environment and the texts
//! for failures are Python's, so results and messages match.

mod auth;
mod cookies;
mod failure;
pub mod multipart;
mod opener;
pub mod pyurl;
mod resolver;
mod tls;
mod wire;

use std::io::Read;
use std::time::{Duration, SystemTime};

pub use failure::os_error_text;
use opener::Failure;

use crate::spec::{Default, Elements, Kind, OptionSpec, Params};
use crate::{Map, Value};

/// Options of ansible-core's `url_argument_spec`, in its order. Modules change the
/// aliases of `url_username` and `url_password`, so those two are left to them.
pub const URL_OPTIONS: [OptionSpec; 9] = [
    OptionSpec::new("url", Kind::Str),
    OptionSpec::new("force", Kind::Bool).default(Default::Bool(false)),
    OptionSpec::new("http_agent", Kind::Str).default(Default::Str("ansible-httpget")),
    OptionSpec::new("use_proxy", Kind::Bool).default(Default::Bool(true)),
    OptionSpec::new("validate_certs", Kind::Bool).default(Default::Bool(true)),
    OptionSpec::new("force_basic_auth", Kind::Bool).default(Default::Bool(false)),
    OptionSpec::new("client_cert", Kind::Path),
    OptionSpec::new("client_key", Kind::Path),
    OptionSpec::new("use_gssapi", Kind::Bool).default(Default::Bool(false)),
];

/// `unredirected_headers`, `decompress`, `ciphers` and `use_netrc`, which both modules add.
pub const REQUEST_OPTIONS: [OptionSpec; 4] = [
    OptionSpec::new("unredirected_headers", Kind::List(Elements::Str)).default(Default::EmptyList),
    OptionSpec::new("decompress", Kind::Bool).default(Default::Bool(true)),
    OptionSpec::new("ciphers", Kind::List(Elements::Str)),
    OptionSpec::new("use_netrc", Kind::Bool).default(Default::Bool(true)),
];

/// The redirects a request follows (`follow_redirects`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// Python's own rules (`urllib2`, and get_url, which has no such option).
    Urllib,
    /// Any redirect, for any method (`all`, `yes`).
    All,
    /// Redirects of GET and HEAD only (`safe`).
    Safe,
    /// No redirect: a 3xx status is the response (`none`, `no`).
    Never,
}

impl Redirects {
    pub fn from_option(value: Option<&str>) -> Redirects {
        match value {
            Some("all" | "yes") => Redirects::All,
            Some("safe") => Redirects::Safe,
            Some("none" | "no") => Redirects::Never,
            _ => Redirects::Urllib,
        }
    }
}

/// The connection and authentication settings of requests, from the module's
/// parameters and the task's environment.
#[derive(Debug, Clone)]
pub struct Client {
    pub validate_certs: bool,
    pub use_proxy: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    pub force_basic_auth: bool,
    pub http_agent: Option<String>,
    pub redirects: Redirects,
    pub ca_path: Option<String>,
    /// A PEM client certificate chain, which may hold the private key too.
    pub client_cert: Option<String>,
    /// The PEM private key of `client_cert`, when it is in a file of its own.
    pub client_key: Option<String>,
    pub unredirected_headers: Vec<String>,
    pub decompress: bool,
    pub use_netrc: bool,
    /// A Unix socket that every connection goes to instead of the URL's host.
    pub unix_socket: Option<String>,
    /// The task's `environment`, which takes precedence over the agent's own.
    pub environment: Vec<(String, String)>,
}

impl Client {
    pub fn from_params(params: &Params, environment: &[(String, String)]) -> Client {
        Client {
            validate_certs: params.get("validate_certs").is_none_or(|v| v.is_truthy()),
            use_proxy: params.get("use_proxy").is_none_or(|v| v.is_truthy()),
            username: params
                .string("url_username")
                .filter(|name| !name.is_empty()),
            password: params.string("url_password"),
            force_basic_auth: params.flag("force_basic_auth"),
            http_agent: params.string("http_agent"),
            redirects: Redirects::from_option(params.str("follow_redirects")),
            ca_path: params.string("ca_path"),
            client_cert: params.string("client_cert"),
            client_key: params.string("client_key"),
            unredirected_headers: params
                .strings("unredirected_headers")
                .iter()
                .map(|name| name.to_lowercase())
                .collect(),
            decompress: params.get("decompress").is_none_or(|v| v.is_truthy()),
            use_netrc: params.get("use_netrc").is_none_or(|v| v.is_truthy()),
            unix_socket: params.string("unix_socket"),
            environment: environment.to_vec(),
        }
    }
}

/// One request: what `fetch_url` receives besides the module.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout: Duration,
    /// Sends `Cache-Control: no-cache`.
    pub force: bool,
    /// Sends `If-Modified-Since` with this time, unless `force`.
    pub modified_since: Option<SystemTime>,
}

/// The outcome of a request that got a response or failed in a way `fetch_url`
/// reports in `info` (status -1) instead of failing the module.
pub struct Fetched {
    /// `fetch_url`'s `info`: `url`, `status`, the headers, `cookies`, `msg`, and `body`
    /// for an HTTP error.
    pub info: Map,
    /// The body of a 2xx response, still to be read.
    pub body: Option<Box<dyn Read + Send>>,
    /// Whether the response came with headers (Python's `r.fp` is not None).
    pub has_response: bool,
}

impl Fetched {
    /// Returns the outcome of a request that got no response, with `info` telling why.
    fn failed(info: Map) -> Fetched {
        Fetched {
            info,
            body: None,
            has_response: false,
        }
    }

    pub fn status(&self) -> i64 {
        self.info
            .get("status")
            .and_then(Value::as_i64)
            .unwrap_or(-1)
    }

    pub fn msg(&self) -> String {
        self.info
            .get("msg")
            .map(crate::pyrepr::str)
            .unwrap_or_default()
    }

    /// Returns the final URL, after redirects.
    pub fn url(&self) -> String {
        self.info
            .get("url")
            .map(crate::pyrepr::str)
            .unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.info
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

/// Sends `request` as `fetch_url` does. `Err` is the result of a failure for which
/// `fetch_url` itself fails the module (a `ValueError`, such as an invalid URL).
pub fn fetch(client: &Client, request: &Request) -> Result<Fetched, Map> {
    let mut info = Map::new();
    info.insert(Value::from("url"), Value::from(request.url.as_str()));
    info.insert(Value::from("status"), Value::Int(-1));
    let module_failure = |info: Map, message: String| {
        let mut result = crate::dispatch::failed(message);
        result.extend(info);
        result
    };
    if let Some(path) = request.url.strip_prefix("file://") {
        return Ok(open_file(info, path));
    }
    let configured = match configure_auth(client, request) {
        Ok(configured) => configured,
        Err(AuthFailure::Invalid(message)) => return Err(module_failure(info, message)),
        Err(AuthFailure::Netrc(message)) => {
            info.insert(
                Value::from("msg"),
                Value::from(format!("An unknown error occurred: {message}")),
            );
            return Ok(Fetched::failed(info));
        }
    };
    let tls = match tls::tls_config(client) {
        Ok(tls) => tls,
        Err(text) => {
            info.insert(
                Value::from("msg"),
                Value::from(format!("Connection failure: {text}")),
            );
            return Ok(Fetched::failed(info));
        }
    };
    let mut url_request = build_request(client, request, &configured.url, &configured.headers);
    let mut opener = opener::Opener::new(client, tls, request.timeout, configured.credentials);
    match opener.open(&mut url_request) {
        Ok((response, final_url)) => {
            Ok(success(client, info, response, &final_url, &opener.cookies))
        }
        Err(Failure::Http(failure)) => Ok(http_error(info, *failure)),
        Err(Failure::Url(text)) => {
            info.insert(
                Value::from("msg"),
                Value::from(format!("Request failed: <urlopen error {text}>")),
            );
            Ok(Fetched::failed(info))
        }
        Err(Failure::Socket(text)) => {
            info.insert(
                Value::from("msg"),
                Value::from(format!("Connection failure: {text}")),
            );
            Ok(Fetched::failed(info))
        }
        Err(Failure::Module(text)) => Err(module_failure(info, text)),
    }
}

enum AuthFailure {
    /// A `ValueError`, which fails the module.
    Invalid(String),
    /// A netrc file Python cannot parse: `fetch_url` reports an unknown error.
    Netrc(String),
}

/// Takes the credentials as ansible-core's `_configure_auth`: the task's user, else the
/// URL's (which are then removed from it). With `force_basic_auth`, or from the
/// netrc file when there is no user, they become an `Authorization` header that
/// overrides the task's own. Otherwise they are the response to a 401 challenge.
fn configure_auth(client: &Client, request: &Request) -> Result<Configured, AuthFailure> {
    let parsed = pyurl::urlparse(&request.url, "").map_err(AuthFailure::Invalid)?;
    let mut url = request.url.clone();
    let mut username = client.username.clone();
    let mut password = client.password.clone();
    let mut netloc = parsed.netloc.clone();
    if username.is_none() {
        if let Some((credentials, host)) = parsed.netloc.split_once('@') {
            let (user, secret) = credentials.split_once(':').unwrap_or((credentials, ""));
            username = Some(pyurl::unquote(user));
            password = Some(pyurl::unquote(secret));
            netloc = host.to_string();
            url = pyurl::urlunparse(&pyurl::ParsedUrl {
                netloc: netloc.clone(),
                ..parsed.clone()
            });
        }
    }
    let mut headers = request.headers.clone();
    let mut set_authorization =
        |value: String| match headers.iter_mut().find(|(name, _)| name == "Authorization") {
            Some((_, known)) => *known = value,
            None => headers.push(("Authorization".to_string(), value)),
        };
    let mut credentials = None;
    match username.filter(|user| !user.is_empty()) {
        Some(user) if client.force_basic_auth => {
            set_authorization(auth::basic_auth(
                &user,
                password.as_deref().unwrap_or_default(),
            ));
        }
        Some(user) => {
            credentials = Some(auth::Credentials {
                user,
                password: password.unwrap_or_default(),
                netloc,
            });
        }
        None if client.use_netrc => {
            let host = pyurl::hostname(&parsed.netloc).unwrap_or_default();
            let login = auth::netrc_login(&host, &client.environment)
                .map_err(|error| AuthFailure::Netrc(error.0))?;
            if let Some((login, secret)) = login {
                set_authorization(auth::basic_auth(&login, &secret));
            }
        }
        None => {}
    }
    Ok(Configured {
        url,
        headers,
        credentials,
    })
}

/// The request after `_configure_auth`.
struct Configured {
    /// The URL without the credentials it held.
    url: String,
    headers: Vec<(String, String)>,
    /// The credentials for a 401 challenge.
    credentials: Option<auth::Credentials>,
}

/// Builds urllib's `Request` as `Request.open` does: `User-agent`, the cache headers,
/// then the task's headers, each either redirected or not.
fn build_request(
    client: &Client,
    request: &Request,
    url: &str,
    headers: &[(String, String)],
) -> opener::UrlRequest {
    let mut url_request =
        opener::UrlRequest::new(url, &request.method.to_uppercase(), request.body.clone());
    if let Some(agent) = client
        .http_agent
        .as_deref()
        .filter(|agent| !agent.is_empty())
    {
        url_request.headers.add("User-agent", agent);
    }
    if request.force {
        url_request.headers.add("cache-control", "no-cache");
    } else if let Some(time) = request.modified_since {
        url_request
            .headers
            .add("If-Modified-Since", &http_date(time));
    }
    for (name, value) in headers {
        if client.unredirected_headers.contains(&name.to_lowercase()) {
            url_request.unredirected.add(name, value);
        } else {
            url_request.headers.add(name, value);
        }
    }
    url_request
}

/// Opens a `file://` URL as urllib's `FileHandler` does: `status` is None, and a
/// missing file is a `URLError`.
fn open_file(mut info: Map, path: &str) -> Fetched {
    let path = pyurl::unquote(path.split(['?', '#']).next().unwrap_or_default());
    let opened = std::fs::File::open(&path).and_then(|file| Ok((file.metadata()?, file)));
    match opened {
        Ok((meta, file)) => {
            info.insert(
                Value::from("content-length"),
                Value::from(meta.len().to_string()),
            );
            if let Ok(modified) = meta.modified() {
                info.insert(
                    Value::from("last-modified"),
                    Value::from(http_date(modified)),
                );
            }
            info.insert(Value::from("cookies_string"), Value::from(""));
            info.insert(Value::from("cookies"), Value::empty_map());
            info.insert(
                Value::from("msg"),
                Value::from(format!("OK ({} bytes)", meta.len())),
            );
            info.insert(Value::from("status"), Value::Null);
            Fetched {
                info,
                body: Some(Box::new(file)),
                has_response: true,
            }
        }
        Err(err) => {
            let text = format!("{}: '{path}'", os_error_text(&err));
            info.insert(
                Value::from("msg"),
                Value::from(format!("Request failed: <urlopen error {text}>")),
            );
            Fetched {
                info,
                body: None,
                has_response: false,
            }
        }
    }
}

/// `Thu, 01 Jan 2026 00:00:00 GMT`, as ansible-core's `rfc2822_date_string` writes it.
pub fn http_date(time: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default();
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = crate::time::civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = DAYS[(days + 3).rem_euclid(7) as usize];
    format!(
        "{weekday}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        MONTHS[(month - 1) as usize],
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// Returns the proxy for a request to `host` (with its port, if any) from
/// `<scheme>_proxy` (lower case wins over upper case) unless `no_proxy` matches the
/// host, as Python's `getproxies_environment` and `proxy_bypass_environment` decide.
pub fn proxy_for(scheme: &str, host: &str, environment: &[(String, String)]) -> Option<String> {
    let lookup = |name: &str| -> Option<String> {
        let lower = name.to_lowercase();
        let upper = name.to_uppercase();
        let from_task = |wanted: &str| {
            environment
                .iter()
                .rev()
                .find(|(key, _)| key == wanted)
                .map(|(_, value)| value.clone())
        };
        from_task(&lower)
            .or_else(|| std::env::var(&lower).ok())
            .or_else(|| from_task(&upper))
            .or_else(|| std::env::var(&upper).ok())
            .filter(|value| !value.is_empty())
    };
    let proxy = lookup(&format!("{scheme}_proxy"))?;
    let host_port = host.to_lowercase();
    let (host_only, _) = pyurl::split_host_port(&host_port, 0).unwrap_or((host_port.clone(), 0));
    if let Some(no_proxy) = lookup("no_proxy") {
        if bypasses_proxy(&no_proxy, &host_only, &host_port) {
            return None;
        }
    }
    Some(proxy)
}

fn bypasses_proxy(no_proxy: &str, host: &str, host_port: &str) -> bool {
    if no_proxy.trim() == "*" {
        return true;
    }
    no_proxy
        .split(',')
        .map(|name| name.trim().trim_start_matches('.'))
        .filter(|name| !name.is_empty())
        .any(|name| {
            let matches = |candidate: &str| {
                let candidate = candidate.to_lowercase();
                let name = name.to_lowercase();
                candidate == name || candidate.ends_with(&format!(".{name}"))
            };
            matches(host) || matches(host_port)
        })
}

/// `fetch_url`'s `info` after an `HTTPError`: the response's headers (the last of a
/// repeated one), `msg`, `body` and `status`. An error raised without a response
/// has an empty text as its body.
fn http_error(mut info: Map, failure: opener::HttpFailure) -> Fetched {
    for (name, value) in &failure.headers {
        info.insert(
            Value::from(name.to_lowercase()),
            Value::from(value.as_str()),
        );
    }
    info.insert(Value::from("msg"), Value::from(failure.message));
    let has_response = failure.response.is_some();
    let body = failure
        .response
        .map(|response| response.read_all())
        .unwrap_or_default();
    info.insert(
        Value::from("body"),
        Value::from(String::from_utf8_lossy(&body).into_owned()),
    );
    info.insert(Value::from("status"), Value::Int(i64::from(failure.status)));
    Fetched {
        info,
        body: None,
        has_response,
    }
}

/// Turns a successful response into `Fetched`: the headers (a repeated one joined with
/// `, `), the cookies, `msg`, the final URL and the status, with the body to read.
fn success(
    client: &Client,
    mut info: Map,
    response: wire::Response,
    url: &str,
    cookies: &cookies::CookieJar,
) -> Fetched {
    let mut joined: Vec<(String, String)> = Vec::new();
    for (name, value) in &response.headers {
        let name = name.to_lowercase();
        match joined.iter_mut().find(|(known, _)| *known == name) {
            Some((_, known)) => {
                known.push_str(", ");
                known.push_str(value);
            }
            None => joined.push((name, value.clone())),
        }
    }
    for (name, value) in joined {
        info.insert(Value::from(name), Value::from(value));
    }

    info.insert(Value::from("cookies_string"), Value::from(cookies.text()));
    info.insert(Value::from("cookies"), Value::map(cookies.map()));
    let length = response
        .header("content-length")
        .unwrap_or("unknown")
        .to_string();
    info.insert(
        Value::from("msg"),
        Value::from(format!("OK ({length} bytes)")),
    );
    info.insert(Value::from("url"), Value::from(url));
    info.insert(
        Value::from("status"),
        Value::Int(i64::from(response.status)),
    );

    let gzipped = response
        .header("content-encoding")
        .is_some_and(|encoding| encoding.eq_ignore_ascii_case("gzip"));
    let reader: Box<dyn Read + Send> = Box::new(response.body);
    let body: Box<dyn Read + Send> = if client.decompress && gzipped {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        reader
    };
    Fetched {
        info,
        body: Some(body),
        has_response: true,
    }
}

/// Seconds since `start`, whole, as the modules report `elapsed`.
pub fn elapsed_seconds(start: std::time::Instant) -> i64 {
    start.elapsed().as_secs() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_rfc2822() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        assert_eq!(http_date(time), "Thu, 01 Jan 2026 00:00:00 GMT");
        assert_eq!(
            http_date(SystemTime::UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    #[test]
    fn no_proxy_matches_suffixes() {
        assert!(bypasses_proxy("*", "example.com", "example.com:80"));
        assert!(bypasses_proxy(
            "localhost, .example.com",
            "dl.example.com",
            "dl.example.com"
        ));
        assert!(bypasses_proxy("10.0.0.1:8080", "10.0.0.1", "10.0.0.1:8080"));
        assert!(!bypasses_proxy(
            "example.com",
            "badexample.com",
            "badexample.com"
        ));
        assert!(!bypasses_proxy("", "example.com", "example.com"));
    }

    #[test]
    fn proxy_from_task_environment() {
        let environment = vec![
            ("http_proxy".to_string(), "http://proxy:3128".to_string()),
            ("no_proxy".to_string(), "localhost".to_string()),
        ];
        assert_eq!(
            proxy_for("http", "dl.example.com", &environment).as_deref(),
            Some("http://proxy:3128")
        );
        let environment = vec![
            ("http_proxy".to_string(), "http://proxy:3128".to_string()),
            ("no_proxy".to_string(), "example.com".to_string()),
        ];
        assert_eq!(proxy_for("http", "dl.example.com:8080", &environment), None);
    }

    #[test]
    fn os_errors_use_glibc_texts() {
        let refused = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(os_error_text(&refused), "[Errno 111] Connection refused");
        let timed_out = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(os_error_text(&timed_out), "timed out");
    }
}
