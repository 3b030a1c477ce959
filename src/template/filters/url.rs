//! `urlsplit`: the parts of a URL as Python's `urllib.parse.urlsplit` splits it.

use minijinja::value::Value as JValue;
use minijinja::{Environment, Error, State};

use super::{add, ansible, filter_error, Args, Undefined};
use crate::template::pyrepr::py_str;
use crate::template::render::undefined_error;

pub fn register(env: &mut Environment<'static>) {
    add(env, ansible("urlsplit"), Undefined::Reject, urlsplit);
}

/// The attributes of Python's `SplitResult`, in the alphabetical order Ansible's
/// `object_to_dict` lists them.
const COMPONENTS: [&str; 9] = [
    "fragment", "hostname", "netloc", "password", "path", "port", "query", "scheme", "username",
];

fn urlsplit(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = py_str(&args.value).map_err(|_| undefined_error())?;
    let parts = split(&text).map_err(filter_error)?;
    match args.get(0, "query").map(|q| py_str(q).unwrap_or_default()) {
        Some(query) if !query.is_empty() => {
            let index = COMPONENTS
                .iter()
                .position(|c| *c == query)
                .ok_or_else(|| filter_error(format!("urlsplit: unknown URL component: {query}")))?;
            Ok(parts[index].clone())
        }
        _ => Ok(JValue::from(
            COMPONENTS
                .iter()
                .zip(parts)
                .map(|(name, value)| (name.to_string(), value))
                .collect::<std::collections::BTreeMap<String, JValue>>(),
        )),
    }
}

/// Splits `url` into the values of [`COMPONENTS`].
fn split(url: &str) -> Result<Vec<JValue>, String> {
    let (scheme, rest) = match url.split_once(':') {
        Some((scheme, rest)) if is_scheme(scheme) => (scheme.to_ascii_lowercase(), rest),
        _ => (String::new(), url),
    };
    let (netloc, rest) = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            (&after[..end], &after[end..])
        }
        None => ("", rest),
    };
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (userinfo, hostinfo) = match netloc.rsplit_once('@') {
        Some((userinfo, hostinfo)) => (Some(userinfo), hostinfo),
        None => (None, netloc),
    };
    let (username, password) = match userinfo {
        Some(info) => match info.split_once(':') {
            Some((user, password)) => (JValue::from(user), JValue::from(password)),
            None => (JValue::from(info), JValue::from(())),
        },
        None => (JValue::from(()), JValue::from(())),
    };
    let (host, port) = split_host_port(hostinfo);
    let hostname = if host.is_empty() {
        JValue::from(())
    } else {
        JValue::from(host.to_lowercase())
    };
    let port = match port {
        Some(digits) if !digits.is_empty() => {
            let number: u32 = digits
                .parse()
                .map_err(|_| format!("Port could not be cast to integer value as '{digits}'"))?;
            if number > 65535 {
                return Err("Port out of range 0-65535".to_string());
            }
            JValue::from(number)
        }
        _ => JValue::from(()),
    };
    Ok(vec![
        JValue::from(fragment),
        hostname,
        JValue::from(netloc),
        password,
        JValue::from(path),
        port,
        JValue::from(query),
        JValue::from(scheme),
        username,
    ])
}

/// Splits `host:port`, keeping a bracketed IPv6 address whole and dropping its brackets.
fn split_host_port(hostinfo: &str) -> (&str, Option<&str>) {
    if let Some(inside) = hostinfo.strip_prefix('[') {
        let (address, after) = inside.split_once(']').unwrap_or((inside, ""));
        return (address, after.strip_prefix(':'));
    }
    match hostinfo.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (hostinfo, None),
    }
}

/// Python's rule for a URL scheme: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}
