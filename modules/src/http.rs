//! HTTP(S) requests for `get_url` and `uri`, after ansible-core 2.18's `fetch_url`
//! (`module_utils/urls.py`): the same `info` mapping (status, lower-cased headers,
//! cookies, `msg`), the same redirect rules, basic authentication, proxies from the
//! environment, and Python's texts for failures, so results and messages match.

use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;

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
/// `fetch_url` itself fails the module (an invalid URL).
pub fn fetch(client: &Client, request: &Request) -> Result<Fetched, Map> {
    let mut info = Map::new();
    info.insert(Value::from("url"), Value::from(request.url.as_str()));
    info.insert(Value::from("status"), Value::Int(-1));
    if let Some(path) = request.url.strip_prefix("file://") {
        return Ok(open_file(info, path));
    }
    let prepared = match prepare(client, request) {
        Ok(prepared) => prepared,
        Err(PrepareError::Invalid(message)) => {
            let mut result = crate::dispatch::failed(message);
            result.extend(info);
            return Err(result);
        }
        Err(PrepareError::Unsupported(message)) => {
            info.insert(
                Value::from("msg"),
                Value::from(format!("Request failed: <urlopen error {message}>")),
            );
            return Ok(Fetched {
                info,
                body: None,
                has_response: false,
            });
        }
    };
    Ok(send(client, request, prepared, info))
}

