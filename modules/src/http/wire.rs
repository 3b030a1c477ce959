//! One HTTP/1.1 exchange on a new connection, as Python 3.11's `http.client` performs
//! it for urllib. The request goes out exactly as the caller built it (urllib sends
//! no `Accept` header and always `Connection: close`). The response is read by
//! `HTTPResponse.begin`'s rules. The connection is a TCP socket or a Unix socket,
//! optionally through a proxy tunnel, optionally with TLS.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use super::failure::{os_error_text, resolve_host};

/// A readable and writable connection, plain or TLS.
pub(super) trait Stream: Read + Write + Send {}

impl<T: Read + Write + Send> Stream for T {}

/// The address and settings of a connection.
pub(super) struct Endpoint {
    /// The server, or the proxy when there is one.
    pub host: String,
    pub port: u16,
    /// A Unix socket to use instead of connecting to `host` (`unix_socket`).
    pub unix_socket: Option<String>,
    /// `CONNECT host:port` sent to the proxy before TLS, with its headers.
    pub tunnel: Option<Tunnel>,
    /// TLS settings and the server name to verify, for https.
    pub tls: Option<(Arc<rustls::ClientConfig>, String)>,
    /// The socket timeout of every connect, send and receive; None blocks.
    pub timeout: Option<Duration>,
}

pub(super) struct Tunnel {
    pub host: String,
    pub port: u16,
    pub headers: Vec<(String, String)>,
}

/// The request as it goes on the wire.
pub(super) struct Outgoing<'a> {
    pub method: &'a str,
    /// The request target: the selector, or the whole URL for a proxy.
    pub target: &'a str,
    /// Header lines in order, with their final names.
    pub headers: &'a [(String, String)],
    pub body: Option<&'a [u8]>,
}

/// The reason an exchange got no response, split as Python's exceptions are.
#[derive(Debug)]
pub(super) enum WireError {
    /// Connecting or sending failed: urllib wraps the error text in `URLError`.
    Open(String),
    /// The socket failed while waiting for the response; Python raises the `OSError`.
    Receive(std::io::Error),
    /// The server closed the connection without a status line (`RemoteDisconnected`,
    /// an `OSError`).
    Disconnected,
    /// The status line is not HTTP (`BadStatusLine`), with the line as read.
    BadStatusLine(String),
    /// http.client rejected the request before sending it (a `ValueError`).
    Invalid(String),
}

/// A response whose status line and headers have been read.
pub(super) struct Response {
    pub status: u16,
    /// The reason phrase, stripped.
    pub reason: String,
    /// The header lines in order, names as the server sent them.
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Response {
    /// Returns the first value of a header, as `HTTPMessage.get`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Returns every value of a header, as `HTTPMessage.get_all`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// Reads and returns the whole body; a read error ends it early.
    pub fn read_all(self) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut body = self.body;
        let _ = body.read_to_end(&mut bytes);
        bytes
    }
}

/// Python's `_MAXLINE`: the longest status or header line http.client accepts.
const MAX_LINE: usize = 65536;

/// http.client's limit on the number of response headers.
const MAX_HEADERS: usize = 100;

/// Connects, sends `outgoing` and reads the response's status line and headers.
pub(super) fn exchange(endpoint: &Endpoint, outgoing: &Outgoing) -> Result<Response, WireError> {
    let request = encode_request(outgoing)?;
    let mut stream = BufReader::new(connect(endpoint)?);
    stream
        .get_mut()
        .write_all(&request)
        .and_then(|()| stream.get_mut().flush())
        .map_err(|err| WireError::Open(os_error_text(&err)))?;
    read_response(stream, outgoing.method)
}

