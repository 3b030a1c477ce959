//! Credentials for `fetch_url`: the `Authorization` header of `force_basic_auth` and of
//! `~/.netrc` (read with the rules of Python 3.11's `netrc` module), and the responses
//! of urllib's basic and digest handlers to a 401 challenge.

use base64::Engine as _;

/// Returns the value of a basic `Authorization` header, as `basic_auth_header`.
pub(super) fn basic_auth(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// A `.netrc` file that Python's `netrc` module rejects, with its message.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct NetrcError(pub String);

/// Returns the login and password the netrc file has for `host` (or its `default`
/// entry), as `netrc.netrc(os.environ.get('NETRC')).authenticators(host)` in the
/// module's environment. A missing file gives None, as the `IOError` ansible-core
/// ignores.
pub(super) fn netrc_login(
    host: &str,
    environment: &[(String, String)],
) -> Result<Option<(String, String)>, NetrcError> {
    let variable = |name: &str| {
        environment
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .or_else(|| std::env::var(name).ok())
    };
    let (path, default_file) = match variable("NETRC") {
        Some(path) => (path, false),
        None => {
            let home = variable("HOME").unwrap_or_default();
            (format!("{}/.netrc", home.trim_end_matches('/')), true)
        }
    };
    let Ok(file) = std::fs::File::open(&path) else {
        return Ok(None);
    };
    let mut text = String::new();
    if std::io::Read::read_to_string(&mut &file, &mut text).is_err() {
        return Ok(None);
    }
    let owner = default_file.then(|| file_owner_check(&file));
    let entries = parse_netrc(&text, &path, owner.as_ref())?;
    let found = entries
        .iter()
        .rev()
        .find(|(name, _)| name == host)
        .or_else(|| entries.iter().rev().find(|(name, _)| name == "default"))
        .map(|(_, entry)| entry.clone());
    Ok(found.filter(|(login, password)| !login.is_empty() && !password.is_empty()))
}

/// Checks the default `~/.netrc` as Python does for each entry whose login is not
/// `anonymous`. Returns None when the file is the user's own and private, else the error.
fn file_owner_check(file: &std::fs::File) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().ok()?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    if meta.uid() != uid {
        let name = |id: u32| crate::files::passwd_name(id).unwrap_or_else(|| format!("uid {id}"));
        return Some(format!(
            "~/.netrc file owner ({}, {}) does not match current user",
            name(meta.uid()),
            name(uid)
        ));
    }
    (meta.mode() & 0o077 != 0).then(|| {
        "~/.netrc access too permissive: access permissions must restrict access to only the owner"
            .to_string()
    })
}

/// The tokens of a netrc file, as Python's `_netrclex` reads them: words separated by
/// white space, `"quoted strings"`, and backslash escapes.
struct NetrcLexer {
    chars: Vec<char>,
    position: usize,
    line: usize,
    pushback: Option<String>,
}

impl NetrcLexer {
    fn new(text: &str) -> NetrcLexer {
        NetrcLexer {
            chars: text.chars().collect(),
            position: 0,
            line: 1,
            pushback: None,
        }
    }