/// Opens a `file://` URL as urllib's `FileHandler` does: `status` is None, and a
/// missing file is a `URLError`.
fn open_file(mut info: Map, path: &str) -> Fetched {
    let path = percent_decode(path.split(['?', '#']).next().unwrap_or_default());
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

enum PrepareError {
    /// Python raises `ValueError`, and `fetch_url` fails the module with its text.
    Invalid(String),
    /// urllib has no handler for the scheme.
    Unsupported(String),
}

/// The URL without credentials and the request headers, as `Request.open` builds them.
struct Prepared {
    url: url::Url,
    headers: Vec<(String, String)>,
    /// The credentials for a basic challenge, when not sent up front.
    challenge_credentials: Option<(String, String)>,
}

fn prepare(client: &Client, request: &Request) -> Result<Prepared, PrepareError> {
    let mut url = url::Url::parse(&request.url)
        .map_err(|_| PrepareError::Invalid(format!("unknown url type: '{}'", request.url)))?;
    match url.scheme() {
        "http" | "https" => {}
        // NOTE: ftp:// URLs, which urllib opens too, are not supported.
        other => {
            return Err(PrepareError::Unsupported(format!(
                "unknown url type: {other}"
            )))
        }
    }
    let mut username = client.username.clone();
    let mut password = client.password.clone();
    if username.is_none() && !url.username().is_empty() {
        username = Some(percent_decode(url.username()));
        password = Some(percent_decode(url.password().unwrap_or_default()));
    }
    let _ = url.set_username("");
    let _ = url.set_password(None);

    let mut headers = Vec::new();
    if let Some(agent) = client
        .http_agent
        .as_deref()
        .filter(|agent| !agent.is_empty())
    {
        headers.push(("User-Agent".to_string(), agent.to_string()));
    }
    if request.force {
        headers.push(("Cache-Control".to_string(), "no-cache".to_string()));
    } else if let Some(time) = request.modified_since {
        headers.push(("If-Modified-Since".to_string(), http_date(time)));
    }
    let mut challenge_credentials = None;
    match username {
        Some(user) if client.force_basic_auth => {
            let password = password.unwrap_or_default();
            headers.push(("Authorization".to_string(), basic_auth(&user, &password)));
        }
        Some(user) => challenge_credentials = Some((user, password.unwrap_or_default())),
        None if client.use_netrc => {
            if let Some((login, secret)) = netrc_login(url.host_str().unwrap_or_default()) {
                headers.push(("Authorization".to_string(), basic_auth(&login, &secret)));
            }
        }
        None => {}
    }
    for (name, value) in &request.headers {
        headers.retain(|(known, _)| !known.eq_ignore_ascii_case(name));
        headers.push((name.clone(), value.clone()));
    }
    // urllib labels any request body that has no type as a form.
    let typed = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
    if request.body.is_some() && !typed {
        headers.push((
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ));
    }
    Ok(Prepared {
        url,
        headers,
        challenge_credentials,
    })
}

fn basic_auth(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok());
        if bytes[i] == b'%' {
            if let Some(byte) = hex.and_then(|pair| u8::from_str_radix(pair, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Returns the login and password `~/.netrc` (or `$NETRC`) has for `host`, or its default.
fn netrc_login(host: &str) -> Option<(String, String)> {
    let path = std::env::var("NETRC").ok().or_else(|| {
        std::env::var("HOME")
            .ok()
            .map(|home| format!("{home}/.netrc"))
    })?;
    let text = std::fs::read_to_string(path).ok()?;
    parse_netrc(&text, host)
}

fn parse_netrc(text: &str, host: &str) -> Option<(String, String)> {
    let mut tokens = text.split_whitespace();
    let mut found: Option<(String, String)> = None;
    let mut default: Option<(String, String)> = None;
    let mut current: Option<bool> = None;
    let mut entry = (String::new(), String::new());
    let finish = |current: Option<bool>,
                  entry: &mut (String, String),
                  found: &mut Option<(String, String)>,
                  default: &mut Option<(String, String)>| {
        let taken = std::mem::take(entry);
        match current {
            Some(true) if found.is_none() => *found = Some(taken),
            Some(false) if default.is_none() => *default = Some(taken),
            _ => {}
        }
    };
    while let Some(token) = tokens.next() {
        match token {
            "machine" => {
                finish(current, &mut entry, &mut found, &mut default);
                current = Some(tokens.next() == Some(host));
                if current == Some(false) {
                    current = None;
                }
            }
            "default" => {
                finish(current, &mut entry, &mut found, &mut default);
                current = Some(false);
            }
            "login" => entry.0 = tokens.next().unwrap_or_default().to_string(),
            "password" => entry.1 = tokens.next().unwrap_or_default().to_string(),
            "account" | "macdef" => {
                tokens.next();
            }
            _ => {}
        }
    }
    finish(current, &mut entry, &mut found, &mut default);
    found
        .or(default)
        .filter(|(login, secret)| !login.is_empty() && !secret.is_empty())
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

/// Python's `urllib` follows at most 10 redirects.
const MAX_REDIRECTS: usize = 10;

/// A 3xx response with a `Location`: its status, reason and the absolute target.
struct Redirect {
    status: u16,
    reason: String,
    location: String,
}

fn send(client: &Client, request: &Request, prepared: Prepared, mut info: Map) -> Fetched {
    let Prepared {
        mut url,
        mut headers,
        challenge_credentials,
    } = prepared;
    let mut method = request.method.to_uppercase();
    let mut body = request.body.clone();
    let mut cookies = CookieJar::default();
    let mut challenged = false;
    let mut redirects = 0;
    loop {
        if let Some(cookie) = cookies.header() {
            headers.retain(|(name, _)| !name.eq_ignore_ascii_case("cookie"));
            headers.push(("Cookie".to_string(), cookie));
        }
        let response = match exchange(client, request, &url, &method, &headers, body.as_deref()) {
            Ok(response) => response,
            Err(failure) => {
                info.insert(Value::from("msg"), Value::from(failure));
                return Fetched {
                    info,
                    body: None,
                    has_response: false,
                };
            }
        };
        let status = response.status();
        cookies.store(&response);
        if status == 401 && !challenged {
            if let Some((user, password)) = &challenge_credentials {
                if asks_basic(&response) {
                    challenged = true;
                    headers.push(("Authorization".to_string(), basic_auth(user, password)));
                    continue;
                }
            }
        }
        if let Some(redirect) = redirect_of(&url, &response) {
            match follow(client.redirects, &method, &redirect, redirects) {
                Follow::Go(target) => {
                    redirects += 1;
                    if !matches!(redirect.status, 307 | 308) {
                        body = None;
                        headers.retain(|(name, _)| !is_content_header(name));
                        if method != "HEAD" && (redirect.status != 301 || method == "POST") {
                            method = "GET".to_string();
                        }
                    }
                    headers.retain(|(name, _)| {
                        !client
                            .unredirected_headers
                            .contains(&name.to_ascii_lowercase())
                    });
                    url = target;
                    continue;
                }
                Follow::Refuse(message) => {
                    let headers = response_headers(&response);
                    let mut content = Vec::new();
                    let _ = response.into_reader().read_to_end(&mut content);
                    return http_error(info, status, &message, &headers, content);
                }
                Follow::Stop => {}
            }
        }
        return finish(client, info, response, &url, &cookies);
    }
}

enum Follow {
    Go(url::Url),
    /// Not followed: the 3xx response is the HTTP error.
    Stop,
    /// Not followed, with urllib's own message for the HTTP error.
    Refuse(String),
}

/// Decides as ansible-core's `HTTPRedirectHandler.redirect_request` (and urllib's own
/// for `urllib2`) whether a redirect is followed.
fn follow(policy: Redirects, method: &str, redirect: &Redirect, done: usize) -> Follow {
    let allowed = match policy {
        Redirects::Never => false,
        Redirects::All => true,
        Redirects::Safe => matches!(method, "GET" | "HEAD"),
        Redirects::Urllib => {
            matches!(method, "GET" | "HEAD")
                || ((301..=303).contains(&redirect.status) && method == "POST")
        }
    };
    if !allowed {
        return Follow::Stop;
    }
    if done >= MAX_REDIRECTS {
        return Follow::Refuse(format!(
            "HTTP Error {}: The HTTP server returned a redirect error that would lead to an infinite loop.\nThe last 30x error message was:\n{}",
            redirect.status, redirect.reason
        ));
    }
    match url::Url::parse(&redirect.location.replace(' ', "%20")) {
        Ok(target) if matches!(target.scheme(), "http" | "https") => Follow::Go(target),
        _ => Follow::Refuse(format!(
            "HTTP Error {}: Redirection to url '{}' is not allowed",
            redirect.status, redirect.location
        )),
    }
}

fn is_content_header(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "content-length" | "content-type" | "transfer-encoding"
    )
}

fn redirect_of(base: &url::Url, response: &ureq::Response) -> Option<Redirect> {
    if !matches!(response.status(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response
        .header("location")
        .or_else(|| response.header("uri"))?;
    let target = base.join(location).ok()?;
    Some(Redirect {
        status: response.status(),
        reason: response.status_text().to_string(),
        location: target.to_string(),
    })
}

fn asks_basic(response: &ureq::Response) -> bool {
    response
        .all("www-authenticate")
        .iter()
        .any(|value| value.trim_start().to_ascii_lowercase().starts_with("basic"))
}

/// Sends one request and returns the response whatever its status, or Python's message
/// for a failure without one.
fn exchange(
    client: &Client,
    request: &Request,
    url: &url::Url,
    method: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
) -> Result<ureq::Response, String> {
    let agent = build_agent(client, url, request.timeout)?;
    let mut call = agent.request_url(method, url);
    for (name, value) in headers {
        call = call.set(name, value);
    }
    let sent = match body {
        Some(bytes) => call.send_bytes(bytes),
        None => call.call(),
    };
    match sent {
        Ok(response) => Ok(response),
        Err(ureq::Error::Status(_, response)) => Ok(response),
        Err(ureq::Error::Transport(transport)) => Err(transport_message(&transport)),
    }
}

fn build_agent(client: &Client, url: &url::Url, timeout: Duration) -> Result<ureq::Agent, String> {
    let mut builder = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout_connect(timeout)
        .timeout_read(timeout)
        .timeout_write(timeout)
        .resolver(PythonResolver)
        .user_agent("");
    if url.scheme() == "https" {
        builder = builder.tls_config(tls_config(client)?);
    }
    if client.use_proxy {
        if let Some(proxy) = proxy_for(url, &client.environment) {
            let proxy = ureq::Proxy::new(&proxy)
                .map_err(|err| format!("Request failed: <urlopen error {err}>"))?;
            builder = builder.proxy(proxy);
        }
    }
    Ok(builder.build())
}

/// Builds the TLS settings: the system's CA certificates (or `ca_path`), or no verification
/// for `validate_certs: false`.
fn tls_config(client: &Client) -> Result<Arc<rustls::ClientConfig>, String> {
    // ring is the provider that builds for the static musl agent; rustls 0.23.48
    // deprecates its defaults only because they lack post-quantum key exchange.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("Request failed: <urlopen error {err}>"))?;
    let config = if client.validate_certs {
        let mut roots = rustls::RootCertStore::empty();
        let trusted = match &client.ca_path {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|err| {
                    format!("Request failed: <urlopen error {}>", os_error_text(&err))
                })?;
                rustls_pem_certificates(&pem)
            }
            None => rustls_native_certs::load_native_certs().certs,
        };
        for cert in &trusted {
            let _ = roots.add(cert.clone());
        }
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|err| format!("Request failed: <urlopen error {err}>"))?;
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(TrustedLeafVerifier { webpki, trusted }));
        match client_identity(client)? {
            Some((certs, key)) => builder.with_client_auth_cert(certs, key),
            None => Ok(builder.with_no_client_auth()),
        }
    } else {
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)));
        match client_identity(client)? {
            Some((certs, key)) => builder.with_client_auth_cert(certs, key),
            None => Ok(builder.with_no_client_auth()),
        }
    };
    let config = config.map_err(|err| format!("Request failed: <urlopen error {err}>"))?;
    Ok(Arc::new(config))
}

