//! `multipart/form-data` bodies as ansible-core's `prepare_multipart` builds them with
//! Python's `email` package (policy `HTTP`): parts in the order of their field names,
//! CRLF line endings, and files sent base64-encoded, with the `Content-Type` their
//! name suggests to Python's `mimetypes`.

use base64::Engine as _;

use crate::{Map, Value};

/// Builds the body of `fields` and returns its `Content-Type` header value and bytes.
/// An error is the text of the `TypeError` or `ValueError` Python raises.
pub fn prepare_multipart(fields: &Value) -> Result<(String, Vec<u8>), String> {
    let Value::Map(fields) = fields else {
        return Err(format!(
            "Mapping is required, cannot be type {}",
            fields.type_name()
        ));
    };
    let mut named: Vec<(String, &Value)> = fields
        .iter()
        .map(|(name, value)| (crate::pyrepr::str(name), value))
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut parts = Vec::new();
    for (name, value) in named {
        parts.push(part(&name, value)?);
    }
    let boundary = boundary();
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        for (header, value) in &part.headers {
            body.extend_from_slice(format!("{header}: {value}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.payload);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((
        format!("multipart/form-data; boundary=\"{boundary}\""),
        body,
    ))
}

/// One part: its header lines and its payload, with CRLF line endings.
struct Part {
    headers: Vec<(&'static str, String)>,
    payload: Vec<u8>,
}

fn part(name: &str, value: &Value) -> Result<Part, String> {
    let disposition = |filename: Option<&str>| {
        let mut text = format!("form-data; {}", header_param("name", name));
        if let Some(filename) = filename {
            let base = filename.rsplit('/').next().unwrap_or_default();
            text.push_str(&format!("; {}", header_param("filename", base)));
        }
        text
    };
    let fields = match value {
        Value::Str(text) | Value::Unsafe(text) => {
            return Ok(Part {
                headers: vec![
                    ("Content-Type", "text/plain".to_string()),
                    ("Content-Disposition", disposition(None)),
                ],
                payload: crlf_lines(text.as_bytes()),
            })
        }
        Value::Map(fields) => fields,
        other => {
            return Err(format!(
                "value must be a string, or mapping, cannot be type {}",
                other.type_name()
            ))
        }
    };
    let text_of = |key: &str| -> Option<String> {
        map_get(fields, key)
            .filter(|value| value.is_truthy())
            .map(crate::pyrepr::str)
    };
    let filename = text_of("filename");
    let content = text_of("content");
    if filename.is_none() && content.is_none() {
        return Err("at least one of filename or content must be provided".to_string());
    }
    let mime = text_of("mime_type").unwrap_or_else(|| {
        guess_type(filename.as_deref().unwrap_or_default())
            .unwrap_or_else(|| "application/octet-stream".to_string())
    });
    let (main_type, sub_type) = mime.split_once('/').unwrap_or((mime.as_str(), ""));
    let content_type = format!("{main_type}/{sub_type}");
    match (content, &filename) {
        (None, Some(path)) => {
            let data = std::fs::read(path).map_err(|err| {
                crate::files::os_error_with_path(&err, std::path::Path::new(path))
            })?;
            Ok(Part {
                headers: vec![
                    ("Content-Transfer-Encoding", "base64".to_string()),
                    ("Content-Type", content_type),
                    ("Content-Disposition", disposition(Some(path))),
                ],
                payload: base64_lines(&data),
            })
        }
        (content, _) => Ok(Part {
            headers: vec![
                ("Content-Type", content_type),
                ("Content-Disposition", disposition(filename.as_deref())),
            ],
            payload: crlf_lines(content.unwrap_or_default().as_bytes()),
        }),
    }
}

fn map_get<'a>(map: &'a Map, key: &str) -> Option<&'a Value> {
    map.get(&Value::from(key))
}

