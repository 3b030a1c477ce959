//! urllib's opener as ansible-core's `Request.open` builds it. It keeps the request's
//! headers as `urllib.request.Request` does, adds those of `do_request_` and the cookie
//! processor, routes through the proxy handler, sends `do_open`'s final header list,
//! and has the handlers that respond to a redirect or a 401 by opening the request again.

use std::sync::Arc;
use std::time::Duration;

use super::auth::{basic_auth, Credentials, DigestOutcome, DigestState};
use super::cookies::CookieJar;
use super::pyurl;
use super::wire::{self, Endpoint, Outgoing, Response, Tunnel, WireError};
use super::{Client, Redirects};

/// Header fields keyed as urllib's `Request` keys them (`str.capitalize`), in
/// insertion order; setting a field again keeps its place, as in a Python dict.
#[derive(Debug, Clone, Default)]
pub(super) struct HeaderFields(Vec<(String, String)>);

impl HeaderFields {
    /// Adds a field as `Request.add_header` (or `add_unredirected_header`) does.
    pub fn add(&mut self, name: &str, value: &str) {
        let key = capitalize(name);
        match self.0.iter_mut().find(|(known, _)| *known == key) {
            Some((_, known)) => *known = value.to_string(),
            None => self.0.push((key, value.to_string())),
        }
    }

    /// Tells whether the field is set, by its capitalized name (`has_header`).
    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(known, _)| known == key)
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(known, _)| known == key)
            .map(|(_, value)| value.as_str())
    }
}