type ClientIdentity = (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
);

/// Reads `client_cert` and its key (from `client_key`, else from the certificate's
/// file), as Python's `load_cert_chain` does. A file that cannot be read fails as
/// Python's `OSError` does in `fetch_url`.
fn client_identity(client: &Client) -> Result<Option<ClientIdentity>, String> {
    use rustls::pki_types::pem::PemObject;
    let Some(cert_path) = &client.client_cert else {
        return Ok(None);
    };
    let read = |path: &str| {
        std::fs::read(path)
            .map_err(|err| format!("Connection failure: {}", crate::files::os_error(&err)))
    };
    let cert_pem = read(cert_path)?;
    let key_pem = match &client.client_key {
        Some(key_path) => read(key_path)?,
        None => cert_pem.clone(),
    };
    let certs: Vec<_> = rustls::pki_types::CertificateDer::pem_slice_iter(&cert_pem)
        .filter_map(Result::ok)
        .collect();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&key_pem);
    match (certs.is_empty(), key) {
        (false, Ok(key)) => Ok(Some((certs, key))),
        // Python 3.11's ssl module on Debian 12, as measured on the lab.
        _ => Err("Connection failure: [SSL] PEM lib (_ssl.c:3874)".to_string()),
    }
}

fn rustls_pem_certificates(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect()
}