/// Formats a header parameter as `email.message._formatparam`: quoted, with `\` and
/// `"` escaped, or RFC 2231-encoded for text beyond ASCII.
fn header_param(name: &str, value: &str) -> String {
    if value.is_empty() {
        return name.to_string();
    }
    if !value.is_ascii() {
        let encoded: String = value
            .bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                    char::from(byte).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect();
        return format!("{name}*=utf-8''{encoded}");
    }
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    format!("{name}=\"{escaped}\"")
}

/// Converts `\r\n`, `\r` and `\n` line ends to CRLF, as the generator writes lines.
fn crlf_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut index = 0;
    while index < data.len() {
        match data[index] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if data.get(index + 1) == Some(&b'\n') {
                    index += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            byte => out.push(byte),
        }
        index += 1;
    }
    out
}

/// Base64 in lines of 76 characters, each ended by CRLF, as `base64.encodebytes`.
fn base64_lines(data: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Makes a boundary as `email.generator` does: 15 `=`, a random number of 19 digits
/// and `==`.
fn boundary() -> String {
    let mut bytes = [0u8; 8];
    let random = std::fs::File::open("/dev/urandom")
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut bytes))
        .map(|()| u64::from_ne_bytes(bytes))
        .unwrap_or_else(|_| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos() as u64)
                .unwrap_or_default()
        });
    format!("==============={:019}==", random % (i64::MAX as u64))
}

/// Python's `mimetypes.guess_type(name, strict=False)[0]`: the type of the last
/// extension, after expanding the compound suffixes (`.tgz`) and removing an encoding
/// suffix (`.gz`).
///
/// The types of the host's `mime.types` files come first, as Python reads them over its
/// built-in table.
///
/// NOTE: mime_guess's table replaces Python's built-in one, so an extension that no
/// `mime.types` file lists may get another type than Python gives it.
fn guess_type(name: &str) -> Option<String> {
    let (mut base, mut extension) = split_extension(name);
    loop {
        let expanded = match extension.to_lowercase().as_str() {
            ".svgz" => ".svg.gz",
            ".tgz" | ".taz" | ".tz" => ".tar.gz",
            ".tbz2" => ".tar.bz2",
            ".txz" => ".tar.xz",
            _ => break,
        };
        let joined = format!("{base}{expanded}");
        let (next_base, next_extension) = split_extension(&joined);
        base = next_base;
        extension = next_extension;
    }
    if matches!(extension.as_str(), ".gz" | ".Z" | ".bz2" | ".xz" | ".br") {
        extension = split_extension(&base).1;
    }
    let extension = extension.strip_prefix('.')?;
    let known = host_mime_types();
    let listed = |wanted: &str| {
        known
            .iter()
            .rev()
            .find(|(listed, _)| listed == wanted)
            .map(|(_, kind)| kind.clone())
    };
    listed(extension)
        .or_else(|| listed(&extension.to_lowercase()))
        .or_else(|| {
            mime_guess::from_ext(&extension.to_lowercase())
                .first_raw()
                .map(str::to_string)
        })
}

/// The files Python's `mimetypes` reads (`knownfiles`), in its order.
const MIME_TYPES_FILES: &[&str] = &[
    "/etc/mime.types",
    "/etc/httpd/mime.types",
    "/etc/httpd/conf/mime.types",
    "/etc/apache/mime.types",
    "/etc/apache2/mime.types",
    "/usr/local/etc/httpd/conf/mime.types",
    "/usr/local/lib/netscape/mime.types",
    "/usr/local/etc/mime.types",
];

/// Returns (extension, type) for each extension the host's `mime.types` files list; a
/// later entry overrides an earlier one.
fn host_mime_types() -> Vec<(String, String)> {
    let mut types = Vec::new();
    for path in MIME_TYPES_FILES {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        types.extend(parse_mime_types(&text));
    }
    types
}

/// Reads `TYPE EXTENSION...` lines, without `#` comments, as `MimeTypes.readfp`.
fn parse_mime_types(text: &str) -> Vec<(String, String)> {
    let mut types = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        let Some(kind) = words.next() else {
            continue;
        };
        for extension in words {
            types.push((extension.to_string(), kind.to_string()));
        }
    }
    types
}