/// Builds the request line, the header lines and the body as one buffer, after
/// http.client's checks of the target and the header names and values.
fn encode_request(outgoing: &Outgoing) -> Result<Vec<u8>, WireError> {
    let target = if outgoing.target.is_empty() {
        "/"
    } else {
        outgoing.target
    };
    if let Some(bad) = target.chars().find(|c| *c <= ' ' || *c == '\x7f') {
        return Err(WireError::Invalid(format!(
            "URL can't contain control characters. {} (found at least {})",
            crate::pyrepr::str_repr(target),
            crate::pyrepr::str_repr(&bad.to_string())
        )));
    }
    let request_line = format!("{} {target} HTTP/1.1\r\n", outgoing.method);
    let mut request = encode_text(&request_line, "ascii", 0x80).map_err(WireError::Invalid)?;
    for (name, value) in outgoing.headers {
        let name_bytes = encode_text(name, "ascii", 0x80).map_err(WireError::Invalid)?;
        if !legal_header_name(&name_bytes) {
            return Err(WireError::Invalid(format!(
                "Invalid header name {}",
                crate::pyrepr::bytes_repr(&name_bytes)
            )));
        }
        // http.client encodes header values as ISO-8859-1.
        let value_bytes = encode_text(value, "latin-1", 0x100).map_err(WireError::Invalid)?;
        if illegal_header_value(&value_bytes) {
            return Err(WireError::Invalid(format!(
                "Invalid header value {}",
                crate::pyrepr::bytes_repr(&value_bytes)
            )));
        }
        request.extend_from_slice(&name_bytes);
        request.extend_from_slice(b": ");
        request.extend_from_slice(&value_bytes);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    if let Some(body) = outgoing.body {
        request.extend_from_slice(body);
    }
    Ok(request)
}

/// Encodes text whose characters are all below `limit` (ASCII or ISO-8859-1) as
/// bytes, failing with the text of Python's `UnicodeEncodeError`.
fn encode_text(text: &str, codec: &str, limit: u32) -> Result<Vec<u8>, String> {
    let chars: Vec<char> = text.chars().collect();
    let Some(start) = chars.iter().position(|c| u32::from(*c) >= limit) else {
        return Ok(chars.iter().map(|c| u32::from(*c) as u8).collect());
    };
    let run = chars[start..]
        .iter()
        .take_while(|c| u32::from(**c) >= limit)
        .count();
    let what = if run == 1 {
        let code = u32::from(chars[start]);
        let escaped = match code {
            0..=0xff => format!("\\x{code:02x}"),
            0x100..=0xffff => format!("\\u{code:04x}"),
            _ => format!("\\U{code:08x}"),
        };
        format!("character '{escaped}' in position {start}")
    } else {
        format!("characters in position {start}-{}", start + run - 1)
    };
    Err(format!(
        "'{codec}' codec can't encode {what}: ordinal not in range({limit})"
    ))
}

/// http.client's `_is_legal_header_name`: no `:` or white space first, and no `:`,
/// CR or LF at all.
fn legal_header_name(name: &[u8]) -> bool {
    match name.split_first() {
        Some((first, rest)) => {
            !matches!(first, b':' | b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
                && !rest.iter().any(|b| matches!(b, b':' | b'\r' | b'\n'))
        }
        None => false,
    }
}

/// http.client's `_is_illegal_header_value`: a LF not followed by a space or a tab,
/// or a CR not followed by a space, a tab or a LF.
fn illegal_header_value(value: &[u8]) -> bool {
    value.iter().enumerate().any(|(index, byte)| {
        let next = value.get(index + 1);
        match byte {
            b'\n' => !matches!(next, Some(b' ' | b'\t')),
            b'\r' => !matches!(next, Some(b' ' | b'\t' | b'\n')),
            _ => false,
        }
    })
}

/// Opens the socket, the proxy tunnel and the TLS session. Failures are `Open`
/// errors, as urllib reports them.
fn connect(endpoint: &Endpoint) -> Result<Box<dyn Stream>, WireError> {
    let mut socket: Box<dyn Stream> = match &endpoint.unix_socket {
        Some(path) => Box::new(connect_unix(path, endpoint.timeout)?),
        None => Box::new(connect_tcp(
            &endpoint.host,
            endpoint.port,
            endpoint.timeout,
        )?),
    };
    if let Some(tunnel) = &endpoint.tunnel {
        open_tunnel(&mut socket, tunnel)?;
    }
    let Some((config, name)) = &endpoint.tls else {
        return Ok(socket);
    };
    let server_name = rustls::pki_types::ServerName::try_from(name.clone())
        .map_err(|err| WireError::Open(err.to_string()))?;
    let mut session = rustls::ClientConnection::new(config.clone(), server_name)
        .map_err(|err| WireError::Open(super::tls::tls_text(&err)))?;
    // Python's `wrap_socket` completes the handshake before anything is sent.
    while session.is_handshaking() {
        session
            .complete_io(&mut socket)
            .map_err(|err| WireError::Open(handshake_text(&err)))?;
    }
    Ok(Box::new(rustls::StreamOwned::new(session, socket)))
}

/// Returns the text of a failed TLS handshake: OpenSSL's wording of the TLS error,
/// else the socket error.
fn handshake_text(error: &std::io::Error) -> String {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => super::tls::tls_text(tls),
        None if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:992)"
                .to_string()
        }
        None => os_error_text(error),
    }
}

