//! The `uri` module, after ansible-core 2.18's: one HTTP(S) request with a body built
//! from `body_format`, the response's status checked against `status_code`, and a
//! result with the lower-cased response headers, `content` and the parsed `json`.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

pub mod transfer;

use crate::dispatch::ModuleOptions;
use crate::files::{set_attributes_if_different, FileAttributes};
use crate::http::{Client, Fetched, Request, REQUEST_OPTIONS, URL_OPTIONS};
use crate::spec::{Default, Elements, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "uri",
    &[
        URL_OPTIONS[0].required(),
        URL_OPTIONS[1],
        URL_OPTIONS[2],
        URL_OPTIONS[3],
        URL_OPTIONS[4],
        OptionSpec::new("url_username", Kind::Str).aliases(&["user"]),
        OptionSpec::new("url_password", Kind::Str)
            .aliases(&["password"])
            .no_log(),
        URL_OPTIONS[5],
        URL_OPTIONS[6],
        URL_OPTIONS[7],
        URL_OPTIONS[8],
        OptionSpec::new("dest", Kind::Path),
        OptionSpec::new("body", Kind::Raw),
        OptionSpec::new("body_format", Kind::Str)
            .default(Default::Str("raw"))
            .choices(&["form-urlencoded", "json", "raw", "form-multipart"]),
        OptionSpec::new("src", Kind::Path),
        OptionSpec::new("method", Kind::Str).default(Default::Str("GET")),
        OptionSpec::new("return_content", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("follow_redirects", Kind::Str)
            .default(Default::Str("safe"))
            .choices(&["all", "no", "none", "safe", "urllib2", "yes"]),
        OptionSpec::new("creates", Kind::Path),
        OptionSpec::new("removes", Kind::Path),
        OptionSpec::new("status_code", Kind::List(Elements::Int))
            .default(Default::StrList(&["200"])),
        OptionSpec::new("timeout", Kind::Int).default(Default::Int(30)),
        OptionSpec::new("headers", Kind::Dict).default(Default::EmptyMap),
        OptionSpec::new("unix_socket", Kind::Path),
        OptionSpec::new("remote_src", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("ca_path", Kind::Path),
        REQUEST_OPTIONS[0],
        REQUEST_OPTIONS[1],
        REQUEST_OPTIONS[2],
        REQUEST_OPTIONS[3],
    ],
)
.file_common()
.mutually_exclusive(&[&["body", "src"]]);

/// Sub-types (or `+suffix`es) of a content type whose body is parsed as JSON.
const JSON_CANDIDATES: &[&str] = &["json", "javascript"];

/// Result keys whose names keep the `no_log` values they contain (`NO_MODIFY_KEYS`).
const NO_MODIFY_KEYS: &[&str] = &[
    "msg",
    "exception",
    "warnings",
    "deprecations",
    "failed",
    "skipped",
    "changed",
    "rc",
    "stdout",
    "stderr",
    "elapsed",
    "path",
    "location",
    "content_type",
];

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    if options.check_mode {
        // ansible-core's uri action does not support check mode.
        let mut result = Map::new();
        result.insert(Value::from("changed"), Value::Bool(false));
        result.insert(
            Value::from("msg"),
            Value::from("This action (uri) does not support check mode."),
        );
        result.insert(Value::from("skipped"), Value::Bool(true));
        result.insert(Value::from(crate::dispatch::RAISED), Value::Bool(true));
        return result;
    }
    // The uri action transfers files, so ansible-core makes it a remote temporary
    // directory (`ansible-tmp-...`), which the module uses, even with pipelining.
    let options = &ModuleOptions {
        pipelining: false,
        ..options.clone()
    };
    let mut params = params.clone();
    let transferred = match transfer::write_files(&mut params, options) {
        Ok(transferred) => transferred,
        Err(result) => return result,
    };
    // The action removes its temporary directory, with the files, after the module.
    let mut result = match run_checked(&params, options) {
        Ok(result) | Err(result) => result,
    };
    if transferred.is_some() {
        // The module received the paths on the target, which its invocation shows.
        let mut invocation = Map::new();
        invocation.insert(
            Value::from("module_args"),
            Value::map(params.module_args(&SPEC)),
        );
        result.insert(Value::from("invocation"), Value::map(invocation));
        if let Value::Map(hidden) = params.hide_no_log_values(Value::map(result.clone())) {
            result = std::sync::Arc::unwrap_or_clone(hidden);
        }
    }
    drop(transferred);
    result
}

fn run_checked(params: &Params, options: &ModuleOptions) -> Result<Map, Map> {
    let url = params.string("url").unwrap_or_default();
    let method = params.string("method").unwrap_or_default().to_uppercase();
    if method.is_empty() || !method.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(fail(
            "Parameter 'method' needs to be a single word in uppercase, like GET or POST.",
        ));
    }
    let mut headers: Vec<(String, String)> = params
        .get("headers")
        .and_then(Value::as_map)
        .map(|headers| {
            headers
                .iter()
                .map(|(name, value)| (crate::pyrepr::str(name), crate::pyrepr::str(value)))
                .collect()
        })
        .unwrap_or_default();
    let mut body = request_body(params, &mut headers)?;
    if let Some(exit) = creates_or_removes(params) {
        return Ok(exit);
    }
    if let Some(src) = params.string("src") {
        body = Some(read_source(&src, &mut headers)?);
    }
    let dest = params.string("dest");
    let modified_since = dest
        .as_deref()
        .filter(|dest| Path::new(dest).is_file())
        .and_then(|dest| {
            std::fs::metadata(dest)
                .and_then(|meta| meta.modified())
                .ok()
        });
    let request = Request {
        method,
        url: url.clone(),
        headers,
        body,
        timeout: Duration::from_secs(params.int("timeout").unwrap_or(30).max(0) as u64),
        force: params.flag("force"),
        modified_since,
    };
    let client = Client::from_params(params, &options.environment);
    let start = Instant::now();
    let mut fetched = crate::http::fetch(&client, &request)?;
    let elapsed = crate::http::elapsed_seconds(start);
    Response::new(params, options, &url, dest, elapsed).into_result(&mut fetched)
}