/// Splits the extension off a path as `posixpath.splitext`: from the last dot of the
/// last component, unless that component is only dots before it.
fn split_extension(path: &str) -> (String, String) {
    let name_start = path.rfind('/').map_or(0, |slash| slash + 1);
    let name = &path[name_start..];
    match name.rfind('.') {
        Some(dot) if name[..dot].chars().any(|c| c != '.') => {
            let at = name_start + dot;
            (path[..at].to_string(), path[at..].to_string())
        }
        _ => (path.to_string(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_without_boundary(fields: &Value) -> (String, String) {
        let (content_type, body) = prepare_multipart(fields).unwrap();
        let boundary = content_type
            .split("boundary=\"")
            .nth(1)
            .unwrap()
            .trim_end_matches('"')
            .to_string();
        assert_eq!(boundary.len(), 36, "{boundary}");
        (
            content_type.replace(&boundary, "B"),
            String::from_utf8(body).unwrap().replace(&boundary, "B"),
        )
    }

    #[test]
    fn multipart_like_prepare_multipart() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("formdata.txt");
        std::fs::write(&file, "_multipart/form-data_\n").unwrap();
        let mut file_field = Map::new();
        file_field.insert(
            Value::from("filename"),
            Value::from(file.display().to_string()),
        );
        let mut content_field = Map::new();
        content_field.insert(Value::from("content"), Value::from("c1\nc2\n"));
        content_field.insert(Value::from("filename"), Value::from("f.tgz"));
        let mut fields = Map::new();
        fields.insert(Value::from("text"), Value::from("l1\r\nl2"));
        fields.insert(Value::from("file1"), Value::map(file_field));
        fields.insert(Value::from("c"), Value::map(content_field));
        let (content_type, body) = body_without_boundary(&Value::map(fields));
        assert_eq!(content_type, "multipart/form-data; boundary=\"B\"");
        // The bytes Python 3.11's prepare_multipart writes for the same fields.
        assert_eq!(
            body,
            "--B\r\nContent-Type: application/x-tar\r\nContent-Disposition: form-data; name=\"c\"; filename=\"f.tgz\"\r\n\r\nc1\r\nc2\r\n\r\n\
             --B\r\nContent-Transfer-Encoding: base64\r\nContent-Type: text/plain\r\nContent-Disposition: form-data; name=\"file1\"; filename=\"formdata.txt\"\r\n\r\nX211bHRpcGFydC9mb3JtLWRhdGFfCg==\r\n\r\n\
             --B\r\nContent-Type: text/plain\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nl1\r\nl2\r\n\
             --B--\r\n"
        );
    }

    #[test]
    fn multipart_rejects_like_python() {
        let mut fields = Map::new();
        fields.insert(Value::from("integer_value"), Value::Int(1));
        assert_eq!(
            prepare_multipart(&Value::map(fields)).unwrap_err(),
            "value must be a string, or mapping, cannot be type int"
        );
        assert_eq!(
            prepare_multipart(&Value::from("x")).unwrap_err(),
            "Mapping is required, cannot be type str"
        );
        let mut empty = Map::new();
        empty.insert(Value::from("f"), Value::map(Map::new()));
        assert_eq!(
            prepare_multipart(&Value::map(empty)).unwrap_err(),
            "at least one of filename or content must be provided"
        );
    }

    #[test]
    fn mime_types_like_mimetypes() {
        assert_eq!(
            guess_type("/a/b/c.tar.gz").as_deref(),
            Some("application/x-tar")
        );
        assert_eq!(guess_type("x.JSON").as_deref(), Some("application/json"));
        assert_eq!(guess_type("noext"), None);
        assert_eq!(guess_type(".bashrc"), None);
        assert_eq!(
            split_extension("/a.b/c"),
            ("/a.b/c".to_string(), String::new())
        );
    }
}