/// Connects to each address of `host` in turn, as `socket.create_connection`, and
/// fails with the last address's error.
fn connect_tcp(host: &str, port: u16, timeout: Option<Duration>) -> Result<TcpStream, WireError> {
    let addresses = resolve_host(host, port).map_err(|err| WireError::Open(err.to_string()))?;
    let mut last_error = None;
    for address in addresses {
        match connect_address(&address, timeout) {
            Ok(stream) => {
                stream
                    .set_read_timeout(timeout)
                    .and_then(|()| stream.set_write_timeout(timeout))
                    .map_err(|err| WireError::Open(os_error_text(&err)))?;
                return Ok(stream);
            }
            Err(err) => last_error = Some(err),
        }
    }
    let error =
        last_error.unwrap_or_else(|| std::io::Error::other("getaddrinfo returns an empty list"));
    Err(WireError::Open(os_error_text(&error)))
}

fn connect_address(address: &SocketAddr, timeout: Option<Duration>) -> std::io::Result<TcpStream> {
    match timeout {
        Some(timeout) => TcpStream::connect_timeout(address, timeout),
        None => TcpStream::connect(address),
    }
}

/// Connects to a Unix socket, failing as ansible-core's `UnixHTTPConnection` does.
fn connect_unix(path: &str, timeout: Option<Duration>) -> Result<UnixStream, WireError> {
    let stream = UnixStream::connect(path).map_err(|err| {
        WireError::Open(format!(
            "Invalid Socket File ({path}): {}",
            crate::files::os_error(&err)
        ))
    })?;
    stream
        .set_read_timeout(timeout)
        .and_then(|()| stream.set_write_timeout(timeout))
        .map_err(|err| WireError::Open(os_error_text(&err)))?;
    Ok(stream)
}

/// Sends `CONNECT` to the proxy and reads its reply, as http.client's `_tunnel`.
fn open_tunnel(socket: &mut Box<dyn Stream>, tunnel: &Tunnel) -> Result<(), WireError> {
    let mut request = format!("CONNECT {}:{} HTTP/1.0\r\n", tunnel.host, tunnel.port);
    for (name, value) in &tunnel.headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let open_error = |err: std::io::Error| WireError::Open(os_error_text(&err));
    socket.write_all(request.as_bytes()).map_err(open_error)?;
    // Read byte by byte, so that nothing of the TLS session that follows is consumed.
    let line = read_raw_line(socket).map_err(open_error)?;
    let (_, status, reason) = parse_status_line(&line).map_err(|error| match error {
        WireError::Disconnected => {
            WireError::Open("Remote end closed connection without response".to_string())
        }
        other => other,
    })?;
    if status != 200 {
        return Err(WireError::Open(format!(
            "Tunnel connection failed: {status} {}",
            reason.trim()
        )));
    }
    loop {
        let line = read_raw_line(socket).map_err(open_error)?;
        if line.is_empty() || line == "\r\n" || line == "\n" {
            return Ok(());
        }
    }
}

fn read_raw_line(socket: &mut Box<dyn Stream>) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() <= MAX_LINE {
        if socket.read(&mut byte)? == 0 {
            break;
        }
        line.push(byte[0]);
        if byte[0] == b'\n' {
            break;
        }
    }
    Ok(latin1(&line))
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Reads one line of at most [`MAX_LINE`] bytes, as `fp.readline(_MAXLINE + 1)`.
fn read_line(stream: &mut BufReader<Box<dyn Stream>>) -> std::io::Result<String> {
    let mut line = Vec::new();
    stream
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)
        .or_else(|err| ragged_eof(err, 0))?;
    Ok(latin1(&line))
}

/// Treats a TLS peer that closes without `close_notify` as the end of the data, as
/// Python's `suppress_ragged_eofs` does.
fn ragged_eof<T>(error: std::io::Error, eof: T) -> std::io::Result<T> {
    if error.kind() == std::io::ErrorKind::UnexpectedEof {
        Ok(eof)
    } else {
        Err(error)
    }
}