fn fail(msg: &str) -> Map {
    crate::dispatch::failed(msg.to_string())
}

/// Builds the request body `body_format` makes of `body`, adding the matching
/// `Content-Type` unless the task set one.
fn request_body(
    params: &Params,
    headers: &mut Vec<(String, String)>,
) -> Result<Option<Vec<u8>>, Map> {
    let body = params.get("body");
    let format = params
        .string("body_format")
        .unwrap_or_default()
        .to_lowercase();
    let set_type = |headers: &mut Vec<(String, String)>, kind: &str| {
        let typed = headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if !typed {
            set_header(headers, "Content-Type", kind.to_string());
        }
    };
    let text = match format.as_str() {
        "json" => {
            set_type(headers, "application/json");
            Some(match body {
                Some(Value::Str(text) | Value::Unsafe(text)) => text.to_string(),
                Some(value) => json_text(value),
                None => "null".to_string(),
            })
        }
        "form-urlencoded" => {
            let text = match body {
                Some(Value::Str(text) | Value::Unsafe(text)) => Some(text.to_string()),
                Some(value) => Some(form_urlencoded(value).map_err(|msg| {
                    let mut result = fail(&msg);
                    result.insert(Value::from("elapsed"), Value::Int(0));
                    result
                })?),
                None => None,
            };
            set_type(headers, "application/x-www-form-urlencoded");
            text
        }
        "form-multipart" => {
            let fields = body.unwrap_or(&Value::Null);
            let (content_type, bytes) = crate::http::multipart::prepare_multipart(fields)
                .map_err(|msg| fail(&format!("failed to parse body as form-multipart: {msg}")))?;
            set_header(headers, "Content-Type", content_type);
            return Ok(Some(bytes));
        }
        _ => body.map(crate::pyrepr::str),
    };
    Ok(text.map(String::into_bytes))
}