/// The usual chain verification, except that a server certificate that is itself one
/// of the trusted certificates is accepted for the names it holds. OpenSSL (and so
/// Python) trusts such a self-signed certificate, while webpki rejects a CA
/// certificate as the server's own.
#[derive(Debug)]
struct TrustedLeafVerifier {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    trusted: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl rustls::client::danger::ServerCertVerifier for TrustedLeafVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let verified = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let Err(rustls::Error::InvalidCertificate(_)) = &verified else {
            return verified;
        };
        if !self
            .trusted
            .iter()
            .any(|cert| cert.as_ref() == end_entity.as_ref())
        {
            return verified;
        }
        // NOTE: the validity period of such a trusted certificate is not checked.
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `validate_certs: false`: any certificate is accepted, as with Python's `CERT_NONE`;
/// signatures are still checked so that the handshake is well-formed.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Returns the proxy for `url` from `<scheme>_proxy` (lower case wins over upper
/// case) unless `no_proxy` matches its host, as Python's `getproxies_environment` and
/// `proxy_bypass_environment` decide.
pub fn proxy_for(url: &url::Url, environment: &[(String, String)]) -> Option<String> {
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
    let proxy = lookup(&format!("{}_proxy", url.scheme()))?;
    let host = url.host_str().unwrap_or_default();
    let host_port = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    if let Some(no_proxy) = lookup("no_proxy") {
        if bypasses_proxy(&no_proxy, host, &host_port) {
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

/// Resolves names with the C library's `getaddrinfo`, so that a failure carries its
/// `EAI_*` code for Python's message.
struct PythonResolver;

impl ureq::Resolver for PythonResolver {
    fn resolve(&self, netloc: &str) -> std::io::Result<Vec<SocketAddr>> {
        if let Ok(addresses) = netloc.parse::<SocketAddr>() {
            return Ok(vec![addresses]);
        }
        let (host, port) = netloc
            .rsplit_once(':')
            .ok_or_else(|| std::io::Error::other("invalid address"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| std::io::Error::other("invalid port"))?;
        resolve_host(host.trim_start_matches('[').trim_end_matches(']'), port)
    }
}

fn resolve_host(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let name = std::ffi::CString::new(host).map_err(std::io::Error::other)?;
    // SAFETY: `hints` is zeroed as getaddrinfo requires for unused fields, `list` is
    // freed with freeaddrinfo once the addresses are copied out.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_socktype = libc::SOCK_STREAM;
        hints.ai_family = libc::AF_UNSPEC;
        let mut list: *mut libc::addrinfo = std::ptr::null_mut();
        let code = libc::getaddrinfo(name.as_ptr(), std::ptr::null(), &hints, &mut list);
        if code != 0 {
            return Err(std::io::Error::other(DnsError(code)));
        }
        let mut addresses = Vec::new();
        let mut node = list;
        while !node.is_null() {
            let entry = &*node;
            match entry.ai_family {
                libc::AF_INET => {
                    let raw = &*(entry.ai_addr as *const libc::sockaddr_in);
                    let ip = std::net::Ipv4Addr::from(u32::from_be(raw.sin_addr.s_addr));
                    addresses.push(SocketAddr::new(ip.into(), port));
                }
                libc::AF_INET6 => {
                    let raw = &*(entry.ai_addr as *const libc::sockaddr_in6);
                    let ip = std::net::Ipv6Addr::from(raw.sin6_addr.s6_addr);
                    addresses.push(SocketAddr::new(ip.into(), port));
                }
                _ => {}
            }
            node = entry.ai_next;
        }
        libc::freeaddrinfo(list);
        if addresses.is_empty() {
            return (host, port).to_socket_addrs().map(Iterator::collect);
        }
        Ok(addresses)
    }
}

/// A `getaddrinfo` failure, shown as Python's `socket.gaierror` with glibc's texts
/// (the agent may be linked with musl, whose texts differ).
#[derive(Debug)]
struct DnsError(i32);

impl std::fmt::Display for DnsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self.0 {
            -2 => "Name or service not known",
            -3 => "Temporary failure in name resolution",
            -4 => "Non-recoverable failure in name resolution",
            -5 => "No address associated with hostname",
            -6 => "ai_family not supported",
            -8 => "Servname not supported for ai_socktype",
            -10 => "Memory allocation failure",
            -11 => "System error",
            _ => "Unknown error",
        };
        write!(f, "[Errno {}] {text}", self.0)
    }
}

impl std::error::Error for DnsError {}

/// Python's message for a request that got no response: `Request failed: <urlopen error
/// ...>` when connecting failed (urllib wraps those in `URLError`), `Connection failure:
/// ...` when the connection broke or timed out while waiting for the response.
fn transport_message(transport: &ureq::Transport) -> String {
    use std::error::Error as _;
    let mut source = transport.source();
    let mut io_error: Option<&std::io::Error> = None;
    while let Some(mut error) = source {
        // An `io::Error` hides the error it wraps from `source()`.
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if inner.is::<DnsError>() || inner.is::<rustls::Error>() {
                error = inner;
            }
        }
        if let Some(dns) = error.downcast_ref::<DnsError>() {
            return format!("Request failed: <urlopen error {dns}>");
        }
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return format!("Request failed: <urlopen error {}>", tls_text(tls));
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            io_error.get_or_insert(io);
        }
        source = error.source();
    }
    let connecting = matches!(
        transport.kind(),
        ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Dns | ureq::ErrorKind::ProxyConnect
    );
    let text = match io_error {
        Some(io) => os_error_text(io),
        None => transport
            .message()
            .map(str::to_string)
            .unwrap_or_else(|| transport.kind().to_string()),
    };
    if connecting {
        format!("Request failed: <urlopen error {text}>")
    } else if matches!(transport.kind(), ureq::ErrorKind::BadStatus)
        || io_error.is_some_and(|io| io.kind() == std::io::ErrorKind::UnexpectedEof)
    {
        "Connection failure: Remote end closed connection without response".to_string()
    } else {
        format!("Connection failure: {text}")
    }
}