/// Splits a status line into version, code and reason, as `_read_status`.
fn parse_status_line(line: &str) -> Result<(String, u16, String), WireError> {
    if line.is_empty() {
        return Err(WireError::Disconnected);
    }
    let bad = || WireError::BadStatusLine(line.to_string());
    let trimmed = line.trim_start();
    let (version, rest) = trimmed
        .split_once(char::is_whitespace)
        .unwrap_or((trimmed.trim_end(), ""));
    let rest = rest.trim_start();
    let (status, reason) = rest
        .split_once(char::is_whitespace)
        .unwrap_or((rest.trim_end(), ""));
    if !version.starts_with("HTTP/") {
        return Err(bad());
    }
    let status: u16 = status.parse().map_err(|_| bad())?;
    if !(100..=999).contains(&status) {
        return Err(bad());
    }
    Ok((version.to_string(), status, reason.to_string()))
}

/// Reads header lines up to the empty line, as `parse_headers`. A line that starts with
/// white space continues the previous header.
fn read_headers(
    stream: &mut BufReader<Box<dyn Stream>>,
) -> Result<Vec<(String, String)>, WireError> {
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let line = read_line(stream).map_err(WireError::Receive)?;
        if line.len() > MAX_LINE {
            return Err(WireError::Receive(std::io::Error::other(
                "got more than 65536 bytes when reading header line",
            )));
        }
        if line.is_empty() || line == "\r\n" || line == "\n" {
            return Ok(headers);
        }
        let text = line.trim_end_matches(['\r', '\n']);
        if text.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str("\r\n");
                value.push_str(text);
            }
            continue;
        }
        if let Some((name, value)) = text.split_once(':') {
            headers.push((
                name.to_string(),
                value.trim_start_matches([' ', '\t']).to_string(),
            ));
        }
        if headers.len() > MAX_HEADERS {
            return Err(WireError::Receive(std::io::Error::other(
                "got more than 100 headers",
            )));
        }
    }
}

/// Reads the status line (skipping `100 Continue` responses) and the headers, and sets
/// up the body reader by `HTTPResponse.begin`'s rules.
fn read_response(
    mut stream: BufReader<Box<dyn Stream>>,
    method: &str,
) -> Result<Response, WireError> {
    let (status, reason) = loop {
        let line = read_line(&mut stream).map_err(WireError::Receive)?;
        if line.len() > MAX_LINE {
            return Err(WireError::Receive(std::io::Error::other(
                "got more than 65536 bytes when reading status line",
            )));
        }
        let (_, status, reason) = parse_status_line(&line)?;
        if status != 100 {
            break (status, reason);
        }
        read_headers(&mut stream)?;
    };
    let headers = read_headers(&mut stream)?;
    let first = |name: &str| {
        headers
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_string())
    };
    let chunked =
        first("transfer-encoding").is_some_and(|value| value.eq_ignore_ascii_case("chunked"));
    let mut length = if chunked {
        None
    } else {
        first("content-length").and_then(|value| value.parse::<u64>().ok())
    };
    if matches!(status, 204 | 304 | 100..=199) || method == "HEAD" {
        length = Some(0);
    }
    let framing = match (chunked && length != Some(0), length) {
        (true, _) => Framing::Chunked {
            remaining: 0,
            done: false,
        },
        (false, Some(length)) => Framing::Length(length),
        (false, None) => Framing::UntilClose,
    };
    Ok(Response {
        status,
        reason: reason.trim().to_string(),
        headers,
        body: Body { stream, framing },
    })
}

/// The body of a response, decoded from its transfer framing.
pub(super) struct Body {
    stream: BufReader<Box<dyn Stream>>,
    framing: Framing,
}

enum Framing {
    /// `Content-Length`: the bytes still to read.
    Length(u64),
    Chunked {
        remaining: u64,
        done: bool,
    },
    /// No length: everything until the server closes the connection.
    UntilClose,
}

impl Read for Body {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        match &mut self.framing {
            Framing::Length(0) => Ok(0),
            Framing::Length(remaining) => {
                let wanted = buffer
                    .len()
                    .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                let read = self
                    .stream
                    .read(&mut buffer[..wanted])
                    .or_else(|err| ragged_eof(err, 0))?;
                if read == 0 {
                    // Python raises `IncompleteRead` for a body shorter than its length.
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("IncompleteRead({remaining} bytes missing)"),
                    ));
                }
                *remaining -= read as u64;
                Ok(read)
            }
            Framing::UntilClose => self.stream.read(buffer).or_else(|err| ragged_eof(err, 0)),
            Framing::Chunked { remaining, done } => {
                if *done {
                    return Ok(0);
                }
                if *remaining == 0 {
                    *remaining = next_chunk_size(&mut self.stream)?;
                    if *remaining == 0 {
                        *done = true;
                        skip_trailers(&mut self.stream)?;
                        return Ok(0);
                    }
                }
                let wanted = buffer
                    .len()
                    .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                let read = self.stream.read(&mut buffer[..wanted])?;
                if read == 0 {
                    return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
                }
                *remaining -= read as u64;
                if *remaining == 0 {
                    // The CRLF after the chunk's data.
                    read_line(&mut self.stream)?;
                }
                Ok(read)
            }
        }
    }
}