/// `json.dumps` with Python's default separators and ASCII escapes.
fn json_text(value: &Value) -> String {
    crate::json::dumps(
        value,
        crate::json::DumpOptions {
            indent: None,
            sort_keys: false,
            ensure_ascii: true,
        },
    )
}

/// Encodes a mapping or a list of pairs as `application/x-www-form-urlencoded`, as
/// Python's `urlencode(..., doseq=True)` does. A list value repeats its key, and None
/// is left out.
fn form_urlencoded(body: &Value) -> Result<String, String> {
    let pairs: Vec<(Value, Value)> = match body {
        Value::Map(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Value::List(items) => {
            let mut pairs = Vec::new();
            for item in items.iter() {
                match item.as_list() {
                    Some([key, value]) => pairs.push((key.clone(), value.clone())),
                    _ => {
                        return Err(
                            "failed to parse body as form_urlencoded: too many values to unpack (expected 2)"
                                .to_string(),
                        )
                    }
                }
            }
            pairs
        }
        other => return Ok(crate::pyrepr::str(other)),
    };
    let mut encoded = Vec::new();
    for (key, values) in pairs {
        let values = match &values {
            Value::List(items) => items.to_vec(),
            Value::Map(map) => map.keys().cloned().collect(),
            other => vec![other.clone()],
        };
        for value in values.iter().filter(|value| !value.is_null()) {
            encoded.push(format!(
                "{}={}",
                quote_plus(&crate::pyrepr::str(&key)),
                quote_plus(&crate::pyrepr::str(value))
            ));
        }
    }
    Ok(encoded.join("&"))
}

/// Python's `quote_plus`: letters, digits and `_.-~` stay, spaces become `+`, every
/// other byte of the UTF-8 text becomes `%XX`.
fn quote_plus(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Returns the result when `creates` exists or `removes` does not, so that nothing is
/// requested.
fn creates_or_removes(params: &Params) -> Option<Map> {
    let skipped = |stdout: String| {
        let mut result = Map::new();
        result.insert(Value::from("stdout"), Value::from(stdout));
        result.insert(Value::from("changed"), Value::Bool(false));
        result
    };
    if let Some(creates) = params.string("creates") {
        if Path::new(&creates).exists() {
            return Some(skipped(format!("skipped, since '{creates}' exists")));
        }
    }
    if let Some(removes) = params.string("removes") {
        if !Path::new(&removes).exists() {
            return Some(skipped(format!(
                "skipped, since '{removes}' does not exist"
            )));
        }
    }
    None
}

/// Reads `src` on the target (where the action put a controller file) and sets its
/// size as `Content-Length`.
fn read_source(src: &str, headers: &mut Vec<(String, String)>) -> Result<Vec<u8>, Map> {
    let data = std::fs::read(src).map_err(|_| {
        let mut result = fail(&format!("Unable to open source file {src}"));
        result.insert(Value::from("elapsed"), Value::Int(0));
        result
    })?;
    set_header(headers, "Content-Length", data.len().to_string());
    Ok(data)
}

/// Sets a header as a Python dict item: a field of the same spelling keeps its place.
fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: String) {
    match headers.iter_mut().find(|(known, _)| known == name) {
        Some((_, known)) => *known = value,
        None => headers.push((name.to_string(), value)),
    }
}

/// The request's URL, `dest` and timing, from which the module builds its result.
struct Response<'a> {
    params: &'a Params,
    options: &'a ModuleOptions,
    url: &'a str,
    dest: Option<String>,
    elapsed: i64,
}

impl<'a> Response<'a> {
    fn new(
        params: &'a Params,
        options: &'a ModuleOptions,
        url: &'a str,
        dest: Option<String>,
        elapsed: i64,
    ) -> Self {
        Response {
            params,
            options,
            url,
            dest,
            elapsed,
        }
    }

