//! The cookies of one `fetch_url` call, as its `CookieJar` collects them.

use crate::{Map, Value};

/// The cookies the responses of one request set, in the order they came.
///
/// NOTE: no domain or path rules and no expiry: every cookie is sent on to the
/// redirects and retries of the same request.
#[derive(Debug, Default)]
pub(super) struct CookieJar {
    cookies: Vec<(String, String)>,
}

impl CookieJar {
    pub fn store(&mut self, response: &super::wire::Response) {
        for header in response.all("set-cookie") {
            let pair = header.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let name = name.trim().to_string();
            let value = value.trim().to_string();
            // A cookie set again keeps its place, as in Python's nested dicts.
            match self.cookies.iter_mut().find(|(known, _)| *known == name) {
                Some((_, known)) => *known = value,
                None => self.cookies.push((name, value)),
            }
        }
    }

    pub fn header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| self.text())
    }

    pub fn text(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn map(&self) -> Map {
        self.cookies
            .iter()
            .map(|(name, value)| (Value::from(name.as_str()), Value::from(value.as_str())))
            .collect()
    }
}
