//! URL handling with the rules of Python 3.11's `urllib.parse` and `urllib.request`,
//! which ansible-core's `fetch_url` uses: URLs stay the text they were given (no
//! normalisation), and relative redirects resolve as `urljoin` resolves them.

/// Schemes for which `urljoin` resolves relative references (`uses_relative`).
const USES_RELATIVE: &[&str] = &[
    "", "ftp", "http", "gopher", "nntp", "imap", "wais", "file", "https", "shttp", "mms",
    "prospero", "rtsp", "rtspu", "sftp", "svn", "svn+ssh", "ws", "wss",
];

/// Schemes whose URLs have a network location (`uses_netloc`).
const USES_NETLOC: &[&str] = &[
    "", "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file", "mms", "https", "shttp",
    "snews", "prospero", "rtsp", "rtspu", "rsync", "svn", "svn+ssh", "sftp", "nfs", "git",
    "git+ssh", "ws", "wss",
];

/// Schemes whose last path segment may carry `;params` (`uses_params`).
const USES_PARAMS: &[&str] = &[
    "", "ftp", "hdl", "prospero", "http", "imap", "https", "shttp", "rtsp", "rtspu", "sip", "sips",
    "mms", "sftp", "tel",
];

/// The five parts of `urlsplit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SplitUrl {
    pub scheme: String,
    pub netloc: String,
    pub path: String,
    pub query: String,
    pub fragment: String,
}

/// The six parts of `urlparse`: `urlsplit` with `;params` split off the path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedUrl {
    pub scheme: String,
    pub netloc: String,
    pub path: String,
    pub params: String,
    pub query: String,
    pub fragment: String,
}

/// Splits `url` as `urlsplit(url, default_scheme)` does. Python also raises
/// `ValueError("Invalid IPv6 URL")` for unbalanced brackets in the network location.
pub fn urlsplit(url: &str, default_scheme: &str) -> Result<SplitUrl, String> {
    let url: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut scheme = default_scheme.to_string();
    let mut rest = url.as_str();
    if let Some(colon) = rest.find(':') {
        let candidate = &rest[..colon];
        let starts_alpha = candidate
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic());
        if colon > 0
            && starts_alpha
            && candidate
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            scheme = candidate.to_ascii_lowercase();
            rest = &rest[colon + 1..];
        }
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = &after[..end];
        rest = &after[end..];
        if netloc.contains('[') != netloc.contains(']') {
            return Err("Invalid IPv6 URL".to_string());
        }
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    Ok(SplitUrl {
        scheme,
        netloc: netloc.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        fragment: fragment.to_string(),
    })
}

/// Parses `url` as `urlparse(url, default_scheme)` does.
pub fn urlparse(url: &str, default_scheme: &str) -> Result<ParsedUrl, String> {
    let split = urlsplit(url, default_scheme)?;
    let (path, params) = if USES_PARAMS.contains(&split.scheme.as_str()) && split.path.contains(';')
    {
        split_params(&split.path)
    } else {
        (split.path.clone(), String::new())
    };
    Ok(ParsedUrl {
        scheme: split.scheme,
        netloc: split.netloc,
        path,
        params,
        query: split.query,
        fragment: split.fragment,
    })
}

/// Splits `;params` off the last segment of a path, as `_splitparams`.
fn split_params(path: &str) -> (String, String) {
    let start = path.rfind('/').unwrap_or(0);
    match path[start..].find(';') {
        Some(offset) => {
            let at = start + offset;
            (path[..at].to_string(), path[at + 1..].to_string())
        }
        None => (path.to_string(), String::new()),
    }
}

/// Joins the parts again as `urlunsplit`; empty parts drop their delimiters.
pub fn urlunsplit(parts: &SplitUrl) -> String {
    let mut url = parts.path.clone();
    let netloc_scheme = USES_NETLOC.contains(&parts.scheme.as_str());
    if !parts.netloc.is_empty()
        || (!parts.scheme.is_empty() && netloc_scheme && !url.starts_with("//"))
    {
        if !url.is_empty() && !url.starts_with('/') {
            url.insert(0, '/');
        }
        url = format!("//{}{url}", parts.netloc);
    }
    if !parts.scheme.is_empty() {
        url = format!("{}:{url}", parts.scheme);
    }
    if !parts.query.is_empty() {
        url = format!("{url}?{}", parts.query);
    }
    if !parts.fragment.is_empty() {
        url = format!("{url}#{}", parts.fragment);
    }
    url
}