/// OpenSSL's wording of a TLS failure, as Python's `ssl` module reports it (Python
/// 3.11 on Debian 12 names `_ssl.c:992`).
///
/// NOTE: the texts follow OpenSSL's for the common failures only; others show rustls's
/// own description.
fn tls_text(error: &rustls::Error) -> String {
    use rustls::CertificateError;
    let reason = match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "unable to get local issuer certificate".to_string()
        }
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if format!("{other:?}").contains("CaUsedAsEndEntity") =>
        {
            "self-signed certificate".to_string()
        }
        rustls::Error::InvalidCertificate(CertificateError::Expired)
        | rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { .. }) => {
            "certificate has expired".to_string()
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected,
            ..
        }) => {
            let (kind, host) = match expected {
                rustls::pki_types::ServerName::DnsName(name) => {
                    ("Hostname", name.as_ref().to_string())
                }
                rustls::pki_types::ServerName::IpAddress(ip) => {
                    ("IP address", std::net::IpAddr::from(*ip).to_string())
                }
                other => ("Hostname", format!("{other:?}")),
            };
            format!("{kind} mismatch, certificate is not valid for '{host}'.")
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => {
            "Hostname mismatch, certificate is not valid for the host.".to_string()
        }
        rustls::Error::InvalidCertificate(other) => format!("{other:?}"),
        rustls::Error::InvalidMessage(_) => {
            return "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:992)".to_string()
        }
        other => return format!("[SSL] {other} (_ssl.c:992)"),
    };
    format!("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {reason} (_ssl.c:992)")
}