/// Python's `str.capitalize`: the first character upper case, the rest lower case.
fn capitalize(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// Python's `str.title`: each run of letters starts upper case and goes on lower case.
fn title(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_word = false;
    for c in name.chars() {
        if c.is_alphabetic() {
            if in_word {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            in_word = true;
        } else {
            out.push(c);
            in_word = false;
        }
    }
    out
}

/// One `urllib.request.Request`.
#[derive(Debug, Clone)]
pub(super) struct UrlRequest {
    /// The URL without its fragment.
    url: String,
    fragment: Option<String>,
    pub method: String,
    pub data: Option<Vec<u8>>,
    pub headers: HeaderFields,
    pub unredirected: HeaderFields,
    /// The redirect targets seen so far and how often (`redirect_dict`).
    visited: Vec<(String, usize)>,
}

impl UrlRequest {
    pub fn new(url: &str, method: &str, data: Option<Vec<u8>>) -> UrlRequest {
        let (url, fragment) = match url.rsplit_once('#') {
            Some((url, fragment)) => (url.to_string(), Some(fragment.to_string())),
            None => (url.to_string(), None),
        };
        UrlRequest {
            url,
            fragment,
            method: method.to_string(),
            data,
            headers: HeaderFields::default(),
            unredirected: HeaderFields::default(),
            visited: Vec::new(),
        }
    }

    /// Returns `Request.full_url`: the URL with its fragment.
    pub fn full_url(&self) -> String {
        match &self.fragment {
            Some(fragment) if !fragment.is_empty() => format!("{}#{fragment}", self.url),
            _ => self.url.clone(),
        }
    }

    fn has_header(&self, key: &str) -> bool {
        self.headers.has(key) || self.unredirected.has(key)
    }
}

/// An HTTP error: the status, `str(HTTPError)`, and the response that carries the
/// headers and the body (None for an error raised without one).
pub(super) struct HttpFailure {
    pub status: u16,
    pub message: String,
    pub headers: Vec<(String, String)>,
    pub response: Option<Response>,
}

/// A failure to open a request, by the exception Python raises.
pub(super) enum Failure {
    Http(Box<HttpFailure>),
    /// `URLError`, with the text of its reason.
    Url(String),
    /// An `OSError` raised as it is (`socket.error` in `fetch_url`).
    Socket(String),
    /// A `ValueError`, which fails the module with this text.
    Module(String),
}

/// The opener of one `fetch_url` call, with its handlers' state.
pub(super) struct Opener<'a> {
    client: &'a Client,
    tls: Arc<rustls::ClientConfig>,
    timeout: Option<Duration>,
    pub cookies: CookieJar,
    /// The credentials of the basic and digest handlers, when the task gives a user
    /// without `force_basic_auth`.
    credentials: Option<Credentials>,
    digest: DigestState,
}

/// The Python version urllib names in its default `User-Agent`, the lab's Python.
const PYTHON_USER_AGENT: &str = "Python-urllib/3.11";

/// ansible-core's `HTTPRedirectHandler` follows at most this many redirects to one
/// URL (urllib's `max_repeats`) and in all (`max_redirections`).
const MAX_REPEATS: usize = 4;
const MAX_REDIRECTIONS: usize = 10;

impl<'a> Opener<'a> {
    pub fn new(
        client: &'a Client,
        tls: Arc<rustls::ClientConfig>,
        timeout: Duration,
        credentials: Option<Credentials>,
    ) -> Opener<'a> {
        Opener {
            client,
            tls,
            timeout: Some(timeout),
            cookies: CookieJar::default(),
            credentials,
            digest: DigestState::default(),
        }
    }

    /// Opens `request` as `OpenerDirector.open`: processes it, sends it, and hands a
    /// response that is not a success to the redirect and authentication handlers.
    /// Returns the successful response and the final URL.
    pub fn open(&mut self, request: &mut UrlRequest) -> Result<(Response, String), Failure> {
        let (scheme, host, selector) = pyurl::split_request_url(&request.url).ok_or_else(|| {
            Failure::Module(format!(
                "unknown url type: {}",
                crate::pyrepr::str_repr(&request.full_url())
            ))
        })?;
        if !matches!(scheme.as_str(), "http" | "https") {
            // NOTE: ftp:// URLs, which urllib opens too, are not supported.
            return Err(Failure::Url(format!("unknown url type: {scheme}")));
        }
        if host.is_empty() {
            return Err(Failure::Url("no host given".to_string()));
        }
        self.process(request, &host);
        let response = self.send(request, &scheme, &host, &selector)?;
        self.cookies.store(&response);
        if (200..300).contains(&response.status) {
            return Ok((response, request.full_url()));
        }
        if matches!(response.status, 301 | 302 | 303 | 307 | 308) {
            if let Some(location) = response
                .header("location")
                .or_else(|| response.header("uri"))
                .map(str::to_string)
            {
                return self.redirect(request, response, &location);
            }
        }
        if response.status == 401 && self.credentials.is_some() {
            return self.authenticate(request, response, &selector);
        }
        Err(http_error(response))
    }

    /// Adds the headers `do_request_` and the cookie processor add, as unredirected ones.
    fn process(&self, request: &mut UrlRequest, host: &str) {
        if let Some(data) = &request.data {
            if !request.has_header("Content-type") {
                request
                    .unredirected
                    .add("Content-type", "application/x-www-form-urlencoded");
            }
            if !request.has_header("Content-length") && !request.has_header("Transfer-encoding") {
                let length = data.len().to_string();
                request.unredirected.add("Content-length", &length);
            }
        }
        if !request.has_header("Host") {
            request.unredirected.add("Host", host);
        }
        if !request.has_header("User-agent") {
            request.unredirected.add("User-agent", PYTHON_USER_AGENT);
        }
        if let Some(cookie) = self.cookies.header() {
            if !request.has_header("Cookie") {
                request.unredirected.add("Cookie", &cookie);
            }
        }
    }

    /// Sends the request on a new connection, as the proxy handler and `do_open` set
    /// it up, and reads the response's head.
    fn send(
        &self,
        request: &UrlRequest,
        scheme: &str,
        host: &str,
        selector: &str,
    ) -> Result<Response, Failure> {
        if self.timeout == Some(Duration::ZERO) {
            // Python's non-blocking socket fails its connect at once.
            return Err(Failure::Url(
                "[Errno 115] Operation now in progress".to_string(),
            ));
        }
        let https = scheme == "https";
        let default_port = if https { 443 } else { 80 };
        let route = self.route(request, scheme, host, selector)?;
        let mut fields = do_open_fields(request, &route.headers);
        let (connect_name, port) =
            pyurl::split_host_port(&route.connect_host, default_port).map_err(Failure::Module)?;

        // urllib tunnels HTTPS through a proxy, with the proxy's credentials on CONNECT.
        let mut tunnel = None;
        if https && route.proxied {
            let (tunnel_host, tunnel_port) =
                pyurl::split_host_port(host, default_port).map_err(Failure::Module)?;
            let mut tunnel_headers = Vec::new();
            if let Some(index) = fields
                .iter()
                .position(|(name, _)| name == "Proxy-Authorization")
            {
                tunnel_headers.push(fields.remove(index));
            }
            tunnel = Some(Tunnel {
                host: tunnel_host,
                port: tunnel_port,
                headers: tunnel_headers,
            });
        }
        let tls_name = match &tunnel {
            Some(tunnel) => tunnel.host.clone(),
            None => connect_name.clone(),
        };

        let endpoint = Endpoint {
            host: connect_name,
            port,
            unix_socket: self.client.unix_socket.clone(),
            tunnel,
            tls: https.then(|| (self.tls.clone(), tls_name)),
            timeout: self.timeout,
        };
        let wire_headers = http_client_headers(&request.method, request.data.is_some(), fields);
        let outgoing = Outgoing {
            method: &request.method,
            target: &route.target,
            headers: &wire_headers,
            body: request.data.as_deref(),
        };
        wire::exchange(&endpoint, &outgoing).map_err(wire_failure)
    }

    /// Decides where the request goes, as urllib's `ProxyHandler`: to the server, or
    /// to the proxy `<scheme>_proxy` names (with its credentials as a header).
    fn route(
        &self,
        request: &UrlRequest,
        scheme: &str,
        host: &str,
        selector: &str,
    ) -> Result<Route, Failure> {
        let proxy = if self.client.use_proxy && self.client.unix_socket.is_none() {
            super::proxy_for(scheme, host, &self.client.environment)
        } else {
            None
        };
        let mut headers = request.headers.clone();
        let Some(proxy) = proxy else {
            return Ok(Route {
                connect_host: host.to_string(),
                target: selector.to_string(),
                proxied: false,
                headers,
            });
        };
        let parsed = parse_proxy(&proxy).map_err(Failure::Module)?;
        if let Some((user, password)) = &parsed.credentials {
            headers.add("Proxy-authorization", &basic_auth(user, password));
        }
        // A plain HTTP request to a proxy names the whole URL.
        let target = if scheme == "https" {
            selector.to_string()
        } else {
            request.url.clone()
        };
        Ok(Route {
            connect_host: parsed.host_port,
            target,
            proxied: true,
            headers,
        })
    }

    /// Follows a redirect as `http_error_302` and ansible-core's `redirect_request` do.
    fn redirect(
        &mut self,
        request: &mut UrlRequest,
        response: Response,
        location: &str,
    ) -> Result<(Response, String), Failure> {
        let status = response.status;
        let parts = pyurl::urlparse(location, "").map_err(Failure::Module)?;
        if !matches!(parts.scheme.as_str(), "http" | "https" | "ftp" | "") {
            let message = format!(
                "{} - Redirection to url '{location}' is not allowed",
                response.reason
            );
            return Err(error_with_message(response, message));
        }
        let mut parts = parts;
        if parts.path.is_empty() && !parts.netloc.is_empty() {
            parts.path = "/".to_string();
        }
        let target = pyurl::urljoin(
            &request.full_url(),
            &pyurl::quote_location(&pyurl::urlunparse(&parts)),
        );
        let Some(mut next) = self.redirect_request(request, status, &target) else {
            return Err(http_error(response));
        };
        let seen = request
            .visited
            .iter()
            .find(|(url, _)| *url == target)
            .map_or(0, |(_, count)| *count);
        if seen >= MAX_REPEATS || request.visited.len() >= MAX_REDIRECTIONS {
            let message = format!(
                "The HTTP server returned a redirect error that would lead to an infinite loop.\nThe last 30x error message was:\n{}",
                response.reason
            );
            return Err(error_with_message(response, message));
        }
        next.visited = request.visited.clone();
        match next.visited.iter_mut().find(|(url, _)| *url == target) {
            Some((_, count)) => *count += 1,
            None => next.visited.push((target.clone(), 1)),
        }
        drop(response.read_all());
        self.open(&mut next)
    }

    /// Builds the request for a redirect, or returns None when the redirect is not
    /// followed and its response is the error.
    fn redirect_request(
        &self,
        request: &UrlRequest,
        status: u16,
        target: &str,
    ) -> Option<UrlRequest> {
        let method = request.method.as_str();
        let target = target.replace(' ', "%20");
        if self.client.redirects == Redirects::Urllib {
            // urllib's own rules: a new GET without the content headers.
            let allowed = matches!(method, "GET" | "HEAD")
                || (matches!(status, 301..=303) && method == "POST");
            if !allowed {
                return None;
            }
            let mut next = UrlRequest::new(&target, "GET", None);
            for (name, value) in &request.headers.0 {
                if !matches!(
                    name.to_ascii_lowercase().as_str(),
                    "content-length" | "content-type"
                ) {
                    next.headers.add(name, value);
                }
            }
            return Some(next);
        }
        let allowed = match self.client.redirects {
            Redirects::Never => false,
            Redirects::Safe => matches!(method, "GET" | "HEAD"),
            Redirects::All | Redirects::Urllib => true,
        };
        if !allowed {
            return None;
        }
        let mut next_method = method.to_string();
        let mut data = request.data.clone();
        let mut headers = request.headers.clone();
        if !matches!(status, 307 | 308) {
            data = None;
            headers.0.retain(|(name, _)| {
                !matches!(
                    name.to_ascii_lowercase().as_str(),
                    "content-length" | "content-type" | "transfer-encoding"
                )
            });
            if (matches!(status, 302 | 303) && method != "HEAD")
                || (status == 301 && method == "POST")
            {
                next_method = "GET".to_string();
            }
        }
        let mut next = UrlRequest::new(&target, &next_method, data);
        next.headers = headers;
        Some(next)
    }

    /// Responds to a 401 with the digest handler, then the basic one, as urllib does.
    fn authenticate(
        &mut self,
        request: &mut UrlRequest,
        response: Response,
        selector: &str,
    ) -> Result<(Response, String), Failure> {
        let Some(credentials) = self.credentials.clone() else {
            return Err(http_error(response));
        };
        let applicable = credentials.apply_to(&request.full_url());
        let credentials = applicable.then_some(&credentials);
        if let Some(challenge) = response.header("www-authenticate").map(str::to_string) {
            if self.digest.retried > 5 {
                return Err(Failure::Http(Box::new(HttpFailure {
                    status: 401,
                    message: "HTTP Error 401: digest auth failed".to_string(),
                    headers: response.headers,
                    response: None,
                })));
            }
            self.digest.retried += 1;
            let outcome = self
                .digest
                .respond(&challenge, credentials, &request.method, selector);
            match outcome {
                DigestOutcome::Retry(value)
                    if request.headers.get("Authorization") != Some(value.as_str()) =>
                {
                    request.unredirected.add("Authorization", &value);
                    drop(response.read_all());
                    let opened = self.open(request);
                    if opened.is_ok() {
                        self.digest.retried = 0;
                    }
                    return opened;
                }
                DigestOutcome::Invalid(text) => return Err(Failure::Module(text)),
                DigestOutcome::Refused(text) => return Err(Failure::Url(text)),
                DigestOutcome::Retry(_) | DigestOutcome::Pass => {}
            }
        } else {
            self.digest.retried += 1;
        }
        self.digest.retried = 0;
        self.respond_basic(request, response, credentials)
    }

    /// The basic handler: sends the credentials for the first basic challenge with a
    /// realm, unless the request carried them already.
    fn respond_basic(
        &mut self,
        request: &mut UrlRequest,
        response: Response,
        credentials: Option<&Credentials>,
    ) -> Result<(Response, String), Failure> {
        let mut last_scheme = None;
        let mut unsupported = false;
        let mut realm_found = false;
        for (scheme, realm) in response
            .all("www-authenticate")
            .iter()
            .flat_map(|header| parse_realms(header))
        {
            if !scheme.eq_ignore_ascii_case("basic") {
                unsupported = true;
                last_scheme = Some(scheme);
                continue;
            }
            last_scheme = Some(scheme);
            if realm.is_some() {
                realm_found = true;
                break;
            }
        }
        if !realm_found {
            if unsupported {
                return Err(Failure::Module(format!(
                    "AbstractBasicAuthHandler does not support the following scheme: {}",
                    crate::pyrepr::str_repr(&last_scheme.unwrap_or_default())
                )));
            }
            return Err(http_error(response));
        }
        let Some(credentials) = credentials else {
            return Err(http_error(response));
        };
        let value = basic_auth(&credentials.user, &credentials.password);
        let current = request
            .headers
            .get("Authorization")
            .or_else(|| request.unredirected.get("Authorization"));
        if current == Some(value.as_str()) {
            return Err(http_error(response));
        }
        request.unredirected.add("Authorization", &value);
        drop(response.read_all());
        self.open(request)
    }
}