    fn into_result(self, fetched: &mut Fetched) -> Result<Map, Map> {
        let status_codes: Vec<i64> = self
            .params
            .get("status_code")
            .and_then(Value::as_list)
            .map(|codes| codes.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_else(|| vec![200]);
        let return_content = self.params.flag("return_content");
        let status = fetched.status();
        let content_type = ContentType::of(fetched);
        let maybe_json = content_type.is_json();
        let maybe_output = maybe_json || return_content || !status_codes.contains(&status);

        // An HTTP error raised without a response has the text '' as its body, which
        // Python does not decode, so the result's `content` is None.
        let body_is_text = !fetched.has_response && fetched.info.contains_key("body");
        let content: Option<Vec<u8>> = if maybe_output {
            Some(match fetched.body.as_mut() {
                Some(body) => {
                    let mut bytes = Vec::new();
                    let _ = body.read_to_end(&mut bytes);
                    bytes
                }
                None => fetched
                    .info
                    .shift_remove("body")
                    .map(|body| crate::pyrepr::str(&body).into_bytes())
                    .unwrap_or_default(),
            })
        } else {
            None
        };

        let mut resp = Map::new();
        resp.insert(
            Value::from("redirected"),
            Value::Bool(fetched.url() != self.url),
        );
        resp.extend(fetched.info.clone());
        resp.insert(Value::from("elapsed"), Value::Int(self.elapsed));
        resp.insert(Value::from("status"), Value::Int(status));
        resp.insert(Value::from("changed"), Value::Bool(false));

        if let Some(dest) = self.dest.clone() {
            if fetched.has_response {
                let dest = self.final_dest(&dest, fetched);
                if status_codes.contains(&status) && status != 304 {
                    let bytes = match content.clone() {
                        Some(bytes) => bytes,
                        None => {
                            let mut bytes = Vec::new();
                            if let Some(body) = fetched.body.as_mut() {
                                let _ = body.read_to_end(&mut bytes);
                            }
                            bytes
                        }
                    };
                    self.write_dest(&dest, &bytes, &mut resp)?;
                }
                resp.insert(Value::from("path"), Value::from(dest));
            }
        }

        let mut uresp = Map::new();
        for (key, value) in resp {
            let key = crate::pyrepr::str(&key).replace('-', "_").to_lowercase();
            uresp.insert(Value::from(key), value);
        }
        if let Some(location) = uresp.get("location").map(crate::pyrepr::str) {
            let joined = crate::http::pyurl::urljoin(self.url, &location);
            uresp.insert(Value::from("location"), Value::from(joined));
        }
        let text = content
            .filter(|_| !body_is_text)
            .map(|bytes| content_type.decode(&bytes));
        if maybe_json {
            if let Some(json) = text
                .as_deref()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            {
                uresp.insert(Value::from("json"), Value::from(json));
            }
        }
        if !self.params.no_log_values.is_empty() {
            uresp = self.params.sanitize_keys(uresp, NO_MODIFY_KEYS);
        }
        // `exit_json(content=..., **uresp)`: `content` comes first, and `fail_json` puts
        // `failed` and `msg` last.
        let mut result = Map::new();
        if return_content {
            result.insert(
                Value::from("content"),
                text.map(Value::from).unwrap_or_default(),
            );
        }
        if status_codes.contains(&status) {
            result.extend(uresp);
            return Ok(result);
        }
        let codes: Vec<String> = status_codes.iter().map(i64::to_string).collect();
        let msg = format!(
            "Status code was {status} and not [{}]: {}",
            codes.join(", "),
            uresp
                .shift_remove("msg")
                .map(|msg| crate::pyrepr::str(&msg))
                .unwrap_or_default()
        );
        result.extend(uresp);
        result.insert(Value::from("failed"), Value::Bool(true));
        result.insert(Value::from("msg"), Value::from(msg));
        Err(result)
    }

    /// `dest`, or for a directory the file name from `Content-Disposition`, else from
    /// the final URL, else `index.html`.
    fn final_dest(&self, dest: &str, fetched: &Fetched) -> String {
        if !Path::new(dest).is_dir() {
            return dest.to_string();
        }
        let from_header = fetched
            .header("content-disposition")
            .and_then(|header| header_param(&header, "filename"));
        let from_url = crate::http::pyurl::urlparse(&fetched.url(), "")
            .ok()
            .and_then(|parts| {
                let path = parts.path.trim_end_matches('/').to_string();
                let name = path.rsplit('/').next().unwrap_or_default().to_string();
                (!name.is_empty()).then(|| crate::http::pyurl::unquote(&name))
            });
        let name = from_header
            .or(from_url)
            .unwrap_or_else(|| "index.html".to_string());
        Path::new(dest).join(name).display().to_string()
    }

    /// Writes the content to a temporary file and moves it over `dest` when it differs,
    /// then applies owner, group and mode, as uri's `write_file`. uri reports
    /// `changed` for every written response, as ansible-core's does.
    fn write_dest(&self, dest: &str, content: &[u8], resp: &mut Map) -> Result<(), Map> {
        let path = Path::new(dest);
        let failed_with = |error: String, resp: &Map| {
            let mut failed = resp.clone();
            let msg = failed
                .shift_remove("msg")
                .map(|msg| crate::pyrepr::str(&msg))
                .filter(|msg| !msg.is_empty());
            failed.insert(Value::from("failed"), Value::Bool(true));
            let text = match msg {
                Some(msg) => format!("{error} {msg}"),
                None => error,
            };
            failed.insert(Value::from("msg"), Value::from(text));
            failed
        };
        let directory = crate::get_url::TempDir::create(self.options).map_err(|err| {
            let error = format!(
                "Failed to create temporary content file: {}",
                crate::files::os_error(&err)
            );
            failed_with(error, resp)
        })?;
        let tmpsrc = crate::get_url::write_temp_file(&directory.0, content).map_err(|err| {
            let error = format!(
                "Failed to create temporary content file: {}",
                crate::files::os_error(&err)
            );
            failed_with(error, resp)
        })?;
        let current = std::fs::read(path).ok();
        if current.as_deref() != Some(content) {
            replace_file(&tmpsrc, path)?;
        }
        drop(directory);
        let attributes = FileAttributes::from_params(self.params);
        set_attributes_if_different(path, &attributes, false, &mut None)
            .map_err(|failure| failure.into_result())?;
        resp.insert(Value::from("changed"), Value::Bool(true));
        Ok(())
    }
}

/// Moves `source` over `dest` as ansible-core's `atomic_move`: a rename, or for a
/// `dest` on another filesystem, a copy next to `dest` renamed into place. A failed
/// rename fails with `atomic_move`'s message.
fn replace_file(source: &Path, dest: &Path) -> Result<(), Map> {
    use std::os::unix::fs::MetadataExt;
    let parent = dest
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let other_device = match (std::fs::metadata(source), std::fs::metadata(parent)) {
        (Ok(a), Ok(b)) => a.dev() != b.dev(),
        _ => false,
    };
    let moved = if other_device {
        crate::get_url::move_into_place(source, dest)
    } else {
        crate::files::atomic_move(source, dest)
    };
    let Err(error) = moved else {
        return Ok(());
    };
    let bytes = |path: &Path| {
        use std::os::unix::ffi::OsStrExt;
        crate::pyrepr::bytes_repr(path.as_os_str().as_bytes())
    };
    let mut failed = crate::dispatch::failed(format!(
        "Could not replace file: {} to {}: {}: {} -> {}",
        source.display(),
        dest.display(),
        crate::files::os_error(&error),
        bytes(source),
        bytes(dest)
    ));
    let class = match error.raw_os_error() {
        Some(libc::ENOENT) => "FileNotFoundError",
        Some(libc::EISDIR) => "IsADirectoryError",
        Some(libc::ENOTDIR) => "NotADirectoryError",
        Some(libc::EEXIST) => "FileExistsError",
        _ => "OSError",
    };
    failed.insert(
        Value::from("exception"),
        Value::from(format!(
            "Traceback (most recent call last):\n{class}: {}: {} -> {}\n",
            crate::files::os_error(&error),
            bytes(source),
            bytes(dest)
        )),
    );
    Err(failed)
}

/// Returns a parameter of a header value (`attachment; filename="a.txt"`), unquoted.
fn header_param(header: &str, name: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|part| {
        let (key, value) = part.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// The response's content type as `parse_content_type` reads it.
struct ContentType {
    sub_type: String,
    charset: String,
}

impl ContentType {
    fn of(fetched: &Fetched) -> ContentType {
        if !fetched.has_response {
            return ContentType {
                sub_type: "octet-stream".to_string(),
                charset: "utf-8".to_string(),
            };
        }
        // Python's email parser falls back to `text/plain` for a missing or malformed
        // Content-Type.
        let header = fetched.header("content-type").unwrap_or_default();
        let full = header
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_lowercase();
        let full = if full.matches('/').count() == 1 {
            full
        } else {
            "text/plain".to_string()
        };
        let sub_type = full
            .split(',')
            .next()
            .unwrap_or_default()
            .split_once('/')
            .map(|(_, sub)| sub.to_string())
            .unwrap_or_default();
        let charset = header_param(&header, "charset")
            .map(|charset| charset.split(',').next().unwrap_or_default().to_string())
            .unwrap_or_else(|| "utf-8".to_string());
        ContentType { sub_type, charset }
    }

    fn is_json(&self) -> bool {
        let candidate = match self.sub_type.split_once('+') {
            Some((_, suffix)) => suffix,
            None => self.sub_type.as_str(),
        };
        !candidate.is_empty() && JSON_CANDIDATES.contains(&candidate)
    }

    /// Decodes the content in the response's charset.
    fn decode(&self, bytes: &[u8]) -> String {
        match encoding_rs::Encoding::for_label(self.charset.as_bytes()) {
            Some(encoding) => encoding.decode_without_bom_handling(bytes).0.into_owned(),
            None => String::from_utf8_lossy(bytes).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_floats_parsed_as_python() {
        // From pass0.json, the JSON_checker sample that ansible-core's uri target serves.
        for (text, expected) in [
            ("1.234567890E+34", 1.23456789e34),
            ("23456789012E66", 2.3456789012e76),
        ] {
            let parsed = serde_json::from_str::<serde_json::Value>(text).unwrap();
            assert_eq!(parsed.as_f64(), Some(expected), "for {text}");
        }
    }

    #[test]
    fn form_bodies_like_urlencode() {
        let mut body = Map::new();
        body.insert(Value::from("x"), Value::Int(1));
        body.insert(Value::from("y"), Value::from("a b&c"));
        body.insert(
            Value::from("z"),
            Value::list(vec![Value::from("1"), Value::Null, Value::from("2")]),
        );
        assert_eq!(
            form_urlencoded(&Value::map(body)).unwrap(),
            "x=1&y=a+b%26c&z=1&z=2"
        );
    }

    #[test]
    fn json_suffix_types() {
        let of = |sub_type: &str| ContentType {
            sub_type: sub_type.to_string(),
            charset: "utf-8".to_string(),
        };
        assert!(of("json").is_json());
        assert!(of("vnd.api+json").is_json());
        assert!(of("javascript").is_json());
        assert!(!of("plain").is_json());
    }

    #[test]
    fn header_params_unquoted() {
        assert_eq!(
            header_param("attachment; filename=\"r.txt\"", "filename").as_deref(),
            Some("r.txt")
        );
        assert_eq!(
            header_param("text/html; charset=ISO-8859-1", "charset").as_deref(),
            Some("ISO-8859-1")
        );
    }

    #[test]
    fn lower_case_method_accepted_bad_rejected() {
        let mut args = Map::new();
        args.insert(Value::from("url"), Value::from("http://127.0.0.1:9/"));
        args.insert(Value::from("method"), Value::from("GE T"));
        let params = SPEC.validate(&args).unwrap();
        let result = run(&params, &ModuleOptions::default());
        assert_eq!(
            result.get("msg"),
            Some(&Value::from(
                "Parameter 'method' needs to be a single word in uppercase, like GET or POST."
            ))
        );
    }
}