    fn next_char(&mut self) -> Option<char> {
        let c = *self.chars.get(self.position)?;
        self.position += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// Skips the rest of the current line, as `instream.readline()`.
    fn skip_line(&mut self) {
        while let Some(c) = self.chars.get(self.position) {
            self.position += 1;
            if *c == '\n' {
                break;
            }
        }
    }

    /// Returns the next token, or an empty string at the end.
    fn token(&mut self) -> String {
        if let Some(token) = self.pushback.take() {
            return token;
        }
        let mut token = String::new();
        while let Some(c) = self.next_char() {
            if matches!(c, '\n' | '\t' | '\r' | ' ') {
                continue;
            }
            if c == '"' {
                while let Some(c) = self.next_char() {
                    match c {
                        '"' => return token,
                        '\\' => token.extend(self.next_char()),
                        other => token.push(other),
                    }
                }
                return token;
            }
            let mut c = Some(c);
            while let Some(current) = c {
                match current {
                    '\n' | '\t' | '\r' | ' ' => return token,
                    '\\' => token.extend(self.next_char()),
                    other => token.push(other),
                }
                c = self.next_char();
            }
            return token;
        }
        token
    }
}

type NetrcEntry = (String, (String, String));

/// Parses a netrc file into its `machine` and `default` entries (name, (login,
/// password)), in order, failing with `NetrcParseError`'s text as Python does.
/// `owner_error` is the default file's ownership check, which applies to entries
/// whose login is not `anonymous`.
fn parse_netrc(
    text: &str,
    file: &str,
    owner_error: Option<&Option<String>>,
) -> Result<Vec<NetrcEntry>, NetrcError> {
    let mut lexer = NetrcLexer::new(text);
    let mut entries = Vec::new();
    let error =
        |message: String, line: usize| NetrcError(format!("{message} ({file}, line {line})"));
    loop {
        let line = lexer.line;
        let top = lexer.token();
        let name = match top.as_str() {
            "" => return Ok(entries),
            comment if comment.starts_with('#') => {
                if lexer.line == line && comment.len() == 1 {
                    lexer.skip_line();
                }
                continue;
            }
            "machine" => lexer.token(),
            "default" => "default".to_string(),
            "macdef" => {
                lexer.token();
                skip_macro(&mut lexer).map_err(|()| {
                    error(
                        "Macro definition missing null line terminator.".into(),
                        lexer.line,
                    )
                })?;
                continue;
            }
            other => {
                return Err(error(
                    format!("bad toplevel token {}", crate::pyrepr::str_repr(other)),
                    lexer.line,
                ))
            }
        };
        if name.is_empty() {
            return Err(error(
                format!("missing {} name", crate::pyrepr::str_repr(&top)),
                lexer.line,
            ));
        }
        let (mut login, mut password) = (String::new(), String::new());
        loop {
            let line = lexer.line;
            let follower = lexer.token();
            match follower.as_str() {
                comment if comment.starts_with('#') => {
                    if lexer.line == line {
                        lexer.skip_line();
                    }
                }
                "" | "machine" | "default" | "macdef" => {
                    lexer.pushback = Some(follower);
                    break;
                }
                "login" | "user" => login = lexer.token(),
                "account" => {
                    lexer.token();
                }
                "password" => password = lexer.token(),
                other => {
                    return Err(error(
                        format!("bad follower token {}", crate::pyrepr::str_repr(other)),
                        lexer.line,
                    ))
                }
            }
        }
        if let Some(Some(message)) = owner_error.filter(|_| login != "anonymous") {
            return Err(NetrcError(format!("{message} (None, line None)")));
        }
        entries.push((name, (login, password)));
    }
}

/// Skips a `macdef` body: the lines up to an empty one.
fn skip_macro(lexer: &mut NetrcLexer) -> Result<(), ()> {
    loop {
        let start = lexer.position;
        if start >= lexer.chars.len() {
            return Err(());
        }
        lexer.skip_line();
        lexer.line += 1;
        let line: String = lexer.chars[start..lexer.position].iter().collect();
        if line == "\n" {
            return Ok(());
        }
    }
}

/// The credentials urllib's basic and digest handlers send in response to a 401, for
/// the network location they were given for (`HTTPPasswordMgrWithDefaultRealm`).
#[derive(Debug, Clone)]
pub(super) struct Credentials {
    pub user: String,
    pub password: String,
    /// The `host[:port]` of the task's URL.
    pub netloc: String,
}

impl Credentials {
    /// Tells whether the credentials apply to `url`, as `find_user_password` decides:
    /// same authority, with or without the scheme's default port.
    pub fn apply_to(&self, url: &str) -> bool {
        let Ok(parts) = super::pyurl::urlsplit(url, "") else {
            return false;
        };
        let default_port = match parts.scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        };
        let with_port = match default_port {
            Some(port) if !parts.netloc.contains(':') => format!("{}:{port}", parts.netloc),
            _ => parts.netloc.clone(),
        };
        with_port == self.netloc || parts.netloc == self.netloc
    }
}

/// The state of urllib's `HTTPDigestAuthHandler` for one request: its retry count
/// and nonce count.
#[derive(Debug, Default)]
pub(super) struct DigestState {
    pub retried: u32,
    nonce_count: u32,
    last_nonce: Option<String>,
}