/// Reads a chunk-size line, without its `;extensions`.
fn next_chunk_size(stream: &mut BufReader<Box<dyn Stream>>) -> std::io::Result<u64> {
    let line = read_line(stream)?;
    let size = line.split(';').next().unwrap_or_default().trim();
    u64::from_str_radix(size, 16).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "invalid literal for int() with base 16: {}",
                crate::pyrepr::bytes_repr(size.as_bytes())
            ),
        )
    })
}

fn skip_trailers(stream: &mut BufReader<Box<dyn Stream>>) -> std::io::Result<()> {
    loop {
        let line = read_line(stream)?;
        if line.is_empty() || line == "\r\n" || line == "\n" {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response_of(raw: &'static [u8], method: &str) -> Result<Response, WireError> {
        let stream: Box<dyn Stream> = Box::new(std::io::Cursor::new(raw.to_vec()));
        read_response(BufReader::new(stream), method)
    }

    #[test]
    fn chunked_body_decoded() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n";
        let response = response_of(raw, "GET").unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.read_all(), b"hello world");
    }

    #[test]
    fn length_and_head_bodies() {
        let raw = b"HTTP/1.1 404 NOT FOUND \r\nContent-Length: 3\r\nX-A: 1\r\nX-A: 2\r\n\r\nabcdef";
        let response = response_of(raw, "GET").unwrap();
        assert_eq!(response.reason, "NOT FOUND");
        assert_eq!(response.all("x-a"), ["1", "2"]);
        assert_eq!(response.read_all(), b"abc");
        let head = response_of(raw, "HEAD").unwrap();
        assert_eq!(head.read_all(), b"");
    }

    #[test]
    fn continue_skipped_until_close_read() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nall of it";
        let response = response_of(raw, "POST").unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.read_all(), b"all of it");
    }

    #[test]
    fn status_line_failures() {
        assert!(matches!(
            response_of(b"", "GET"),
            Err(WireError::Disconnected)
        ));
        match response_of(b"garbage\r\n", "GET") {
            Err(WireError::BadStatusLine(line)) => assert_eq!(line, "garbage\r\n"),
            _ => panic!("expected BadStatusLine"),
        }
    }

    #[test]
    fn unencodable_text_like_python() {
        assert_eq!(
            encode_text("GET /caf\u{e9} HTTP/1.1", "ascii", 0x80),
            Err("'ascii' codec can't encode character '\\xe9' in position 8: ordinal not in range(128)".into())
        );
        assert_eq!(
            encode_text("a\u{20ac}\u{20ac}", "latin-1", 0x100),
            Err("'latin-1' codec can't encode characters in position 1-2: ordinal not in range(256)".into())
        );
        assert_eq!(
            encode_text("caf\u{e9}", "latin-1", 0x100),
            Ok(b"caf\xe9".to_vec())
        );
        assert!(legal_header_name(b"X Spaced"));
        assert!(!legal_header_name(b" X"));
        assert!(!legal_header_name(b"X:Y"));
        assert!(illegal_header_value(b"a\nb"));
        assert!(!illegal_header_value(b"a\r\n b"));
    }

    #[test]
    fn request_encoded_in_order() {
        let headers = vec![
            ("Accept-Encoding".to_string(), "identity".to_string()),
            ("Host".to_string(), "h".to_string()),
        ];
        let outgoing = Outgoing {
            method: "POST",
            target: "/p?q",
            headers: &headers,
            body: Some(b"x=1"),
        };
        let encoded = encode_request(&outgoing).unwrap();
        assert_eq!(
            encoded,
            b"POST /p?q HTTP/1.1\r\nAccept-Encoding: identity\r\nHost: h\r\n\r\nx=1"
        );
        let bad = Outgoing {
            target: "/a b",
            ..outgoing
        };
        match encode_request(&bad) {
            Err(WireError::Invalid(message)) => assert_eq!(
                message,
                "URL can't contain control characters. '/a b' (found at least ' ')"
            ),
            _ => panic!("expected Invalid"),
        }
    }
}