/// Joins the parts again as `urlunparse`.
pub fn urlunparse(parts: &ParsedUrl) -> String {
    let path = if parts.params.is_empty() {
        parts.path.clone()
    } else {
        format!("{};{}", parts.path, parts.params)
    };
    urlunsplit(&SplitUrl {
        scheme: parts.scheme.clone(),
        netloc: parts.netloc.clone(),
        path,
        query: parts.query.clone(),
        fragment: parts.fragment.clone(),
    })
}

/// Resolves `url` against `base` as Python 3.11's `urljoin` does. A URL that does not
/// parse is returned unchanged, since Python would raise where rplay has no way to.
pub fn urljoin(base: &str, url: &str) -> String {
    if base.is_empty() {
        return url.to_string();
    }
    if url.is_empty() {
        return base.to_string();
    }
    let (Ok(base_parts), Ok(mut parts)) = (urlparse(base, ""), urlparse(url, "")) else {
        return url.to_string();
    };
    if parts.scheme.is_empty() {
        parts.scheme = base_parts.scheme.clone();
    }
    if parts.scheme != base_parts.scheme || !USES_RELATIVE.contains(&parts.scheme.as_str()) {
        return url.to_string();
    }
    if USES_NETLOC.contains(&parts.scheme.as_str()) {
        if !parts.netloc.is_empty() {
            return urlunparse(&parts);
        }
        parts.netloc = base_parts.netloc.clone();
    }
    if parts.path.is_empty() && parts.params.is_empty() {
        parts.path = base_parts.path;
        parts.params = base_parts.params;
        if parts.query.is_empty() {
            parts.query = base_parts.query;
        }
        return urlunparse(&parts);
    }
    parts.path = resolve_path(&base_parts.path, &parts.path);
    urlunparse(&parts)
}

/// Merges a relative path into the base path and removes `.` and `..` segments, as the
/// second half of `urljoin`.
fn resolve_path(base_path: &str, path: &str) -> String {
    let segments: Vec<&str> = if path.starts_with('/') {
        path.split('/').collect()
    } else {
        let mut base: Vec<&str> = base_path.split('/').collect();
        if base.last() != Some(&"") {
            base.pop();
        }
        let mut joined: Vec<&str> = base.into_iter().chain(path.split('/')).collect();
        // Empty segments between the first and the last would double slashes.
        if joined.len() > 2 {
            let last = joined.pop().unwrap_or_default();
            let first = joined.remove(0);
            joined.retain(|segment| !segment.is_empty());
            joined.insert(0, first);
            joined.push(last);
        }
        joined
    };
    let mut resolved: Vec<&str> = Vec::new();
    for segment in &segments {
        match *segment {
            ".." => {
                resolved.pop();
            }
            "." => {}
            other => resolved.push(other),
        }
    }
    if matches!(segments.last(), Some(&".") | Some(&"..")) {
        resolved.push("");
    }
    let joined = resolved.join("/");
    if joined.is_empty() {
        "/".to_string()
    } else {
        joined
    }
}