/// Returns the challenges of a `WWW-Authenticate` value as urllib's `_parse_realm`:
/// each scheme with its realm, or the first word alone when no challenge has a realm.
fn parse_realms(header: &str) -> Vec<(String, Option<String>)> {
    let pattern =
        fancy_regex::Regex::new(r#"(?i)(?:^|,)[ \t]*([^ \t,]+)[ \t]+realm=(["']?)([^"']*)\2"#)
            .expect("the realm pattern is valid");
    let found: Vec<(String, Option<String>)> = pattern
        .captures_iter(header)
        .filter_map(Result::ok)
        .map(|captures| {
            let group = |index: usize| captures.get(index).map_or("", |m| m.as_str()).to_string();
            (group(1), Some(group(3)))
        })
        .collect();
    if !found.is_empty() {
        return found;
    }
    let scheme = header.split_whitespace().next().unwrap_or_default();
    vec![(scheme.to_string(), None)]
}

/// Where a request goes and the headers it carries there.
struct Route {
    /// The `host[:port]` to connect to: the server's or the proxy's.
    connect_host: String,
    /// The request target: the selector, or the whole URL for a plain HTTP proxy.
    target: String,
    proxied: bool,
    /// The request's redirected headers, with `Proxy-authorization` for a proxy.
    headers: HeaderFields,
}

/// Returns the header list `do_open` sends: the unredirected fields first, then the
/// others they do not override, then `Connection: close`, all names title-cased.
fn do_open_fields(request: &UrlRequest, headers: &HeaderFields) -> Vec<(String, String)> {
    let mut fields = request.unredirected.0.clone();
    for (name, value) in &headers.0 {
        if !request.unredirected.has(name) {
            fields.push((name.clone(), value.clone()));
        }
    }
    fields.push(("Connection".to_string(), "close".to_string()));
    fields
        .into_iter()
        .map(|(name, value)| (title(&name), value))
        .collect()
}

/// Maps a failed exchange to the exception Python raises for it.
fn wire_failure(error: WireError) -> Failure {
    match error {
        WireError::Open(text) => Failure::Url(text),
        WireError::Invalid(text) => Failure::Module(text),
        WireError::Disconnected => {
            Failure::Socket("Remote end closed connection without response".to_string())
        }
        WireError::BadStatusLine(line) => Failure::Socket(format!(
            "connection was closed before a valid response was received: {line}"
        )),
        WireError::Receive(error) => receive_failure(&error),
    }
}

/// Adds what http.client adds to the header fields: `Accept-Encoding: identity` and,
/// for a method that expects a body but has none, `Content-Length: 0`.
fn http_client_headers(
    method: &str,
    has_body: bool,
    fields: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let has = |name: &str| {
        fields
            .iter()
            .any(|(known, _)| known.eq_ignore_ascii_case(name))
    };
    let mut headers = Vec::new();
    if !has("accept-encoding") {
        headers.push(("Accept-Encoding".to_string(), "identity".to_string()));
    }
    if !has("content-length")
        && !has("transfer-encoding")
        && !has_body
        && matches!(method, "PATCH" | "POST" | "PUT")
    {
        headers.push(("Content-Length".to_string(), "0".to_string()));
    }
    headers.extend(fields);
    headers
}

/// A proxy from `<scheme>_proxy`, as urllib's `_parse_proxy` splits it.
struct ProxyUrl {
    host_port: String,
    credentials: Option<(String, String)>,
}

fn parse_proxy(proxy: &str) -> Result<ProxyUrl, String> {
    let authority = match proxy.split_once(':') {
        Some((scheme, rest)) if !scheme.contains('/') && rest.starts_with('/') => {
            let Some(after) = rest.strip_prefix("//") else {
                return Err(format!(
                    "proxy URL with no authority: {}",
                    crate::pyrepr::str_repr(proxy)
                ));
            };
            let search_from = after.find('@').unwrap_or(0);
            let end = after[search_from..]
                .find('/')
                .map_or(after.len(), |offset| search_from + offset);
            &after[..end]
        }
        _ => proxy,
    };
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    let credentials = userinfo.and_then(|info| {
        let (user, password) = info.split_once(':')?;
        (!user.is_empty() && !password.is_empty())
            .then(|| (pyurl::unquote(user), pyurl::unquote(password)))
    });
    Ok(ProxyUrl {
        host_port: pyurl::unquote(host_port),
        credentials,
    })
}

/// Returns the failure for a socket error while waiting for the response. Python
/// raises the `OSError`, which `fetch_url` reports as a connection failure (its
/// `except ConnectionError` names a class of its own, not the built-in one).
fn receive_failure(error: &std::io::Error) -> Failure {
    Failure::Socket(super::failure::os_error_text(error))
}

/// The `HTTPError` of a response that no handler took.
fn http_error(response: Response) -> Failure {
    let message = response.reason.clone();
    error_with_message(response, message)
}

fn error_with_message(response: Response, message: String) -> Failure {
    Failure::Http(Box::new(HttpFailure {
        status: response.status,
        message: format!("HTTP Error {}: {message}", response.status),
        headers: response.headers.clone(),
        response: Some(response),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_like_python() {
        assert_eq!(capitalize("content-TYPE"), "Content-type");
        assert_eq!(title("content-type"), "Content-Type");
        assert_eq!(title("x-md5hash_v2"), "X-Md5Hash_V2");
        let mut fields = HeaderFields::default();
        fields.add("Authorization", "a");
        fields.add("x-other", "b");
        fields.add("authorization", "c");
        assert_eq!(
            fields.0,
            vec![
                ("Authorization".to_string(), "c".to_string()),
                ("X-other".to_string(), "b".to_string())
            ]
        );
    }

    #[test]
    fn http_client_adds_encoding_and_length() {
        let fields = vec![("Host".to_string(), "h".to_string())];
        let headers = http_client_headers("POST", false, fields.clone());
        assert_eq!(
            headers[0],
            ("Accept-Encoding".to_string(), "identity".to_string())
        );
        assert_eq!(headers[1], ("Content-Length".to_string(), "0".to_string()));
        assert_eq!(http_client_headers("GET", false, fields).len(), 2);
    }

    #[test]
    fn proxies_parsed_like_urllib() {
        let plain = parse_proxy("localhost:3456").unwrap();
        assert_eq!(plain.host_port, "localhost:3456");
        assert!(plain.credentials.is_none());
        let full = parse_proxy("http://us%40er:pw@proxy:3128/").unwrap();
        assert_eq!(full.host_port, "proxy:3128");
        assert_eq!(
            full.credentials,
            Some(("us@er".to_string(), "pw".to_string()))
        );
    }
}