/// Formats an OS error as Python does (`[Errno 111] Connection refused`, or `timed out`
/// for a socket timeout). Network errors get glibc's texts, whatever libc the agent
/// uses.
pub fn os_error_text(error: &std::io::Error) -> String {
    if matches!(
        error.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) && error.raw_os_error().is_none_or(|code| code == libc::EAGAIN)
    {
        return "timed out".to_string();
    }
    let Some(code) = error.raw_os_error() else {
        return error.to_string();
    };
    let text = match code {
        libc::ECONNREFUSED => "Connection refused",
        libc::ETIMEDOUT => "Connection timed out",
        libc::EHOSTUNREACH => "No route to host",
        libc::ENETUNREACH => "Network is unreachable",
        libc::ECONNRESET => "Connection reset by peer",
        libc::EPIPE => "Broken pipe",
        libc::EADDRNOTAVAIL => "Cannot assign requested address",
        _ => return crate::files::os_error(error),
    };
    format!("[Errno {code}] {text}")
}

/// `fetch_url`'s `info` after an `HTTPError`: the response's headers (the last of a
/// repeated one), `msg`, `body` and `status`.
fn http_error(
    mut info: Map,
    status: u16,
    message: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Fetched {
    for (name, value) in headers {
        info.insert(
            Value::from(name.to_lowercase()),
            Value::from(value.as_str()),
        );
    }
    info.insert(Value::from("msg"), Value::from(message));
    info.insert(
        Value::from("body"),
        Value::from(String::from_utf8_lossy(&body).into_owned()),
    );
    info.insert(Value::from("status"), Value::Int(i64::from(status)));
    Fetched {
        info,
        body: None,
        has_response: true,
    }
}

fn response_headers(response: &ureq::Response) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    let mut names = response.headers_names();
    // ureq lists a name once per header line, and `all` returns every line of that name.
    let mut seen = std::collections::HashSet::new();
    names.retain(|name| seen.insert(name.clone()));
    for name in names {
        for value in response.all(&name) {
            headers.push((name.clone(), value.to_string()));
        }
    }
    headers
}