/// The digest handler's outcome for a 401.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum DigestOutcome {
    /// Not a digest challenge, or no credentials for it: the basic handler is next.
    Pass,
    /// Send the request again with this `Authorization` value.
    Retry(String),
    /// The request fails with `ValueError` (the text), which fails the module.
    Invalid(String),
    /// The request fails with `URLError` (the text).
    Refused(String),
}

impl DigestState {
    /// Responds to a challenge (the first `WWW-Authenticate` header) as
    /// `retry_http_digest_auth` does for a request of `method` to `selector`.
    /// `credentials` is None when they do not apply to the request's URL.
    ///
    /// NOTE: Python's non-standard algorithm `SHA` (SHA-1) is not supported, and the
    /// request fails as for any other unknown algorithm.
    pub fn respond(
        &mut self,
        challenge: &str,
        credentials: Option<&Credentials>,
        method: &str,
        selector: &str,
    ) -> DigestOutcome {
        let scheme = challenge.split_whitespace().next().unwrap_or_default();
        if !scheme.eq_ignore_ascii_case("digest") {
            if scheme.eq_ignore_ascii_case("basic") {
                return DigestOutcome::Pass;
            }
            return DigestOutcome::Invalid(format!(
                "AbstractDigestAuthHandler does not support the following scheme: '{scheme}'"
            ));
        }

        let parameters = challenge.split_once(' ').map_or("", |(_, rest)| rest);
        let fields = parse_challenge(parameters);
        let field = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let (Some(realm), Some(nonce)) = (field("realm"), field("nonce")) else {
            return DigestOutcome::Pass;
        };
        let algorithm = field("algorithm").unwrap_or_else(|| "MD5".to_string());
        if algorithm != "MD5" {
            return DigestOutcome::Invalid(format!(
                "Unsupported digest authentication algorithm {}",
                crate::pyrepr::str_repr(&algorithm)
            ));
        }
        let Some(credentials) = credentials else {
            return DigestOutcome::Pass;
        };

        let qop = field("qop");
        if let Some(qop) = &qop {
            if !qop.split(',').any(|option| option == "auth") {
                return DigestOutcome::Refused(format!("qop '{qop}' is not supported."));
            }
            if self.last_nonce.as_deref() == Some(nonce.as_str()) {
                self.nonce_count += 1;
            } else {
                self.nonce_count = 1;
                self.last_nonce = Some(nonce.clone());
            }
        }
        let challenge = digest_auth::WwwAuthenticateHeader {
            domain: None,
            realm,
            nonce,
            opaque: field("opaque"),
            stale: false,
            algorithm: digest_auth::Algorithm::new(digest_auth::AlgorithmType::MD5, false),
            // Python always responds with `auth`, even where `auth-int` is offered too.
            qop: qop.as_ref().map(|_| vec![digest_auth::Qop::AUTH]),
            userhash: false,
            charset: digest_auth::Charset::ASCII,
            nc: self.nonce_count.saturating_sub(1),
        };
        digest_authorization(challenge, credentials, method, selector)
    }
}

/// Computes the MD5 digest response with digest_auth and formats it as urllib does.
fn digest_authorization(
    mut challenge: digest_auth::WwwAuthenticateHeader,
    credentials: &Credentials,
    method: &str,
    selector: &str,
) -> DigestOutcome {
    let context = digest_auth::AuthContext::new_with_method(
        credentials.user.as_str(),
        credentials.password.as_str(),
        selector,
        Option::<&[u8]>::None,
        digest_auth::HttpMethod::from(method.to_string()),
    );
    match challenge.respond(&context) {
        Ok(authorization) => DigestOutcome::Retry(python_digest_header(&authorization)),
        Err(err) => DigestOutcome::Invalid(err.to_string()),
    }
}

/// Formats the `Authorization` value as urllib's `get_authorization` does.
fn python_digest_header(authorization: &digest_auth::AuthorizationHeader) -> String {
    let mut value = format!(
        "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\"",
        authorization.username,
        authorization.realm,
        authorization.nonce,
        authorization.uri,
        authorization.response
    );
    if let Some(opaque) = authorization
        .opaque
        .as_deref()
        .filter(|opaque| !opaque.is_empty())
    {
        value.push_str(&format!(", opaque=\"{opaque}\""));
    }
    value.push_str(", algorithm=\"MD5\"");
    if authorization.qop.is_some() {
        value.push_str(&format!(
            ", qop=auth, nc={:08x}, cnonce=\"{}\"",
            authorization.nc,
            authorization.cnonce.as_deref().unwrap_or_default()
        ));
    }
    value
}

