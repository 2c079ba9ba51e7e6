//! Loads SpotDraft's own OpenAPI document and validates JSON values against its schemas.
//!
//! The document is the facts-only copy kept in the repository, `sandbox/spec/spotdraft-openapi.yml`
//! (how it is made: `sandbox/spec/README.md`); `SPOTDRAFT_OPENAPI` points the tests at another copy,
//! for example SpotDraft's original file when regenerating.
//!
//! A small validator for the subset the spec uses: `$ref`, `type`, `nullable`, `enum`,
//! `required`, `properties`, `additionalProperties`, `items`, `allOf`, `anyOf`, `oneOf`,
//! `minLength`, `pattern` (only the `^[...]+$` character-class form) and `format: date-time`.
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;

pub struct Spec {
    pub document: Value,
}

pub fn spec_path() -> PathBuf {
    match std::env::var("SPOTDRAFT_OPENAPI") {
        Ok(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("spec/spotdraft-openapi.yml"),
    }
}

impl Spec {
    pub fn load() -> Spec {
        let path = spec_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!("cannot read the SpotDraft OpenAPI spec at {} ({error}); set SPOTDRAFT_OPENAPI", path.display())
        });
        let document: Value = serde_yaml::from_str(&text).expect("spec parses as YAML");
        assert_eq!(document["openapi"], "3.0.3");
        Spec { document }
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut current = schema;
        for _ in 0..32 {
            match current.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("external $ref {reference}"));
                    current = self.document.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {reference}"));
                }
                None => return current,
            }
        }
        panic!("$ref cycle at {schema}");
    }

    pub fn schema(&self, name: &str) -> &Value {
        self.document.pointer(&format!("/components/schemas/{name}")).unwrap_or_else(|| panic!("no schema {name}"))
    }

    pub fn operation(&self, path: &str, method: &str) -> &Value {
        let operation = &self.document["paths"][path][method.to_ascii_lowercase()];
        assert!(operation.is_object(), "spec has no {method} {path}");
        operation
    }

    /// The declared JSON schema for a response status, if the spec declares one.
    pub fn response_schema(&self, path: &str, method: &str, status: u16) -> Option<&Value> {
        let response = self.operation(path, method).get("responses")?.get(status.to_string())?;
        let response = self.resolve(response);
        response.get("content")?.get("application/json")?.get("schema")
    }

    pub fn declared_statuses(&self, path: &str, method: &str) -> Vec<u16> {
        self.operation(path, method)["responses"]
            .as_object()
            .map(|responses| responses.keys().filter_map(|code| code.parse().ok()).collect())
            .unwrap_or_default()
    }

    pub fn request_schema(&self, path: &str, method: &str) -> Option<&Value> {
        self.operation(path, method).get("requestBody")?.get("content")?.get("application/json")?.get("schema")
    }

    pub fn validate(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        self.check(schema, value, "$", &mut problems);
        problems
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
        let schema = self.resolve(schema);
        let Some(rules) = schema.as_object() else {
            return;
        };
        if value.is_null() && rules.get("nullable").and_then(Value::as_bool) == Some(true) {
            return;
        }
        if let Some(parts) = rules.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.check(part, value, at, problems);
            }
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(parts) = rules.get(keyword).and_then(Value::as_array) {
                let passing = parts.iter().filter(|part| self.validate(part, value).is_empty()).count();
                // oneOf is checked as anyOf: the spec's alternatives are not always disjoint.
                if passing == 0 {
                    problems.push(format!("{at}: matches none of {keyword}"));
                }
            }
        }
        if let Some(kind) = rules.get("type").and_then(Value::as_str) {
            let ok = match kind {
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                "array" => value.is_array(),
                "object" => value.is_object(),
                "null" => value.is_null(),
                other => panic!("unsupported schema type {other}"),
            };
            if !ok {
                problems.push(format!("{at}: expected {kind}, got {value}"));
                return;
            }
        }
        if let Some(options) = rules.get("enum").and_then(Value::as_array) {
            if !options.contains(value) {
                problems.push(format!("{at}: {value} not in enum {options:?}"));
            }
        }
        if let (Some(minimum), Some(text)) = (rules.get("minLength").and_then(Value::as_u64), value.as_str()) {
            if (text.chars().count() as u64) < minimum {
                problems.push(format!("{at}: shorter than {minimum}"));
            }
        }
        if let (Some(pattern), Some(text)) = (rules.get("pattern").and_then(Value::as_str), value.as_str()) {
            if let Some(class) = pattern.strip_prefix("^[").and_then(|rest| rest.strip_suffix("]+$")) {
                let allowed: Vec<char> = class.replace("\\-", "-").replace("0-9", "0123456789").chars().collect();
                if text.is_empty() || !text.chars().all(|c| allowed.contains(&c)) {
                    problems.push(format!("{at}: {text:?} does not match {pattern}"));
                }
            }
        }
        if rules.get("format").and_then(Value::as_str) == Some("date-time") {
            if let Some(text) = value.as_str() {
                if !looks_like_datetime(text) {
                    problems.push(format!("{at}: {text:?} is not an RFC 3339 date-time"));
                }
            }
        }
        if let Some(object) = value.as_object() {
            if let Some(required) = rules.get("required").and_then(Value::as_array) {
                for name in required.iter().filter_map(Value::as_str) {
                    if !object.contains_key(name) {
                        problems.push(format!("{at}: missing required {name}"));
                    }
                }
            }
            let properties = rules.get("properties").and_then(Value::as_object);
            for (name, item) in object {
                match properties.and_then(|properties| properties.get(name)) {
                    Some(property) => self.check(property, item, &format!("{at}.{name}"), problems),
                    None => match rules.get("additionalProperties") {
                        Some(Value::Bool(false)) => problems.push(format!("{at}: unexpected property {name}")),
                        Some(extra @ Value::Object(_)) => self.check(extra, item, &format!("{at}.{name}"), problems),
                        _ => {}
                    },
                }
            }
        }
        if let (Some(items), Some(array)) = (rules.get("items"), value.as_array()) {
            for (index, item) in array.iter().enumerate() {
                self.check(items, item, &format!("{at}[{index}]"), problems);
            }
        }
    }
}

fn looks_like_datetime(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && (bytes[10] == b'T' || bytes[10] == b't')
        && bytes[13] == b':'
        && (text.ends_with('Z') || text.ends_with('z') || text[19..].contains(['+', '-']))
}