/// Percent-encodes what `quote(url, encoding="iso-8859-1", safe=string.punctuation)`
/// encodes: spaces, control characters and characters beyond ASCII, as their
/// ISO-8859-1 bytes. Characters beyond U+00FF (which headers decoded as ISO-8859-1
/// never hold) are encoded as UTF-8.
pub fn quote_location(url: &str) -> String {
    let mut out = String::new();
    for c in url.chars() {
        if c.is_ascii_graphic() {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            let mut buffer = [0u8; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

/// Decodes `%XX` escapes as `unquote` does: invalid escapes stay as they are, and the
/// bytes are read as UTF-8 with replacement characters for invalid sequences.
pub fn unquote(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|pair| std::str::from_utf8(pair).ok())
                .and_then(|pair| u8::from_str_radix(pair, 16).ok());
            if let Some(byte) = hex {
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

/// Splits a `Request`'s URL into its type, host (with port, unquoted) and selector,
/// as `_splittype` and `_splithost` do: `http://h:8080/a?b` gives `http`, `h:8080`
/// and `/a?b`. Returns None for a URL without a scheme (`unknown url type`).
pub fn split_request_url(url: &str) -> Option<(String, String, String)> {
    let colon = url.find(':')?;
    let scheme = &url[..colon];
    if scheme.is_empty() || scheme.contains('/') {
        return None;
    }
    let rest = &url[colon + 1..];
    let Some(after) = rest.strip_prefix("//") else {
        return Some((scheme.to_ascii_lowercase(), String::new(), rest.to_string()));
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    Some((
        scheme.to_ascii_lowercase(),
        unquote(&after[..end]),
        after[end..].to_string(),
    ))
}

/// Splits `host[:port]` (with `[v6]` brackets) as `HTTPConnection._get_hostport`
/// does, with `default_port` when none is given. Python raises `InvalidURL` (a
/// `ValueError`) for a port that is not a number.
pub fn split_host_port(host: &str, default_port: u16) -> Result<(String, u16), String> {
    let colon = host.rfind(':');
    let bracket = host.rfind(']');
    let (name, port) = match colon {
        Some(i) if bracket.is_none_or(|j| i > j) => {
            let digits = &host[i + 1..];
            let port = if digits.is_empty() {
                default_port
            } else {
                digits
                    .parse::<u16>()
                    .map_err(|_| format!("nonnumeric port: '{digits}'"))?
            };
            (&host[..i], port)
        }
        _ => (host, default_port),
    };
    let name = name
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(name);
    Ok((name.to_string(), port))
}

/// Returns the host name of a network location as `SplitResult.hostname`: without
/// credentials, port and brackets, lower-cased, None when empty.
pub fn hostname(netloc: &str) -> Option<String> {
    let host = netloc.rsplit_once('@').map_or(netloc, |(_, host)| host);
    let name = if let Some(bracketed) = host.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    (!name.is_empty()).then(|| name.to_lowercase())
}

/// Returns the last segment of a URL's path, as `os.path.basename(urlsplit(url).path)`.
pub fn path_basename(url: &str) -> String {
    let path = urlsplit(url, "")
        .map(|parts| parts.path)
        .unwrap_or_default();
    path.rsplit('/').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urljoin_like_python() {
        let base = "https://ansible.http.tests/redirect-to?url=https:status/302";
        // Python 3.11 keeps the base's host for a same-scheme URL without `//`.
        assert_eq!(
            urljoin(base, "https:status/302"),
            "https://ansible.http.tests/status/302"
        );
        assert_eq!(
            urljoin("https://h/redirect/2", "/relative-redirect/1"),
            "https://h/relative-redirect/1"
        );
        assert_eq!(urljoin("http://h/a/b/c", "../d"), "http://h/a/d");
        assert_eq!(urljoin("http://h/a/b/c", "./"), "http://h/a/b/");
        assert_eq!(urljoin("http://h/a/b", "?x=1"), "http://h/a/b?x=1");
        assert_eq!(urljoin("http://h/a", "//other/x"), "http://other/x");
        assert_eq!(urljoin("http://h/a", "ftp://f/x"), "ftp://f/x");
        assert_eq!(urljoin("http://h/a/b", "../../../x"), "http://h/x");
        assert_eq!(urljoin("http://h", "x"), "http://h/x");
        assert_eq!(urljoin("http://h/a//b/c", "d"), "http://h/a/b/d");
    }

    #[test]
    fn urlunparse_keeps_text() {
        let parts = urlparse("http://Host:80/a;p?q=1#f", "").unwrap();
        assert_eq!(parts.netloc, "Host:80");
        assert_eq!(parts.params, "p");
        assert_eq!(urlunparse(&parts), "http://Host:80/a;p?q=1#f");
        assert_eq!(urlunparse(&urlparse("http://h?", "").unwrap()), "http://h");
        assert_eq!(urlsplit("http://[::1", ""), Err("Invalid IPv6 URL".into()));
    }

    #[test]
    fn request_urls_split() {
        assert_eq!(
            split_request_url("http://h:8080/a?b#c"),
            Some(("http".into(), "h:8080".into(), "/a?b#c".into()))
        );
        assert_eq!(
            split_request_url("https://h"),
            Some(("https".into(), "h".into(), String::new()))
        );
        assert_eq!(split_request_url("no-scheme"), None);
        assert_eq!(split_host_port("h:8080", 80), Ok(("h".into(), 8080)));
        assert_eq!(split_host_port("[::1]:81", 80), Ok(("::1".into(), 81)));
        assert_eq!(split_host_port("[::1]", 443), Ok(("::1".into(), 443)));
        assert_eq!(split_host_port("h:", 80), Ok(("h".into(), 80)));
        assert_eq!(
            split_host_port("h:x", 80),
            Err("nonnumeric port: 'x'".into())
        );
        assert_eq!(
            hostname("u:p@Host.Example:443"),
            Some("host.example".into())
        );
    }

    #[test]
    fn locations_quoted() {
        assert_eq!(quote_location("/a b/\u{e9}?x=1"), "/a%20b/%E9?x=1");
        assert_eq!(unquote("us%40er%zz"), "us@er%zz");
    }
}
