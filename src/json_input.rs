//! Reading untrusted JSON while collecting every problem with the path that caused it.
//!
//! serde stops at the first error and names no path; admins fixing a config and engineers wiring
//! a host need all of them at once, so inputs are walked by hand through these helpers.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::Problem;

/// Collects problems while an input document is read.
#[derive(Debug, Default)]
pub struct Checker {
    pub problems: Vec<Problem>,
}

/// How the host parses and writes JSON text and decimals, with the `host-json` feature: the
/// sidebar's WebAssembly boundary installs the browser's `JSON.parse`, `JSON.stringify` and
/// `parseFloat` (correctly rounded), which keeps serde_json's parser and Rust's float tables (15 KB
/// of the sidebar's gzipped download) out of it.
#[cfg(feature = "host-json")]
pub struct HostJson {
    pub parse: fn(&str) -> Result<Value, String>,
    pub stringify: fn(&Value) -> String,
    pub parse_decimal: fn(&str) -> Option<f64>,
}

#[cfg(feature = "host-json")]
static HOST_JSON: std::sync::OnceLock<HostJson> = std::sync::OnceLock::new();

/// Installs the host's functions; the first installation stays.
#[cfg(feature = "host-json")]
pub fn install_host_json(host: HostJson) {
    let _ = HOST_JSON.set(host);
}

#[cfg(feature = "host-json")]
pub(crate) fn host_json() -> Option<&'static HostJson> {
    HOST_JSON.get()
}

/// JSON text to a value (with `host-json`, by the host's parser).
pub fn parse_text(text: &str) -> Result<Value, String> {
    #[cfg(feature = "host-json")]
    return host_json()
        .ok_or_else(|| "no JSON parser was installed (json_input::install_host_json)".to_string())
        .and_then(|host| (host.parse)(text));
    #[cfg(not(feature = "host-json"))]
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// A decimal already checked to be `-?digits(.digits)?`, as the nearest f64 (with `host-json`, by
/// the host's parser).
pub fn decimal_to_f64(text: &str) -> Option<f64> {
    #[cfg(feature = "host-json")]
    return host_json().and_then(|host| (host.parse_decimal)(text)).filter(|n| n.is_finite());
    #[cfg(not(feature = "host-json"))]
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

pub fn key_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

pub fn index_path(parent: &str, index: usize) -> String {
    // As a u64: the one integer writer the sidebar's download carries.
    format!("{parent}[{}]", index as u64)
}

pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Checker {
    pub fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn object<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            other => {
                self.problem(path, format!("expected an object, found {}", type_name(other)));
                None
            }
        }
    }

    /// Flags keys outside `known`, so a typo in a config is reported instead of silently ignored.
    pub fn no_unknown_keys(&mut self, map: &Map<String, Value>, path: &str, known: &[&str]) {
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                self.problem(key_path(path, key), format!("unknown key; expected one of: {}", known.join(", ")));
            }
        }
    }

    /// A present, non-null value; reports "missing" otherwise.
    pub fn required<'v>(&mut self, map: &'v Map<String, Value>, path: &str, key: &str) -> Option<&'v Value> {
        match map.get(key) {
            None | Some(Value::Null) => {
                self.problem(key_path(path, key), "is required");
                None
            }
            Some(value) => Some(value),
        }
    }

    /// A trimmed, non-empty string of at most `max_len` characters.
    pub fn text(&mut self, value: &Value, path: &str, max_len: usize) -> Option<String> {
        match value {
            Value::String(text) => {
                let trimmed = text.trim();
                if trimmed.is_empty() {
                    self.problem(path, "must not be empty");
                    None
                } else if trimmed.chars().count() > max_len {
                    self.problem(path, format!("is longer than {max_len} characters"));
                    None
                } else if trimmed.chars().any(char::is_control) {
                    self.problem(path, "contains control characters");
                    None
                } else {
                    Some(trimmed.to_string())
                }
            }
            other => {
                self.problem(path, format!("expected a string, found {}", type_name(other)));
                None
            }
        }
    }

    pub fn required_text(&mut self, map: &Map<String, Value>, path: &str, key: &str, max_len: usize) -> Option<String> {
        let value = self.required(map, path, key)?;
        self.text(value, &key_path(path, key), max_len)
    }

    /// Absent or null is `None` without a problem; present values must be valid text.
    pub fn optional_text(&mut self, map: &Map<String, Value>, path: &str, key: &str, max_len: usize) -> Option<String> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => self.text(value, &key_path(path, key), max_len),
        }
    }

    /// A positive integer id, given as a JSON number or a string of digits.
    pub fn positive_id(&mut self, value: &Value, path: &str) -> Option<u64> {
        let parsed = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
            _ => None,
        };
        match parsed {
            Some(id) if id > 0 => Some(id),
            _ => {
                self.problem(path, format!("expected a positive integer id, found {}", describe(value)));
                None
            }
        }
    }

    pub fn array<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v Vec<Value>> {
        match value {
            Value::Array(items) => Some(items),
            other => {
                self.problem(path, format!("expected an array, found {}", type_name(other)));
                None
            }
        }
    }

    /// An object whose every value is non-empty text (`{"qualifiedtobuy": "Qualified to buy"}`).
    pub fn text_map(&mut self, value: &Value, path: &str, max_len: usize) -> Option<BTreeMap<String, String>> {
        let object = self.object(value, path)?;
        let before = self.problems.len();
        let mut out = BTreeMap::new();
        for (key, item) in object {
            if let Some(text) = self.text(item, &key_path(path, key), max_len) {
                out.insert(key.clone(), text);
            }
        }
        (self.problems.len() == before).then_some(out)
    }

    /// An array of non-empty strings.
    pub fn text_list(&mut self, value: &Value, path: &str, max_len: usize) -> Option<Vec<String>> {
        let items = self.array(value, path)?;
        let before = self.problems.len();
        let texts: Vec<String> =
            items.iter().enumerate().filter_map(|(i, item)| self.text(item, &index_path(path, i), max_len)).collect();
        (self.problems.len() == before).then_some(texts)
    }
}

/// A short description of a value for messages: its type, and the value itself when it is short.
pub fn describe(value: &Value) -> String {
    match value {
        Value::String(s) if s.chars().count() <= 40 => format!("\"{s}\""),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => type_name(other).to_string(),
    }
}

/// Parses JSON text, naming the line and column of a syntax error.
pub fn parse_document(text: &str, what: &str) -> Result<Value, Problem> {
    serde_json::from_str(text).map_err(|e| Problem::new("", format!("{what} is not valid JSON: {e}")))
}