/// Turns the final response into `Fetched`: a 2xx status is a success with its body to
/// read, any other an `HTTPError`.
fn finish(
    client: &Client,
    mut info: Map,
    response: ureq::Response,
    url: &url::Url,
    cookies: &CookieJar,
) -> Fetched {
    let status = response.status();
    let headers = response_headers(&response);
    if !(200..300).contains(&status) {
        let message = format!("HTTP Error {status}: {}", response.status_text());
        let mut body = Vec::new();
        let _ = response.into_reader().read_to_end(&mut body);
        return http_error(info, status, &message, &headers, body);
    }
    let mut joined: Vec<(String, String)> = Vec::new();
    for (name, value) in &headers {
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
    info.insert(Value::from("url"), Value::from(url.to_string()));
    info.insert(Value::from("status"), Value::Int(i64::from(status)));
    let gzipped = response
        .header("content-encoding")
        .is_some_and(|encoding| encoding.eq_ignore_ascii_case("gzip"));
    let reader = response.into_reader();
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

/// The cookies the responses of one request set, in the order they came.
///
/// NOTE: no domain or path rules and no expiry: every cookie is sent on to the
/// redirects of the same request, and Python's ordering by path is not reproduced.
#[derive(Debug, Default)]
struct CookieJar {
    cookies: Vec<(String, String)>,
}

impl CookieJar {
    fn store(&mut self, response: &ureq::Response) {
        for header in response.all("set-cookie") {
            let pair = header.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let name = name.trim().to_string();
            let value = value.trim().to_string();
            self.cookies.retain(|(known, _)| *known != name);
            self.cookies.push((name, value));
        }
    }

    fn header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| self.text())
    }

    fn text(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn map(&self) -> Map {
        self.cookies
            .iter()
            .map(|(name, value)| (Value::from(name.as_str()), Value::from(value.as_str())))
            .collect()
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
    fn repeated_headers_listed_once() {
        let response: ureq::Response =
            "HTTP/1.1 200 OK\r\nSet-Cookie: Foo=bar\r\nContent-Length: 0\r\nSet-Cookie: Baz=qux\r\n\r\n"
                .parse()
                .unwrap();
        let cookies: Vec<_> = response_headers(&response)
            .into_iter()
            .filter(|(name, _)| name == "set-cookie")
            .map(|(_, value)| value)
            .collect();
        assert_eq!(cookies, ["Foo=bar", "Baz=qux"]);
    }

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
        let url = url::Url::parse("http://dl.example.com/file").unwrap();
        let environment = vec![
            ("http_proxy".to_string(), "http://proxy:3128".to_string()),
            ("no_proxy".to_string(), "localhost".to_string()),
        ];
        assert_eq!(
            proxy_for(&url, &environment).as_deref(),
            Some("http://proxy:3128")
        );
        let environment = vec![
            ("http_proxy".to_string(), "http://proxy:3128".to_string()),
            ("no_proxy".to_string(), "example.com".to_string()),
        ];
        assert_eq!(proxy_for(&url, &environment), None);
    }

    #[test]
    fn netrc_machine_then_default() {
        let text = "machine a.example login alice password one\ndefault login bob password two\n";
        assert_eq!(
            parse_netrc(text, "a.example"),
            Some(("alice".to_string(), "one".to_string()))
        );
        assert_eq!(
            parse_netrc(text, "b.example"),
            Some(("bob".to_string(), "two".to_string()))
        );
    }

    #[test]
    fn url_credentials_decoded() {
        assert_eq!(percent_decode("us%40er"), "us@er");
        assert_eq!(percent_decode("plain"), "plain");
        assert_eq!(percent_decode("bad%zz"), "bad%zz");
    }

    #[test]
    fn os_errors_use_glibc_texts() {
        let refused = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(os_error_text(&refused), "[Errno 111] Connection refused");
        let timed_out = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(os_error_text(&timed_out), "timed out");
    }
}