/// Splits a challenge's `key=value` list as urllib's `parse_http_list` and
/// `parse_keqv_list`: commas inside quotes do not split, quotes are removed.
fn parse_challenge(text: &str) -> Vec<(String, String)> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
            current.push(c);
        } else if c == ',' && !quoted {
            items.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    items.push(current);
    items
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .filter_map(|item| {
            let (key, value) = item.split_once('=')?;
            let value = value
                .strip_prefix('"')
                .and_then(|inner| inner.strip_suffix('"'))
                .unwrap_or(value);
            Some((key.to_string(), value.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netrc_last_machine_then_default() {
        let text = "machine a.example login alice password one\n\
                    # comment line\n\
                    default login bob password two\n\
                    machine a.example user \"al ice\" password \"t\\\"wo\"\n";
        let entries = parse_netrc(text, "/n", None).unwrap();
        let find = |host: &str| {
            entries
                .iter()
                .rev()
                .find(|(name, _)| name == host)
                .map(|(_, entry)| entry.clone())
        };
        assert_eq!(
            find("a.example"),
            Some(("al ice".to_string(), "t\"wo".to_string()))
        );
        assert_eq!(
            find("default"),
            Some(("bob".to_string(), "two".to_string()))
        );
    }

    #[test]
    fn netrc_errors_like_python() {
        assert_eq!(
            parse_netrc("machine h login a password b\nbogus", "/n", None),
            Err(NetrcError("bad follower token 'bogus' (/n, line 2)".into()))
        );
        assert_eq!(
            parse_netrc("login x", "/n", None),
            Err(NetrcError("bad toplevel token 'login' (/n, line 1)".into()))
        );
    }

    #[test]
    fn netrc_from_task_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netrc");
        std::fs::write(&path, "machine h.example login foo password bar\n").unwrap();
        let environment = vec![("NETRC".to_string(), path.display().to_string())];
        assert_eq!(
            netrc_login("h.example", &environment),
            Ok(Some(("foo".to_string(), "bar".to_string())))
        );
        assert_eq!(netrc_login("other.example", &environment), Ok(None));
    }

    #[test]
    fn credentials_match_authority() {
        let credentials = Credentials {
            user: "u".into(),
            password: "p".into(),
            netloc: "h.example".into(),
        };
        assert!(credentials.apply_to("https://h.example/x"));
        assert!(!credentials.apply_to("https://other.example/x"));
        let with_port = Credentials {
            netloc: "h.example:443".into(),
            ..credentials
        };
        assert!(with_port.apply_to("https://h.example/x"));
    }

    #[test]
    fn digest_response_like_urllib() {
        let credentials = Credentials {
            user: "Mufasa".into(),
            password: "Circle Of Life".into(),
            netloc: "h".into(),
        };
        let mut state = DigestState::default();
        // RFC 2617's example challenge, without qop, so that no cnonce is involved.
        let outcome = state.respond(
            "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
            Some(&credentials),
            "GET",
            "/dir/index.html",
        );
        assert_eq!(
            outcome,
            DigestOutcome::Retry(
                "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", response=\"670fd8c2df070c60b045671b8b24ff02\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", algorithm=\"MD5\"".into()
            )
        );
        assert_eq!(
            state.respond("Basic realm=\"x\"", Some(&credentials), "GET", "/"),
            DigestOutcome::Pass
        );
        assert_eq!(
            state.respond("Bearer", Some(&credentials), "GET", "/"),
            DigestOutcome::Invalid(
                "AbstractDigestAuthHandler does not support the following scheme: 'Bearer'".into()
            )
        );
        assert_eq!(
            state.respond(
                "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"",
                Some(&credentials),
                "GET",
                "/"
            ),
            DigestOutcome::Refused("qop 'auth-int' is not supported.".into())
        );
    }
}
